/**
 * What the large-body benchmarks (`bench:stream`, `bench:memory`) share: the byte pattern, the
 * sink/source backend and the two proxies they compare, so that both measure the same things.
 *
 * - The backend discards uploads after counting (and, if asked, hashing) them and generates
 *   downloads: no disk, no S3 logic, so the proxy is what is measured.
 * - f: ospMiddleware on Express (signature verification and re-signing on), bucket `big`;
 *   d: express + http-proxy-middleware pass-through, the baseline of issue [11].
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { ospMiddleware } from '../lib/osp-middleware';
import { BENCH_CLIENT } from './bench-client';

export const MIB = 1024 * 1024;
/** One MiB of the repeating pattern every generated body is made of. */
export const BLOCK = Buffer.alloc(MIB, 'abcdefghijklmnopqrstuvwxyz0123456789');

/** Listens on an ephemeral port of 127.0.0.1 and resolves with it. */
export function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** `n` bytes of the pattern, produced lazily. */
export function patternSource(n: number): Readable {
  let left = n;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
      left -= chunk.length;
      this.push(chunk);
    },
  });
}

/**
 * The sink/source backend: a PUT is counted (`x-bytes`) and, with `sha256`, hashed (`x-sha256`);
 * anything else is answered with `bytes` bytes of the pattern.
 */
export function sinkSourceBackend(bytes: number, options: { sha256?: boolean } = {}): http.Server {
  return http.createServer((req, res) => {
    if (req.method === 'PUT') {
      const hash = options.sha256 ? createHash('sha256') : undefined;
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        hash?.update(c);
      });
      req.on('end', () => res.writeHead(200, { etag: `"${size}"`, 'x-bytes': String(size), ...(hash ? { 'x-sha256': hash.digest('hex') } : {}), 'content-length': 0 }).end());
      return;
    }
    res.writeHead(200, { 'content-length': bytes, 'content-type': 'application/octet-stream' });
    patternSource(bytes).pipe(res);
  });
}

/** The proxy under test in front of the backend on `backendPort`: `f` (ospMiddleware) or `d` (pass-through). */
export function largeBodyProxy(variant: 'f' | 'd', backendPort: number): http.Server {
  const app = express();
  if (variant === 'd') app.use(createProxyMiddleware({ target: `http://127.0.0.1:${backendPort}`, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }));
  else
    app.use(
      ospMiddleware({
        buckets: { big: { host: '127.0.0.1', port: backendPort, addressingStyle: 'path', accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' } },
        hmacKeystore: [BENCH_CLIENT],
      }),
    );
  return http.createServer(app);
}
