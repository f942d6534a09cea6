/**
 * The server's HTTP request histogram comes from the stock `express-prom-bundle`
 * (https://github.com/jochen-schweizer/express-prom-bundle), configured to keep the metric the
 * server always had: `osp_request_duration_seconds{method,bucket}` with the same buckets, on the
 * server's own registry (never prom-client's global one).
 */
import promBundle from 'express-prom-bundle';
import type { Request, RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { DURATION_BUCKETS, methodLabel } from './metrics';

export const REQUEST_DURATION_METRIC = 'osp_request_duration_seconds';

/**
 * express-prom-bundle on `registry`, naming its histogram `osp_request_duration_seconds` with the
 * labels `method` (fixed set, else `OTHER`) and `bucket` (`bucketLabel` of the request's bucket).
 * `/metrics` is not answered here: the metrics listener serves the registry.
 */
export function ospPromBundle(registry: Registry, bucketLabel: (bucket: string | undefined) => string): RequestHandler {
  return promBundle({
    promRegistry: registry,
    autoregister: false,
    includeUp: false,
    includeStatusCode: false,
    includeMethod: true,
    httpDurationMetricName: REQUEST_DURATION_METRIC,
    metricType: 'histogram',
    buckets: DURATION_BUCKETS,
    customLabels: { bucket: null },
    transformLabels(labels, req: Request) {
      labels.method = methodLabel(req.method);
      labels.bucket = bucketLabel(req.osp?.bucket);
    },
  });
}
