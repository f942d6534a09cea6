/**
 * The server's access log: one JSON line per request when its response finishes or its connection
 * closes, with the fields pino-http wrote (reqId, req, requestId, bucket, operation, res,
 * responseTime, err on failure) plus authMethod, status, bytesIn and bytesOut.
 *
 * Written here instead of through pino-http (issue [11]): pino-http builds three child loggers per
 * request and serializes the request into one of them up front, which cost more than the rest of
 * the server's layers together; this writes the same line with one `logger[level]` call, and builds
 * nothing when the level is disabled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import pino, { type Level, type Logger } from 'pino';
import { newRequestId } from '../context';

/** What the log line says about the request and its outcome (the caller's serializers and counters). */
export interface AccessLogFields {
  /** The request as logged (redacted): method, url, headers, … */
  request(req: IncomingMessage): Record<string, unknown>;
  /** Fields known at the end: authMethod, status, bytesIn, bytesOut. */
  outcome(req: IncomingMessage, res: ServerResponse): Record<string, unknown>;
}

/** error for 5xx and failures, warn for 4xx, info otherwise (as before with pino-http). */
export function accessLogLevel(status: number, failed: boolean): Level {
  return failed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/** Express middleware writing one access-log line per request to `logger`. */
export function accessLog(logger: Logger, fields: AccessLogFields) {
  return function ospAccessLog(req: Request, res: Response, next: NextFunction): void {
    const requestId = req.osp?.requestId ?? newRequestId();
    (req as { id?: string }).id = requestId;
    // Known when the request starts (the context is built before this middleware).
    const bucket = req.osp?.bucket;
    const operation = req.osp?.operation;
    const started = Date.now();
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      const status = res.statusCode;
      const level = accessLogLevel(status, false);
      if (!logger.isLevelEnabled(level)) return;
      const line: Record<string, unknown> = { reqId: requestId, req: fields.request(req), requestId, bucket, operation, res: { statusCode: status } };
      if (status >= 500) line.err = pino.stdSerializers.err(new Error(`failed with status code ${status}`));
      line.responseTime = Date.now() - started;
      Object.assign(line, fields.outcome(req, res));
      logger[level](line, status >= 500 ? 'request failed' : 'request completed');
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
