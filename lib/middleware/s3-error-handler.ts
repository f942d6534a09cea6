import type { ErrorRequestHandler, Request, Response } from 'express';
import { OspError, s3Errors } from '../errors';
import type { OspLogger } from '../options';
import { renderS3ErrorXml } from '../s3/error-xml';
import { newRequestId } from '../context';
import { recordS3Error } from '../tracing/request-tracing';

/** Options of {@link s3ErrorHandler}. */
export interface S3ErrorHandlerOptions {
  /** Where unexpected errors (500s) are logged. @default silent */
  logger?: OspLogger;
  /** `Server` header value. */
  serverName?: string;
}

/** The resource element S3 puts in error bodies: the request path without its query. */
function resourceOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Answers a request with an S3 XML error. Used by every stage and by {@link s3ErrorHandler}.
 * When the response has already started (a backend failed mid-transfer), the connection is cut
 * instead: a truncated body must never look complete.
 */
export function sendS3Error(req: Request, res: Response, error: OspError, serverName?: string): void {
  recordS3Error(req, error);
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const requestId = req.osp?.requestId ?? newRequestId();
  const body = req.method === 'HEAD' ? '' : renderS3ErrorXml({ code: error.s3Code, message: error.message, resource: resourceOf(req), requestId, details: error.details });
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('x-amz-request-id', requestId);
  if (serverName) res.setHeader('Server', serverName);
  res.end(body);
}

/** Converts anything thrown into an OspError; unknown errors become 500 InternalError and are logged. */
export function toOspError(err: unknown, logger?: OspLogger): OspError {
  if (err instanceof OspError) return err;
  // body-parser style errors carry a 4xx status: keep the status, hide internals.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OspError(status, 'InvalidRequest', 'The request could not be processed.');
  }
  logger?.error({ err }, 'object-storage-proxy: unexpected error');
  return s3Errors.internal(err);
}

/**
 * Express error handler that renders errors as S3 XML (`<Error><Code>…</Code>…`). Put it after the
 * stages when you compose them yourself; `ospMiddleware` already includes it.
 */
export function s3ErrorHandler(options: S3ErrorHandlerOptions = {}): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    sendS3Error(req, res, toOspError(err, options.logger), options.serverName);
  };
}
