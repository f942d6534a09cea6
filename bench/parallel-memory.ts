/**
 * Peak memory of the proxy under parallel large transfers (issue [11]: peak RSS with 8 parallel
 * 1 GiB transfers under 256 MiB); not a test.
 *
 * Processes: a sink/source backend (discards uploads after counting them, generates downloads; no
 * disk, no S3 logic), the proxy f (ospMiddleware on Express, signature verification and
 * re-signing on), first as f16 (started with `--max-semi-space-size=16`, the young-generation cap
 * the README recommends and the osp server gives its workers), then as f with V8's default
 * sizing, then for comparison d (express + http-proxy-middleware pass-through; BENCH_D=0
 * leaves it out), and this client. The proxy runs as plain JavaScript transpiled beforehand (see
 * `transpile-tree.ts`), as in production: with the TypeScript compiler loaded its idle RSS alone is
 * over 200 MiB.
 *
 * Phases, each BENCH_PARALLEL (8) transfers of BENCH_BYTES (1 GiB) at once:
 * - `put`: plain signed PUTs (UNSIGNED-PAYLOAD), streamed through untouched;
 * - `chunked`: aws-chunked signed PUTs (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 64 KiB chunks), which
 *   the proxy decodes and verifies chunk by chunk;
 * - `get`: GETs of generated objects.
 * (Run in the order put, get, chunked: d can only do the first two, and a phase inherits the heap
 * and allocator state the phases before it left, so f's put and get compare with d's.)
 * Before each phase the proxy's VmHWM is reset (`/proc/<pid>/clear_refs`), so each phase reports
 * its own peak; the client also samples VmRSS every 20 ms. BENCH_SMAPS=1 prints where the proxy's
 * resident memory is at the end (by mapping).
 *
 * Run: npm run bench:memory   (BENCH_BYTES=268435456 for a quick run; BENCH_PHASES=put,get)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import type { Readable } from 'node:stream';
import { AwsChunkedEncoder, encodedLength } from '../lib/body/aws-chunked-encoder';
import { YOUNG_GENERATION_FLAG } from '../lib/server/node-flags';
import { benchChunkSigning, signBenchRequest } from './bench-client';
import { largeBodyProxy, listen, MIB, patternSource as source, sinkSourceBackend } from './large-body-fixtures';

const BYTES = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const PHASES = (process.env.BENCH_PHASES ?? 'put,get,chunked').split(',') as Phase[];
const TARGET_MIB = 256;

type Phase = 'put' | 'chunked' | 'get';
interface Stats {
  hwmKiB: number;
  rssKiB: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** VmHWM / VmRSS of a process in KiB. */
function procStatus(pid: number | 'self'): { hwmKiB: number; rssKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { hwmKiB: kib('VmHWM'), rssKiB: kib('VmRSS') };
}

async function runBackend(): Promise<void> {
  process.send?.({ port: await listen(sinkSourceBackend(BYTES)) });
}

async function runProxy(backendPort: number, variant: 'f' | 'd'): Promise<void> {
  const port = await listen(largeBodyProxy(variant, backendPort));
  process.on('message', () => {
    const m = process.memoryUsage();
    process.send?.({ ...procStatus('self'), heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } satisfies Stats);
  });
  process.send?.({ port });
}

