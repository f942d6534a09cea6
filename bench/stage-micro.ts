/**
 * In-process cost of each middleware stage (no sockets): a stable, low-noise view of our own CPU
 * per request, next to the end-to-end numbers of cpu-per-request.ts.
 * Run: node -r ./bench/register.js bench/stage-micro.ts
 */
import http from 'node:http';
import { Socket } from 'node:net';
import { ospMiddleware } from '../lib/osp-middleware';
import { BENCH_CLIENT as CLIENT, signedBenchGet } from './bench-client';
import { prepareUpstreamRequest } from '../lib/middleware/proxy';
const mw = ospMiddleware({
  buckets: { bench: { host: '127.0.0.1', port: 9999, addressingStyle: 'path', accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' } },
  hmacKeystore: [CLIENT],
  authorize: async (token, bucket) => token === CLIENT.accessKey && bucket === 'bench',
});
const all = { ...signedBenchGet('127.0.0.1:8080'), 'user-agent': 'bench', accept: '*/*', connection: 'keep-alive' };
function mkReq(): any {
  const req: any = new http.IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/bench/some/object.txt';
  req.originalUrl = req.url;
  req.headers = { ...all };
  req.rawHeaders = Object.entries(all).flat();
  return req;
}
const st = mw.stages;
const names = ['verifySignature', 'authorize', 'limitPresignedUrlUsage', 'resolveBackend'] as const;
(async () => {
  const N = 50000;
  const per: Record<string, number> = {};
  for (let round = 0; round < 2; round++) {
    for (const n of names) per[n] = 0;
    for (let i = 0; i < N; i++) {
      const req = mkReq();
      for (const n of names) {
        const t = performance.now();
        await new Promise<void>((resolve, reject) => st[n](req, {} as any, (e?: any) => (e ? reject(e) : resolve())));
        per[n]! += performance.now() - t;
      }
    }
  }
  for (const n of names) console.log(n, ((per[n]! / N) * 1000).toFixed(2), 'µs (incl. one await)');
  let t = performance.now();
  for (let i = 0; i < N; i++) await new Promise<void>((r) => r());
  console.log('bare await', (((performance.now() - t) / N) * 1000).toFixed(2));
  // The proxyReq hook: header clean-up, Host/path rewrite and re-signing, on a bare OutgoingMessage.
  const req = mkReq();
  for (const n of names) await new Promise<void>((resolve) => st[n](req, {} as any, () => resolve()));
  const fill = () => {
    const o = new http.OutgoingMessage() as any;
    for (const [k, v] of Object.entries(req.headers)) o.setHeader(k, v as string);
    return o;
  };
  t = performance.now();
  for (let i = 0; i < N; i++) fill();
  const base = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) prepareUpstreamRequest(fill(), 'GET', req.osp.backend, { setHeaders: {}, removeHeaders: [], payloadHash: req.osp.payloadHash }, new Date(), req.headers);
  console.log('prepareUpstreamRequest (proxyReq hook)', (((performance.now() - t) / N - base) * 1000).toFixed(2), 'µs');
})();
