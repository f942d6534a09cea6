/**
 * Starts the middleware in a real Express app on 127.0.0.1:0 for end-to-end tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ospMiddleware, type OspMiddleware } from '../../lib/osp-middleware';
import type { OspOptions } from '../../lib/options';

export interface RunningProxy {
  /** e.g. http://127.0.0.1:PORT (plus the mount path when mounted). */
  endpoint: string;
  port: number;
  server: http.Server;
  middleware: OspMiddleware;
  /** Requests that reached the Express app (to prove rejected ones never went further). */
  close(): Promise<void>;
}

export interface StartProxyOptions {
  /** Mount point, e.g. '/s3'. */
  mountPath?: string;
  /** Middlewares put before the proxy (e.g. your own auth). */
  before?: RequestHandler[];
  /** Use this handler instead of ospMiddleware(options) (to test stage composition). */
  handler?: RequestHandler | Array<RequestHandler | ErrorRequestHandler>;
}

export async function startProxy(options: OspOptions, extra: StartProxyOptions = {}): Promise<RunningProxy> {
  const app = express();
  const middleware = ospMiddleware(options);
  const chain: Array<RequestHandler | ErrorRequestHandler> = extra.handler === undefined ? [middleware] : Array.isArray(extra.handler) ? extra.handler : [extra.handler];
  if (extra.mountPath) app.use(extra.mountPath, ...(extra.before ?? []), ...chain);
  else app.use(...(extra.before ?? []), ...chain);
  const server = http.createServer(app);
  // Let the middleware decide when to send 100 Continue (after auth), as documented.
  server.on('checkContinue', (req, res) => app(req, res));
  // Other Expect values reach the app too (Node would answer 417 itself), as in the standalone server.
  server.on('checkExpectation', (req, res) => app(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}${extra.mountPath ?? ''}`,
    port,
    server,
    middleware,
    async close() {
      await middleware.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every host name resolves to 127.0.0.1 (for virtual-hosted names such as bucket.s3.localhost). */
export const loopbackLookup = ((_host: string, opts: unknown, cb?: unknown) => {
  const callback = (typeof opts === 'function' ? opts : cb) as (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
  const all = typeof opts === 'object' && opts !== null && (opts as { all?: boolean }).all;
  if (all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as import('node:net').LookupFunction;

/** An S3 client for the proxy with frontend credentials. */
export function proxyClient(endpoint: string, accessKeyId: string, secretAccessKey: string, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // Keep the SDK from retrying our deliberate errors, and from sending the default aws-chunked
    // stream uploads that [3/6] handles: tests use Buffer bodies unless they test body modes.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, lookup: loopbackLookup }) }),
    ...extra,
  });
}
