/**
 * The metrics/health listener: `/metrics`, `/healthz` (live), `/readyz` (ready), `/request-counts`.
 * With a bearer token, `/metrics` and `/request-counts` (bucket names, object paths) need it;
 * the probes stay open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';

export interface MetricsAppOptions {
  metrics(): Promise<string>;
  contentType: string;
  isReady(): boolean;
  /** Present when request counting is enabled. */
  requestCounts?(): Promise<Record<string, number>>;
  /** Required as `Authorization: Bearer TOKEN` on `/metrics` and `/request-counts` when set. */
  bearerToken?: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Accepts `Authorization: Bearer TOKEN` (scheme case-insensitive, RFC 7235 section 2.1) with exactly
 * `token`; anything else is 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3).
 * Both sides are hashed first, so the comparison takes the same time whatever the length or content.
 */
export function requireBearerToken(token: string): RequestHandler {
  const expected = sha256(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (m && timingSafeEqual(sha256(m[1] as string), expected)) return next();
    const challenge = m ? 'Bearer realm="osp-metrics", error="invalid_token"' : 'Bearer realm="osp-metrics"';
    res.setHeader('WWW-Authenticate', challenge);
    res.setHeader('Cache-Control', 'no-store');
    res.status(401).json({ error: 'a bearer token is required (Authorization: Bearer …)' });
  };
}

export function createMetricsApp(o: MetricsAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (o.bearerToken !== undefined) app.use(['/metrics', '/request-counts'], requireBearerToken(o.bearerToken));
  app.get('/metrics', (_req: Request, res: Response, next: NextFunction) => {
    o.metrics().then((text) => {
      res.setHeader('Content-Type', o.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(text);
    }, next);
  });
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req: Request, res: Response) => {
    const ready = o.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/request-counts', (_req: Request, res: Response, next: NextFunction) => {
    if (!o.requestCounts) {
      res.status(404).json({ error: 'request counting is disabled (OSP_ENABLE_REQUEST_COUNTING=true enables it)' });
      return;
    }
    o.requestCounts().then((counts) => res.json(counts), next);
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}
