/**
 * CPU per request of the proxy, next to requests per second (issue [11]).
 *
 * Separate processes, so only the proxy's own CPU is counted: a tiny backend (answers a 1 KiB
 * body), one process per proxy variant, and a keep-alive load generator. Variants:
 * - `c` (`bare`): a bare Node `http.request` proxy (the floor);
 * - `d` (`passthrough`): express + http-proxy-middleware, nothing else (the budget's baseline);
 * - `f` (`osp`): a bare Express app with ospMiddleware: SigV4 verification, an authorize callback
 *   (cached) and re-signing;
 * - `e` (`server`): the `osp` server (startServer) with its defaults: helmet, the pino-http access
 *   log at info to stdout (sent to /dev/null here), metrics on.
 * All variants run side by side and are measured interleaved (c d f e, c d f e, …, BENCH_ROUNDS
 * rounds) so that a change of machine load hits them all alike; the median round is reported.
 * The client request is signed once (a signature is valid for 15 minutes) and replayed.
 * BENCH_EXTRA=1 adds, in the same rounds, the variants that split f's cost (where it goes):
 * `r` pass-through with a per-request router and the backend agent, `n` resolveBackend + s3Proxy
 * only (routing and re-signing, no SigV4 check), `s` f without the SigV4 check
 * (skipSignatureValidation), `a` f without an authorize callback, `eq` e with its access log off
 * (logLevel warn: what the access-log line costs, in situ), and `k` d plus 50 µs of plain
 * JavaScript per request (a calibration: how much CPU per request 50 µs of added work shows as
 * here; more than 50, because a slower proxy leaves its peers idle more often and each wake-up
 * through the loopback costs the proxy kernel time).
 *
 * Run: npm run bench:cpu   (or: node -r ./bench/register.js bench/cpu-per-request.ts)
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { ospMiddleware } from '../lib/osp-middleware';
import { setOspIdentity } from '../lib/context';
import { BENCH_CLIENT, signedBenchGet } from './bench-client';
import { createBackendAgent } from '../lib/upstream/agent';
import { startServer } from '../lib/server/start-server';
import promBundle from 'express-prom-bundle';
import { Registry } from 'prom-client';
import { ospMetrics } from '../lib/metrics';
import type { OspEventHooks } from '../lib/options';
import { medianRound } from './stats';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 6_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const BODY = Buffer.alloc(1024, 'x');
const VARIANTS: { key: string; name: string; label: string }[] = [
  { key: 'c', name: 'bare', label: 'bare Node http.request proxy' },
  { key: 'd', name: 'passthrough', label: 'express 5 + http-proxy-middleware pass-through' },
  { key: 'f', name: 'osp', label: 'express + ospMiddleware (verify + authorize + re-sign)' },
  { key: 'e', name: 'server', label: 'osp server, defaults (helmet, access log at info, metrics)' },
];
/**
 * BENCH_BASELINE=<dir>: also measures f and e built from another checkout of this repository (e.g.
 * a `git worktree` of the commit before a change, its node_modules a symlink to this one's), as
 * variants f0 and e0 in the same interleaved rounds: a before/after comparison under equal load.
 */
const BASELINE = process.env.BENCH_BASELINE;
if (process.env.BENCH_EXTRA) {
  VARIANTS.push(
    { key: 'r', name: 'passthrough-router', label: 'd with a per-request router and the backend agent' },
    { key: 'n', name: 'osp-no-auth', label: 'resolveBackend + s3Proxy only (no SigV4 check)' },
    { key: 's', name: 'osp-skip-signature', label: 'f without the SigV4 check' },
    { key: 'a', name: 'osp-no-authorize', label: 'f without an authorize callback' },
    { key: 'k', name: 'passthrough-busy', label: 'd + 50 µs of JavaScript per request (calibration)' },
    { key: 'eq', name: 'server-quiet', label: 'e with logLevel warn (no access-log line)' },
  );
}
/**
 * BENCH_METRICS=1 adds the cost of the `osp_*` metrics for a middleware user (issue [12]): `u` is f
 * behind the user's own express-prom-bundle, `m` the same plus `ospMetrics` on that registry.
 */
