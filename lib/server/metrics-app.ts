/** The metrics/health listener: `/metrics`, `/healthz` (live), `/readyz` (ready), `/request-counts`. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

export interface MetricsAppOptions {
  metrics(): Promise<string>;
  contentType: string;
  isReady(): boolean;
  /** Present when request counting is enabled. */
  requestCounts?(): Promise<Record<string, number>>;
}

export function createMetricsApp(o: MetricsAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
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
