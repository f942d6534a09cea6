/**
 * CPU per request of the proxy, next to requests per second.
 *
 * Three processes, so only the proxy's own CPU is counted: a tiny backend (answers 200 "ok"), the
 * proxy under test, and a keep-alive load generator. Variants:
 * - `passthrough`: express + http-proxy-middleware, nothing else (the budget's baseline);
 * - `osp`: ospMiddleware with SigV4 verification, an authorize callback (cached) and re-signing.
 * - `osp-traced` (with BENCH_ONLY): `osp` with OpenTelemetry tracing on as the `osp` server turns
 *   it on (OTLP/HTTP protobuf, batched), spans exported to the backend process, which ignores them.
 * The client request is signed once (a signature is valid for 15 minutes) and replayed.
 *
 * Run: npm run bench   (or: node -r ts-node/register/transpile-only bench/cpu-per-request.ts)
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { ospMiddleware } from '../lib/osp-middleware';
import { setOspIdentity } from '../lib/context';
import { signRequest } from '../lib/sigv4/sign-request';
import { createBackendAgent } from '../lib/middleware/backend-agent';
import pino from 'pino';
import { startTracingFromEnv } from '../lib/server/tracing';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENT = { accessKey: 'benchclient', secretKey: 'bench-client-secret-000000000000' };

type Msg = { port?: number; cpuUs?: number };

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function runBackend(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  process.send?.({ port: await listen(server) });
}

async function runProxy(variant: string, backendPort: number): Promise<void> {
  if (variant === 'osp-traced') {
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${backendPort}`, OTEL_PROPAGATORS: 'tracecontext' });
    await startTracingFromEnv(pino({ level: 'silent' }));
  }
  const app = express();
  if (variant === 'passthrough') {
    app.use(createProxyMiddleware({ target: `http://127.0.0.1:${backendPort}`, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }));
  } else if (variant === 'passthrough-router') {
    const agent = createBackendAgent({ rejectUnauthorized: true }) as unknown as http.Agent;
    const target = { protocol: 'http:', host: '127.0.0.1', hostname: '127.0.0.1', port: backendPort };
    app.use(createProxyMiddleware({ target: 'http://127.0.0.1', router: () => target as unknown as string, changeOrigin: true, agent }));
  } else if (variant === 'osp-no-auth') {
    // resolveBackend + s3Proxy only (identity set without SigV4): the cost of routing and re-signing.
    const opts = {
      buckets: { bench: { host: '127.0.0.1', port: backendPort, addressingStyle: 'path' as const, accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' as const } },
      hmacKeystore: [CLIENT],
    };
    const mw = ospMiddleware(opts);
    app.use((req, _res, next) => {
      setOspIdentity(req, CLIENT.accessKey);
      next();
    }, mw.stages.resolveBackend, mw.stages.s3Proxy);
  } else {
    app.use(
      ospMiddleware({
        buckets: { bench: { host: '127.0.0.1', port: backendPort, addressingStyle: 'path', accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' } },
        hmacKeystore: [CLIENT],
        ...(process.env.BENCH_NO_AUTHORIZE ? {} : { authorize: async (token: string | null, bucket: string) => token === CLIENT.accessKey && bucket === 'bench' }),
        ...(process.env.BENCH_SKIP_SIGNATURE ? { skipSignatureValidation: true } : {}),
      }),
    );
  }
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  const port = await listen(server);
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  let start = process.cpuUsage();
  process.on('message', (m: string) => {
    if (m === 'reset') start = process.cpuUsage();
    if (m === 'report') {
      const d = process.cpuUsage(start);
      process.send?.({ cpuUs: d.user + d.system });
    }
  });
  process.send?.({ port });
}

function signedHeaders(port: number): Record<string, string> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
  const s = signRequest({ method: 'GET', canonicalUri: '/bench/some/object.txt', canonicalQuery: '', headers, accessKeyId: CLIENT.accessKey, secretKey: CLIENT.secretKey, region: 'us-east-1', now: new Date() });
  return { ...headers, 'x-amz-date': s.amzDate, authorization: s.authorization };
}

async function runLoad(port: number, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = signedHeaders(port);
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async () => {
    while (sent < count) {
      sent++;
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/bench/some/object.txt', headers, agent }, (res) => {
          if (res.statusCode !== 200) failed++;
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => {
          failed++;
          resolve();
        });
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  if (failed) throw new Error(`${failed} requests failed`);
  return (count / (performance.now() - started)) * 1000;
}

/**
 * Pins a process to one CPU (when `taskset` exists): the proxy alone on CPU 1, the backend and the
 * load generator on CPU 0, so they do not compete for the proxy's core and its CPU time per
 * request stays comparable between runs.
 */
