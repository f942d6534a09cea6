/**
 * Streams a large object (default 1 GiB) up and down through the proxy and prints MB/s and the
 * proxy's peak RSS: memory must stay flat whatever the object size.
 *
 * Processes: a sink/source backend (discards uploads, generates downloads; no disk, no S3 logic,
 * so the proxy is what is measured), two proxies: f (ospMiddleware on Express, signature
 * verification and re-signing on) and d (express + http-proxy-middleware pass-through, the
 * baseline of issue [11]), and this client, which generates and checks the bytes without
 * buffering them. f and d alternate (BENCH_ROUNDS rounds, best MB/s of each is reported).
 *
 * Run: npm run bench:stream   (BENCH_BYTES=268435456 for 256 MiB)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { signBenchRequest } from './bench-client';
import { BLOCK, largeBodyProxy, listen, patternSource as source, sinkSourceBackend } from './large-body-fixtures';

const BYTES = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function runBackend(): Promise<void> {
  process.send?.({ port: await listen(sinkSourceBackend(BYTES, { sha256: true })) });
}

async function runProxy(variant: string, backendPort: number): Promise<void> {
  const port = await listen(largeBodyProxy(variant === 'passthrough' ? 'd' : 'f', backendPort));
  process.on('message', () => process.send?.({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  process.send?.({ port });
}

function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(__filename, args, { execArgv: ['-r', require.resolve('./register.js')] });
  return new Promise((resolve) => proc.once('message', (m: { port: number }) => resolve({ proc, port: m.port })));
}

function signed(method: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return signBenchRequest(method, '/big/object.bin', { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra }).headers;
}

async function upload(port: number): Promise<{ seconds: number; sha256: string }> {
  const started = performance.now();
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/big/object.bin', headers: signed('PUT', port, { 'content-length': String(BYTES) }) }, resolve);
    req.on('error', reject);
    source(BYTES).pipe(req);
  });
  res.resume();
  await new Promise((r) => res.on('end', r));
  if (res.statusCode !== 200) throw new Error(`upload: ${res.statusCode}`);
  return { seconds: (performance.now() - started) / 1000, sha256: String(res.headers['x-sha256']) };
}

async function download(port: number): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/big/object.bin', headers: signed('GET', port) }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`download: ${res.statusCode}`));
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  return { seconds: (performance.now() - started) / 1000, bytes };
}

function rss(proc: ChildProcess): Promise<number> {
  return new Promise<number>((r) => {
    proc.once('message', (m: { maxRssBytes: number }) => r(m.maxRssBytes));
    proc.send('rss');
  });
}

async function main(): Promise<void> {
  const [role, arg, arg2] = process.argv.slice(2);
  if (role === 'backend') return runBackend();
  if (role === 'proxy') return runProxy(arg as string, Number(arg2));
  const backend = await child(['backend']);
  const f = await child(['proxy', 'osp', String(backend.port)]);
  const d = await child(['proxy', 'passthrough', String(backend.port)]);
  try {
    const rssBefore = await rss(f.proc);
    const expected = createHash('sha256');
    for (let left = BYTES; left > 0; left -= BLOCK.length) expected.update(left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left));
    const sha = expected.digest('hex');
    const best = { f: { up: 0, down: 0 }, d: { up: 0, down: 0 } };
    const mb = BYTES / 1e6;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, proxy] of [
        ['f', f],
        ['d', d],
      ] as const) {
        const up = await upload(proxy.port);
        if (up.sha256 !== sha) throw new Error(`${name}: upload arrived altered`);
        const down = await download(proxy.port);
        if (down.bytes !== BYTES) throw new Error(`${name}: download truncated: ${down.bytes}`);
        best[name].up = Math.max(best[name].up, mb / up.seconds);
        best[name].down = Math.max(best[name].down, mb / down.seconds);
      }
    }
    const rssAfter = await rss(f.proc);
    console.log(`object: ${(BYTES / 1024 ** 2).toFixed(0)} MiB (sink/source backend), best of ${ROUNDS} alternating rounds, node ${process.version}`);
    console.log(`f ospMiddleware:        PUT ${best.f.up.toFixed(0)} MB/s, GET ${best.f.down.toFixed(0)} MB/s`);
    console.log(`d express + hpm:        PUT ${best.d.up.toFixed(0)} MB/s, GET ${best.d.down.toFixed(0)} MB/s`);
    console.log(`f/d: PUT ${(best.f.up / best.d.up).toFixed(2)}, GET ${(best.f.down / best.d.down).toFixed(2)} (target >= 0.95)`);
    console.log(`f peak RSS: ${(rssBefore / 1024 ** 2).toFixed(0)} MiB before, ${(rssAfter / 1024 ** 2).toFixed(0)} MiB after the transfers`);
  } finally {
    f.proc.kill();
    d.proc.kill();
    backend.proc.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
