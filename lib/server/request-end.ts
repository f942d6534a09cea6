/**
 * What the standalone server does when a request ends, from one listener per request: the
 * `osp_*` request metrics and the access-log line (and, when enabled, the per-path request counter).
 *
 * One listener, not one per concern (issue [11]): each `once('finish')`/`once('close')` pair
 * costs a wrapper, two registrations and two removals per request, and they added up (a response
 * carried up to 11 'close' listeners). 'close' alone suffices: Node emits it on every
 * ServerResponse, after 'finish' when the response completed and also when the connection closed
 * first, and only once.
 */
import type { NextFunction, Request, Response } from 'express';
import { newRequestId } from '../context';
import type { AccessLog } from './access-log';
import { requestBytesRead, responseBytesWritten } from './body-bytes';
import type { OspMetrics } from './metrics';
import type { RequestCounter } from './request-counts';

/** The parts {@link requestEnd} reports to. */
export interface RequestEndTargets {
  metrics: Pick<OspMetrics, 'observeRequest'>;
  accessLog: AccessLog;
  /** Serializes (and redacts) the request for the access log; called only for lines that are written. */
  serializeRequest(req: Request): Record<string, unknown>;
  requestCounter?: RequestCounter;
}

/**
 * Express middleware, mounted after the request context is built (`req.osp`), so that the access
 * log and the S3 responses share one request id. Sets `req.id` to that id.
 */
export function requestEnd(targets: RequestEndTargets) {
  const { metrics, accessLog, serializeRequest, requestCounter } = targets;
  return function ospRequestEnd(req: Request, res: Response, next: NextFunction): void {
    // As the request starts: its id, and the context whose bucket and operation are logged (a
    // browser POST upload replaces req.osp with its PutObject later).
    const startContext = req.osp;
    const requestId = startContext?.requestId ?? newRequestId();
    (req as { id?: string }).id = requestId;
    const started = Date.now();
    res.on('close', () => {
      const status = res.statusCode;
      const bytesIn = requestBytesRead(req);
      const bytesOut = responseBytesWritten(res);
      metrics.observeRequest(req, status, bytesIn, bytesOut);
      if (!accessLog.enabled(status)) return;
      accessLog.write({ requestId, req: serializeRequest(req), startContext, status, responseTimeMs: Date.now() - started, authMethod: req.osp?.authMethod, bytesIn, bytesOut });
    });
    // Counts completed responses only ('finish'), as it always did; opt-in, so off the default path.
    if (requestCounter) res.once('finish', () => requestCounter.increment(req.osp?.bucket, req.osp?.rawKey));
    next();
  };
}