if (process.env.BENCH_METRICS) {
  VARIANTS.push({ key: 'u', name: 'osp-user-bundle', label: "f behind the user's express-prom-bundle" }, { key: 'm', name: 'osp-user-bundle-metrics', label: 'u + ospMetrics on the same registry' });
}
/**
 * BENCH_NODE_FLAGS='--max-semi-space-size=4|--max-semi-space-size=16': also measures f in processes
 * started with these Node flags, one variant per `|`-separated set (fx1, fx2, …), e.g. the CPU cost
 * of a smaller young generation, which bench:memory shows lowers peak RSS under large transfers.
 */
const NODE_FLAG_SETS = (process.env.BENCH_NODE_FLAGS ?? '')
  .split('|')
  .map((set) => set.split(' ').filter(Boolean))
  .filter((set) => set.length > 0);
NODE_FLAG_SETS.forEach((set, i) => VARIANTS.push({ key: `fx${i + 1}`, name: `osp-flags-${i}`, label: `f with ${set.join(' ')}` }));
if (BASELINE) VARIANTS.push({ key: 'f0', name: 'osp-base', label: `f from ${BASELINE}` }, { key: 'e0', name: 'server-base', label: `e from ${BASELINE}` });
// With both: m0 is u + the baseline checkout's ospMetrics (on this checkout's middleware), so m/m0 is the metrics change alone.
if (BASELINE && process.env.BENCH_METRICS) VARIANTS.push({ key: 'm0', name: 'osp-user-bundle-metrics-base', label: `u + ospMetrics from ${BASELINE}` });
const CLIENT = BENCH_CLIENT;

type Msg = { port?: number; cpuUs?: number; sysUs?: number };

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function runBackend(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 60_000;
  process.send?.({ port: await listen(server) });
}

