/**
 * CORS headers on the responses the proxy makes itself for a request with `Origin` (a browser POST
 * upload's answer, the proxy's S3 errors on a bucket): without them the browser hides the answer
 * from the page ("CORS error") even when the upload was stored. The headers are the ones the
 * bucket's own rules give, asked of its backend ({@link BackendCors}); the backend's own answers
 * (proxied responses) keep the headers the backend set.
 */
import type { Request, Response } from 'express';
import type { ResolvedOptions } from '../options';
import type { OspRequestContext } from '../context';
import { firstHeader } from '../s3/headers';
import { buildResolvedBackend } from '../middleware/resolve-backend';
import type { BackendCors, CorsTarget } from './backend-cors';

/** Adds the bucket's CORS headers to `res` (when the request has an `Origin`), then calls `send`. */
export type WithCors = (req: Request, res: Response, send: () => void) => void;

/**
 * Where to ask: the bucket itself on its backend (S3 CORS rules belong to the bucket and never
 * depend on the key; moto answers an `OPTIONS` on an existing object 403 whatever its rules). The
 * backend is the one resolved for the request, else (the request failed before resolveBackend,
 * e.g. a bad signature) the static bucket table's entry. A `buckets` resolver function is not
 * called for this: it would run for requests nobody authenticated.
 */
function targetOf(o: ResolvedOptions, ctx: OspRequestContext, bucket: string): CorsTarget | undefined {
  const config = ctx.backend?.config ?? (typeof o.buckets === 'function' ? undefined : o.buckets.lookup(bucket)?.config);
  if (!config) return undefined;
  return buildResolvedBackend(o, { ...ctx, key: undefined, rawKey: undefined, query: [] }, bucket, config, { kind: 'none' });
}

/** Creates the {@link WithCors} of one set of options. `send` always runs, once. */
export function createWithCors(o: ResolvedOptions, cors: BackendCors): WithCors {
  return (req, res, send) => {
    const origin = firstHeader(req.headers, 'origin');
    const ctx = req.osp;
    const bucket = ctx?.bucket;
    // A preflight's own failure needs none: the browser reads no preflight answer.
    if (origin === undefined || ctx === undefined || bucket === undefined || req.method === 'OPTIONS' || res.headersSent) return send();
    const target = targetOf(o, ctx, bucket);
    if (!target) return send();
    cors
      .headersFor(bucket, target, origin, req.method)
      .then(
        (headers) => {
          if (!res.headersSent) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        },
        () => undefined, // never happens: headersFor does not reject
      )
      .then(send)
      .catch((err: unknown) => o.logger.error({ err }, 'object-storage-proxy: sending a response failed'));
  };
}
