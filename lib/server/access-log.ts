/**
 * The server's access log: one JSON line per request when it ends (response finished or
 * connection closed), with the fields pino-http wrote (reqId, req, requestId, bucket, operation,
 * res, responseTime, err on failure) plus authMethod, status, bytesIn and bytesOut.
 *
 * Written here instead of through pino-http (issue [11]): pino-http builds three child loggers per
 * request and serializes the request into one of them up front. This writes the same line with
 * one logger call from the server's end-of-request listener, and builds nothing when the level is
 * disabled.
 */
import pino, { type Level, type Logger } from 'pino';
import type { OspRequestContext } from '../context';

/** What the line says about a request that ended. */
export interface AccessLogEntry {
  /** The request id (also the `x-amz-request-id` of the response). */
  requestId: string;
  /** The request as logged: already redacted (URL without secret parameters, harmless headers only). */
  req: Record<string, unknown>;
  /** The context as it was when the request started (its bucket and operation are logged). */
  startContext: OspRequestContext | undefined;
  status: number;
  responseTimeMs: number;
  authMethod: string | undefined;
  bytesIn: number;
  bytesOut: number;
}

/** error for 5xx and failures, warn for 4xx, info otherwise (as before with pino-http). */
export function accessLogLevel(status: number, failed: boolean): Level {
  return failed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/** Writes access-log lines; `request` serializes (and redacts) the request, only for lines that are written. */
export interface AccessLog {
  /** Whether a line for this status would be written at the logger's current level. */
  enabled(status: number): boolean;
  write(entry: AccessLogEntry): void;
}

/**
 * Access-log lines to `logger`. The line passes through a child of `logger` without redaction
 * paths: its parts are redacted where they are built (`redactUrl`, a fixed list of harmless
 * headers), and pino's paths, whose `*.secretKey`-style wildcards make it walk every object of a
 * line, would find nothing there. Every other log call keeps the paths as a safety net. The level
 * is still `logger`'s (checked by {@link AccessLog.enabled}), so a level set on it later applies.
 */
export function createAccessLog(logger: Logger): AccessLog {
  const out = logger.child({}, { redact: { paths: [] }, level: 'trace' });
  return {
    enabled: (status) => logger.isLevelEnabled(accessLogLevel(status, false)),
    write(e) {
      const failed = e.status >= 500;
      const line: Record<string, unknown> = {
        reqId: e.requestId,
        req: e.req,
        requestId: e.requestId,
        bucket: e.startContext?.bucket,
        operation: e.startContext?.operation,
        res: { statusCode: e.status },
      };
      if (failed) line.err = pino.stdSerializers.err(new Error(`failed with status code ${e.status}`));
      line.responseTime = e.responseTimeMs;
      line.authMethod = e.authMethod;
      line.status = e.status;
      line.bytesIn = e.bytesIn;
      line.bytesOut = e.bytesOut;
      out[accessLogLevel(e.status, false)](line, failed ? 'request failed' : 'request completed');
    },
  };
}