const BENCH_BUCKETS = (backendPort: number) => ({
  bench: { host: '127.0.0.1', port: backendPort, addressingStyle: 'path' as const, accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' as const },
});
const benchAuthorize = async (token: string | null, bucket: string) => token === CLIENT.accessKey && bucket === 'bench';

/** Variant c: the least a Node proxy does (pipe the request and the response through). */
function bareProxy(backendPort: number): http.RequestListener {
  const agent = new http.Agent({ keepAlive: true });
  return (req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
}

/** A module of the BENCH_BASELINE checkout. */
function baseline(module: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(BASELINE as string, module));
}

/** Baselines before `options.on` (issue [2/5]) returned positional hooks from ospMetrics: the same hooks under their `on` names. */
function asEventHooks(hooks: Record<string, any>): OspEventHooks {
  if (!('onRequest' in hooks)) return hooks as OspEventHooks;
  const { onRequest, onError, onIamTokenRefresh, onSharedStoreStatus, presigned, proxy } = hooks;
  return {
    request: onRequest,
    error: onError,
    iamTokenRefresh: onIamTokenRefresh,
    sharedStoreStatus: onSharedStoreStatus,
    presignedUse: presigned?.onHit,
    presignedRejected: presigned?.onRejected,
    presignedShareExhausted: presigned?.onShareExhausted,
    backendResponse: proxy?.onBackendResponse,
    backendFailure: proxy?.onBackendFailure,
  };
}

function reportCpu(): void {
  let start = process.cpuUsage();
  process.on('message', (m: string) => {
    if (m === 'reset') start = process.cpuUsage();
    if (m === 'report') {
      const d = process.cpuUsage(start);
      process.send?.({ cpuUs: d.user + d.system, sysUs: d.system });
    }
  });
}

async function runProxy(variant: string, backendPort: number): Promise<void> {
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  if (variant === 'server' || variant === 'server-base' || variant === 'server-quiet') {
    const start: typeof startServer = variant === 'server-base' ? baseline('lib/server/start-server').startServer : startServer;
    const logLevel = variant === 'server-quiet' ? ('warn' as const) : undefined;
    const running = await start({ httpPort: 0, host: '127.0.0.1', metricsPort: 0, buckets: BENCH_BUCKETS(backendPort), hmacKeystore: [CLIENT], authorize: benchAuthorize, logLevel });
    reportCpu();
    process.send?.({ port: running.httpPort });
    return;
  }
  if (variant === 'bare') {
    const server = http.createServer(bareProxy(backendPort));
    server.keepAliveTimeout = 60_000;
    const port = await listen(server);
    reportCpu();
    process.send?.({ port });
    return;
  }
  const app = express();
  if (variant === 'passthrough') {
    app.use(createProxyMiddleware({ target: `http://127.0.0.1:${backendPort}`, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }));
  } else if (variant === 'osp-user-bundle' || variant === 'osp-user-bundle-metrics' || variant === 'osp-user-bundle-metrics-base') {
    const registry = new Registry();
    app.use(promBundle({ promRegistry: registry, autoregister: false, includeMethod: true }));
    const metricsOf: typeof ospMetrics = variant === 'osp-user-bundle-metrics-base' ? baseline('lib/metrics').ospMetrics : ospMetrics;
    const on = variant === 'osp-user-bundle' ? {} : asEventHooks(metricsOf(registry, { bucketNames: ['bench'] }));
    app.use(ospMiddleware({ buckets: BENCH_BUCKETS(backendPort), hmacKeystore: [CLIENT], authorize: benchAuthorize, on }));
  } else if (variant === 'passthrough-busy') {
    const busy = () => {
      const until = performance.now() + 0.05;
      while (performance.now() < until);
    };
    app.use(createProxyMiddleware({ target: `http://127.0.0.1:${backendPort}`, changeOrigin: true, agent: new http.Agent({ keepAlive: true }), on: { proxyReq: busy } }));
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
    app.use(
      (req, _res, next) => {
        setOspIdentity(req, CLIENT.accessKey);
        next();
      },
      mw.stages.resolveBackend,
      mw.stages.s3Proxy,
    );
  } else {
    const middleware: typeof ospMiddleware = variant === 'osp-base' ? baseline('lib/osp-middleware').ospMiddleware : ospMiddleware;
    app.use(
      middleware({
        buckets: { bench: { host: '127.0.0.1', port: backendPort, addressingStyle: 'path', accessKey: 'backend', secretKey: 'backend-secret', profile: 'aws' } },
        hmacKeystore: [CLIENT],
        ...(variant === 'osp-no-authorize' ? {} : { authorize: benchAuthorize }),
        ...(variant === 'osp-skip-signature' ? { skipSignatureValidation: true } : {}),
      }),
    );
  }
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  const port = await listen(server);
  reportCpu();
  process.send?.({ port });
}

async function runLoad(port: number, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = signedBenchGet(`127.0.0.1:${port}`);
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
 * request stays comparable between runs. BENCH_ONE_CPU=1 puts every process on CPU 1 instead: no
 * core then idles while the proxy works, so no wake-up of a peer costs the proxy kernel time, and
 * added work shows at about its own cost (the calibration variant `k` of BENCH_EXTRA tells).
 */
function pin(pid: number | undefined, cpu: string): void {
  if (pid === undefined || os.cpus().length < 2) return;
  if (process.env.BENCH_ONE_CPU) cpu = '1';
  try {
    execFileSync('taskset', ['-pc', cpu, String(pid)], { stdio: 'ignore' });
  } catch {
    // No taskset: unpinned, noisier.
  }
}

function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const profile = args[0] === 'proxy' && process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  // The server logs every request to stdout, as it does by default: here into /dev/null.
  const stdout = args[1]?.startsWith('server') ? openSync('/dev/null', 'w') : 'inherit';
  const flags = args[1]?.startsWith('osp-flags-') ? (NODE_FLAG_SETS[Number(args[1].slice('osp-flags-'.length))] ?? []) : [];
  const proc = fork(__filename, args, { execArgv: ['-r', require.resolve('./register.js'), ...flags, ...profile], stdio: ['ignore', stdout, 'inherit', 'ipc'] });
  pin(proc.pid, args[0] === 'proxy' ? '1' : '0');
  return new Promise((resolve, reject) => {
    proc.once('message', (m: Msg) => resolve({ proc, port: m.port as number }));
    proc.once('error', reject);
  });
}

/** CPU µs the proxy process used since the last reset (all its threads: GC helpers included), and the kernel's part of it. */
function ask(proc: ChildProcess): Promise<{ cpu: number; sys: number }> {
  return new Promise((resolve) => {
    proc.once('message', (m: Msg) => resolve({ cpu: m.cpuUs as number, sys: m.sysUs as number }));
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
    results.push({ cpu: (await ask(proxy.proc)).cpu / REQUESTS, rps });
  }
  proxy.proc.kill('SIGINT');
  // Median round: CPU per request is stable here, req/s is noisy.
  results.sort((a, b) => a.cpu - b.cpu);
  const mid = results[Math.floor(results.length / 2)] as { cpu: number; rps: number };
  return { cpuUsPerReq: mid.cpu, rps: mid.rps };
}

/** Runs every variant side by side, measured interleaved round after round; median round per variant. */
async function interleaved(backendPort: number): Promise<void> {
  const procs = [];
  for (const v of VARIANTS) procs.push({ v, ...(await child(['proxy', v.name, String(backendPort)])) });
  const cpu: Record<string, number[]> = {};
  const rps: Record<string, number[]> = {};
  const sys: Record<string, number[]> = {};
  try {
    for (const p of procs) await runLoad(p.port, WARMUP);
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of procs) {
        p.proc.send('reset');
        const r = await runLoad(p.port, REQUESTS);
        const used = await ask(p.proc);
        (cpu[p.v.key] ??= []).push(used.cpu / REQUESTS);
        (sys[p.v.key] ??= []).push(used.sys / REQUESTS);
        (rps[p.v.key] ??= []).push(r);
      }
    }
  } finally {
    for (const p of procs) p.proc.kill('SIGINT');
  }
  const m: Record<string, number> = {};
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`1 KiB GET, ${REQUESTS} requests per round, ${ROUNDS} interleaved rounds (c d f e, …), concurrency ${CONCURRENCY}; median round:`);
  // Each ratio is taken within a round (its variants ran back to back, under the same machine
  // load) and the median over rounds is reported: steadier than a ratio of medians on a busy machine.
  const ratio = (a: string, b: string) => medianRound((cpu[a] as number[]).map((x, i) => x / ((cpu[b] as number[])[i] as number))).toFixed(2);
  for (const v of VARIANTS) {
    m[v.key] = medianRound(cpu[v.key] as number[]);
    const all = (cpu[v.key] as number[]).map((x) => x.toFixed(0)).join(' ');
    console.log(
      `  ${v.key} ${v.label}: ${(m[v.key] as number).toFixed(1)} µs CPU/request (${medianRound(sys[v.key] as number[]).toFixed(0)} in the kernel), ${medianRound(rps[v.key] as number[]).toFixed(0)} req/s, ${ratio(v.key, 'd')}× d (rounds: ${all})`,
    );
  }
  console.log(`ratios (median of per-round ratios): f/d ${ratio('f', 'd')} (target <= 1.15), f/c ${ratio('f', 'c')} (target <= 2), e/f ${ratio('e', 'f')} (target <= 1.15), d/c ${ratio('d', 'c')}`);
  if (cpu.eq) console.log(`server without its access log: eq/f ${ratio('eq', 'f')}, e/eq ${ratio('e', 'eq')}`);
  if (cpu.f0) console.log(`against ${BASELINE}: f/f0 ${ratio('f', 'f0')}, e/e0 ${ratio('e', 'e0')}`);
  // The osp_* metrics of a middleware user stay inside the server's budget (issue [12]).
  if (cpu.m && cpu.u) console.log(`metrics of a middleware user: m/u ${ratio('m', 'u')} (target <= 1.15, as e/f)${cpu.m0 ? `, m0/u ${ratio('m0', 'u')}, m/m0 ${ratio('m', 'm0')}` : ''}`);
}

async function main(): Promise<void> {
  const [role, a, b] = process.argv.slice(2);
  if (role === 'backend') return runBackend();
  if (role === 'proxy') return runProxy(a as string, Number(b));
  pin(process.pid, '0');
  const backend = await child(['backend']);
  try {
    if (process.env.BENCH_ONLY) {
      // Profiling aid: measure two variants only, named by key (d,f) or by name (passthrough,osp).
      const named = (k: string) => VARIANTS.find((v) => v.key === k)?.name ?? k;
      const [x, y] = process.env.BENCH_ONLY.split(',').map(named) as [string, string];
      const a = await measure(x, backend.port);
      const b = await measure(y, backend.port);
      console.log(`${x}: ${a.cpuUsPerReq.toFixed(1)} µs, ${y}: ${b.cpuUsPerReq.toFixed(1)} µs`);
      return;
    }
    await interleaved(backend.port);
  } finally {
    backend.proc.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