function child(file: string, args: string[], nodePath: string, execArgv: string[] = []): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(file, args, { execArgv, env: { ...process.env, NODE_PATH: nodePath } });
  return new Promise((resolve, reject) => {
    proc.once('message', (m: { port: number }) => resolve({ proc, port: m.port }));
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

function stats(proc: ChildProcess): Promise<Stats> {
  return new Promise((resolve) => {
    proc.once('message', (m: Stats) => resolve(m));
    proc.send('stats');
  });
}

function signedHeaders(method: string, port: number, key: string, extra: Record<string, string>): Record<string, string> {
  return signBenchRequest(method, `/big/${key}`, { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra }).headers;
}

/** One transfer of the phase; resolves with the bytes the backend (PUT) or the client (GET) saw. */
function transfer(phase: Phase, port: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const agent = false;
    if (phase === 'get') {
      http
        .get({ host: '127.0.0.1', port, path: `/big/${key}`, headers: signedHeaders('GET', port, key, {}), agent }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${res.statusCode}`))));
        })
        .on('error', reject);
      return;
    }
    let headers: Record<string, string>;
    let body: Readable;
    if (phase === 'put') {
      headers = signedHeaders('PUT', port, key, { 'content-length': String(BYTES) });
      body = source(BYTES);
    } else {
      const extra = {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(BYTES),
      };
      const signed = signBenchRequest('PUT', `/big/${key}`, { host: `127.0.0.1:${port}`, ...extra });
      headers = { ...signed.headers, 'content-length': String(encodedLength(BYTES, { signed: true })) };
      body = source(BYTES).pipe(new AwsChunkedEncoder({ signing: benchChunkSigning(signed) }));
    }
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `/big/${key}`, headers, agent }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(res.headers['x-bytes'])) : reject(new Error(`PUT ${res.statusCode} ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

/** The proxy's resident memory by kind of mapping (BENCH_SMAPS=1): where RSS that is not the JS heap lives. */
function printMappings(pid: number): void {
  const byKind = new Map<string, { kib: number; count: number }>();
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      kind = header[1]!.trim() || '[anonymous]';
      if (kind.startsWith('/')) kind = kind.replace(/.*\//, '');
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) {
      const e = byKind.get(kind) ?? { kib: 0, count: 0 };
      e.kib += Number(rss[1]);
      e.count++;
      byKind.set(kind, e);
    }
  }
  const top = [...byKind].sort((a, b) => b[1].kib - a[1].kib).slice(0, 6);
  console.log(`resident by mapping: ${top.map(([k, e]) => `${k} ${mib(e.kib)} (${e.count})`).join(', ')}`);
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const { transpileForBench, NODE_MODULES } = await import('./transpile-tree');
  const out = transpileForBench([__filename, require.resolve('./large-body-fixtures'), require.resolve('./bench-client')]);
  const script = `${out}/bench/parallel-memory.js`;
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    children.forEach((c) => c.kill());
    rmSync(out, { recursive: true, force: true });
  });
  const backend = await child(script, ['backend'], NODE_MODULES);
  children.push(backend.proc);
  console.log(
    `node ${process.version}, proxies as transpiled JavaScript, ${PARALLEL} parallel transfers of ${(BYTES / MIB).toFixed(0)} MiB per phase, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  // f16: f in a process started with the young-generation cap the README recommends (and the osp
  // server gives its workers); f: the same with V8's default sizing.
  const variants: Array<[name: string, phases: Phase[], execArgv: string[]]> = [
    ['f16', PHASES, [YOUNG_GENERATION_FLAG]],
    ['f', PHASES, []],
  ];
  // d cannot decode aws-chunked bodies: plain PUT and GET only.
  if (process.env.BENCH_D !== '0') variants.push(['d', PHASES.filter((p) => p !== 'chunked'), []]);
  const worst: Record<string, number> = {};
  for (const [variant, phases, execArgv] of variants) {
    const proxy = await child(script, ['proxy', String(backend.port), variant === 'd' ? 'd' : 'f'], NODE_MODULES, execArgv);
    children.push(proxy.proc);
    const pid = proxy.proc.pid as number;
    const idle = await stats(proxy.proc);
    const label = variant === 'd' ? 'd express + http-proxy-middleware' : `${variant} ospMiddleware${execArgv.length > 0 ? ` (node ${execArgv.join(' ')})` : ' (V8 defaults)'}`;
    console.log(`${label}: idle RSS ${mib(idle.rssKiB)}, VmHWM ${mib(idle.hwmKiB)} (start-up included)`);
    for (const phase of phases) {
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS (Linux >= 4.0)
      let sampled = 0;
      const timer = setInterval(() => (sampled = Math.max(sampled, procStatus(pid).rssKiB)), 20);
      const started = performance.now();
      const counts = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => transfer(phase, proxy.port, `object-${phase}-${i}.bin`)));
      const seconds = (performance.now() - started) / 1000;
      clearInterval(timer);
      const bad = counts.filter((n) => n !== BYTES);
      if (bad.length > 0) throw new Error(`${variant} ${phase}: ${bad.length} transfers did not carry ${BYTES} bytes (${bad.join(', ')})`);
      const s = await stats(proxy.proc);
      worst[variant] = Math.max(worst[variant] ?? 0, s.hwmKiB);
      console.log(
        `${variant} ${phase.padEnd(8)} ${((PARALLEL * BYTES) / MIB / seconds).toFixed(0).padStart(5)} MiB/s total  peak RSS ${mib(s.hwmKiB).padStart(8)} (sampled ${mib(sampled)})  after: RSS ${mib(s.rssKiB)}, heap ${(s.heapUsed / MIB).toFixed(0)} of ${(s.heapTotal / MIB).toFixed(0)} MiB, external ${(s.external / MIB).toFixed(0)} MiB, array buffers ${(s.arrayBuffers / MIB).toFixed(0)} MiB`,
      );
    }
    if (process.env.BENCH_SMAPS) printMappings(pid);
    proxy.proc.kill();
  }
  for (const v of ['f16', 'f']) {
    const kib = worst[v] ?? 0;
    console.log(`${v} peak RSS over all phases: ${mib(kib)} (target < ${TARGET_MIB} MiB: ${kib / 1024 < TARGET_MIB ? 'met' : 'NOT met'})`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(2)}`);
}

const [role, arg, arg2] = process.argv.slice(2);
if (role === 'backend') void runBackend();
else if (role === 'proxy') void runProxy(Number(arg), arg2 === 'd' ? 'd' : 'f');
else
  main().then(
    () => process.exit(0), // the children's IPC channels would keep this process alive
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