function pin(pid: number | undefined, cpu: string): void {
  if (pid === undefined || os.cpus().length < 2) return;
  try {
    execFileSync('taskset', ['-pc', cpu, String(pid)], { stdio: 'ignore' });
  } catch {
    // No taskset: unpinned, noisier.
  }
}

function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const profile = args[0] === 'proxy' && process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const proc = fork(__filename, args, { execArgv: ['-r', 'ts-node/register/transpile-only', ...profile] });
  pin(proc.pid, args[0] === 'proxy' ? '1' : '0');
  return new Promise((resolve, reject) => {
    proc.once('message', (m: Msg) => resolve({ proc, port: m.port as number }));
    proc.once('error', reject);
  });
}

function ask(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    proc.once('message', (m: Msg) => resolve(m.cpuUs as number));
    proc.send('report');
  });
}

async function measure(variant: string, backendPort: number): Promise<{ cpuUsPerReq: number; rps: number }> {
  const proxy = await child(['proxy', variant, String(backendPort)]);
  await runLoad(proxy.port, WARMUP);
  const results: { cpu: number; rps: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    proxy.proc.send('reset');
    const rps = await runLoad(proxy.port, REQUESTS);
    results.push({ cpu: (await ask(proxy.proc)) / REQUESTS, rps });
  }
  proxy.proc.kill('SIGINT');
  // Median round: CPU per request is stable here, req/s is noisy.
  results.sort((a, b) => a.cpu - b.cpu);
  const mid = results[Math.floor(results.length / 2)] as { cpu: number; rps: number };
  return { cpuUsPerReq: mid.cpu, rps: mid.rps };
}

async function main(): Promise<void> {
  const [role, a, b] = process.argv.slice(2);
  if (role === 'backend') return runBackend();
  if (role === 'proxy') return runProxy(a as string, Number(b));
  pin(process.pid, '0');
  const backend = await child(['backend']);
  try {
    if (process.env.BENCH_ONLY) {
      // Profiling aid: measure two named variants only.
      const [x, y] = process.env.BENCH_ONLY.split(',') as [string, string];
      const a = await measure(x, backend.port);
      const b = await measure(y, backend.port);
      console.log(`${x}: ${a.cpuUsPerReq.toFixed(1)} µs, ${y}: ${b.cpuUsPerReq.toFixed(1)} µs`);
      return;
    }
    const base = await measure('passthrough', backend.port);
    if (process.env.BENCH_EXTRA) {
      const r = await measure('passthrough-router', backend.port);
      console.log(`pass-through with router + backend agent: ${r.cpuUsPerReq.toFixed(1)} µs CPU/request, ${r.rps.toFixed(0)} req/s`);
      const n = await measure('osp-no-auth', backend.port);
      console.log(`resolveBackend + s3Proxy only (no SigV4 check): ${n.cpuUsPerReq.toFixed(1)} µs CPU/request, ${n.rps.toFixed(0)} req/s`);
    }
    const osp = await measure('osp', backend.port);
    const overhead = ((osp.cpuUsPerReq - base.cpuUsPerReq) / base.cpuUsPerReq) * 100;
    console.log(`requests per round: ${REQUESTS}, rounds: ${ROUNDS}, concurrency: ${CONCURRENCY} (median round shown)`);
    console.log(`express + http-proxy-middleware pass-through: ${base.cpuUsPerReq.toFixed(1)} µs CPU/request, ${base.rps.toFixed(0)} req/s`);
    console.log(`ospMiddleware (verify + authorize + re-sign): ${osp.cpuUsPerReq.toFixed(1)} µs CPU/request, ${osp.rps.toFixed(0)} req/s`);
    console.log(`overhead: +${(osp.cpuUsPerReq - base.cpuUsPerReq).toFixed(1)} µs/request (${overhead.toFixed(1)}%; budget 15%)`);
  } finally {
    backend.proc.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
