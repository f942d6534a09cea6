/**
 * `object-storage-proxy/metrics`: the proxy's `osp_*` Prometheus metrics for apps that mount
 * `ospMiddleware` themselves, on the app's own prom-client registry (next to its own
 * express-prom-bundle). A separate entry point: `object-storage-proxy` never loads prom-client.
 *
 * @example
 * import promBundle from 'express-prom-bundle';
 * import { Registry } from 'prom-client';
 * import { ospMiddleware } from 'object-storage-proxy';
 * import { ospMetrics } from 'object-storage-proxy/metrics';
 *
 * const registry = new Registry();
 * app.use(promBundle({ promRegistry: registry, includeMethod: true }));      // http_request_duration_seconds, /metrics
 * app.use('/s3', ospMiddleware({ ...options, on: ospMetrics(registry, { bucketNames: Object.keys(options.buckets) }) }));
 * // with hooks of your own as well: on: [ospMetrics(registry), { error(req, err) {…} }]
 */
import type { Registry } from 'prom-client';
import type { OspEventHooks } from './options';
import { createMetrics } from './server/metrics';
import { packageVersion } from './package-version';

/** Options of {@link ospMetrics}. */
export interface OspMetricsHooksOptions {
  /**
   * Bucket names that get their own `bucket` label value; any other bucket is counted as `other`
   * (keeps label cardinality bounded). @default none: every bucket is `other`
   */
  bucketNames?: Iterable<string>;
  /** Value of the `version` label of `osp_build_info`. @default this package's version */
  version?: string;
  /** Also export `osp_redis_up` / `osp_redis_errors_total` (set when `redis` or `sharedStore` is configured). @default false */
  sharedStore?: boolean;
}

/**
 * Registers the `osp_*` metrics (requests, errors, durations, sizes, transferred bytes, presigned
 * URL use, backend latency, signature failures, IAM refreshes, build info, memory) on `registry`
 * and returns the hooks that feed them: pass them as `on` of `ospMiddleware`'s options (again in
 * `update()`'s), alone or in an array with hooks of your own.
 * Call once per registry (prom-client rejects a second registration of the same name).
 * `osp_active_connections` is left out: only the standalone server owns the connections.
 */
export function ospMetrics(registry: Registry, options: OspMetricsHooksOptions = {}): OspEventHooks {
  const m = createMetrics({
    registry,
    bucketNames: options.bucketNames ? new Set(options.bucketNames) : null,
    version: options.version ?? packageVersion(),
    sharedStore: options.sharedStore ?? false,
    connections: false,
  });
  const noop = () => {};
  return { ...m.on, request: (req, res) => m.middleware(req, res, noop) };
}
