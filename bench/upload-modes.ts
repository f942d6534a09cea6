/**
 * Upload throughput, proxy CPU and proxy peak RSS per body mode, through the real proxy
 * (ospMiddleware on Express) to a backend; not a test. Each mode has its own proxy process, so its
 * peak RSS (VmHWM) is that mode's alone; the modes take turns round after round (so a change in
 * the machine's load hits all of them), and the median proxy CPU of each mode is reported. The
 * client pre-frames the body (chunk signatures computed before the clock starts) so that mostly
 * the proxy's work is measured; on a 2-core machine client, proxy and backend still share the CPUs.
 *
 * Modes: hex SHA-256 forwarded for the backend to check (profile ceph-rgw: the proxy does not hash
 * it), hex SHA-256 checked by the proxy (`verifiesPayloadHash: false`, as for moto), UNSIGNED-PAYLOAD
 * (the "plain signed PUT" the ratios compare with), STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (crc32c), STREAMING-UNSIGNED-PAYLOAD-TRAILER (crc32).
 * BENCH_MODES=signed,unsigned runs only those.
 *
 * Backend: by default a sink in its own process (reads the body, checks its length, answers 200),
 * i.e. the proxy alone. Or a real S3 server (the bucket must exist):
 *   BENCH_BACKEND=http://127.0.0.1:PORT BENCH_BACKEND_KEY=... BENCH_BACKEND_SECRET=... \
 *   BENCH_BUCKET=name BENCH_PROFILE=ceph-rgw
 * Size and repetitions: BENCH_MIB (default 256), BENCH_ROUNDS (default 3; median CPU, best MiB/s).
 * CPU profiles of the proxies: BENCH_PROFILE_DIR=/tmp/dir (one .cpuprofile per mode).
 * Before/after under equal load: BENCH_BASELINE=<other checkout, with its node_modules> adds a proxy
 * per mode running that checkout's lib, in the same rounds.
 *
 * Run: node -r ./bench/register.js bench/upload-modes.ts
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import { join } from 'node:path';
import type { ospMiddleware as OspMiddleware } from '../lib/osp-middleware';
import type { BackendProfileName, BackendProfileOption } from '../lib/backends/profiles';
import { EMPTY_SHA256, canonicalTrailers, chunkSignature, trailerSignature } from '../lib/body/chunk-signature';
import { createChecksum, type ChecksumAlgorithm } from '../lib/body/checksums';
import { sha256Hex } from '../lib/sigv4/signing-key';
import { BENCH_CLIENT as CLIENT, benchChunkSigning, signBenchRequest } from './bench-client';

const MIB = 1024 * 1024;
const TOTAL = Number(process.env.BENCH_MIB ?? 256) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const BASELINE = process.env.BENCH_BASELINE;
const CHUNK = 64 * 1024;
const BUCKET = process.env.BENCH_BUCKET ?? 'bench';

type Mode = 'hex' | 'hex-checked' | 'unsigned' | 'signed' | 'signed-trailer' | 'unsigned-trailer';
const ALL_MODES: Mode[] = ['hex', 'hex-checked', 'unsigned', 'signed', 'signed-trailer', 'unsigned-trailer'];
const MODES = process.env.BENCH_MODES ? ALL_MODES.filter((m) => process.env.BENCH_MODES!.split(',').includes(m)) : ALL_MODES;
const PAYLOAD: Record<Mode, string> = {
  hex: '',
  'hex-checked': '',
  unsigned: 'UNSIGNED-PAYLOAD',
  signed: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'signed-trailer': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'unsigned-trailer': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
};
const TRAILER: Partial<Record<Mode, ChecksumAlgorithm>> = { 'signed-trailer': 'crc32c', 'unsigned-trailer': 'crc32' };

type Msg = { port?: number; hwmKiB?: number; rssKiB?: number; cpuUs?: number };

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** VmHWM / VmRSS of this process in KiB. */
function memory(): { hwmKiB: number; rssKiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { hwmKiB: kib('VmHWM'), rssKiB: kib('VmRSS') };
}

async function runSink(): Promise<void> {
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      const expected = req.headers['content-length'];
      const ok = expected === undefined || Number(expected) === n;
      res.writeHead(ok ? 200 : 400, { etag: '"x"', 'content-length': 0 });
      res.end();
    });
  });
  process.send?.({ port: await listen(server) });
}

/** The proxy's backend profile for a mode: `hex-checked` makes the proxy verify the SHA-256 itself. */
function profileOf(mode: Mode, profile: string): BackendProfileOption {
  return mode === 'hex-checked' ? { preset: profile as BackendProfileName, verifiesPayloadHash: false } : (profile as BackendProfileName);
}

async function runProxy(backendUrl: string, key: string, secret: string, profileJson: string, checkout: string): Promise<void> {
  const profile = JSON.parse(profileJson) as BackendProfileOption;
  // The lib of this checkout, or of BENCH_BASELINE's (loaded through the same TypeScript hook).
  const { ospMiddleware } = (await import(join(checkout, 'lib', 'osp-middleware'))) as { ospMiddleware: typeof OspMiddleware };
  const url = new URL(backendUrl);
  const app = express();
  const middleware = ospMiddleware({
    buckets: { [BUCKET]: { host: url.hostname, port: Number(url.port), addressingStyle: 'path', tls: false, accessKey: key, secretKey: secret, profile } },
    hmacKeystore: [CLIENT],
  });
  app.use(middleware);
  const server = http.createServer(app);
  server.on('checkContinue', (req, res) => app(req, res));
  const port = await listen(server);
  process.on('message', (m) => {
    if (m === 'quit') process.exit(0); // exit (not a kill) so that --cpu-prof writes its profile
    const u = process.resourceUsage();
    process.send?.({ ...memory(), cpuUs: u.userCPUTime + u.systemCPUTime });
  });
  process.send?.({ port });
}

function child(args: string[], execArgv: string[] = []): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(__filename, args, { execArgv: ['-r', require.resolve('./register.js'), ...execArgv] });
  return new Promise((resolve, reject) => {
    proc.once('message', (m: Msg) => resolve({ proc, port: m.port as number }));
    proc.once('error', reject);
  });
}

function ask(proc: ChildProcess): Promise<Msg> {
  return new Promise((resolve) => {
    proc.once('message', (m: Msg) => resolve(m));
    proc.send('stats');
  });
}

const piece = randomBytes(CHUNK);
const count = TOTAL / CHUNK;
const pieceSha = sha256Hex(piece);
let wholeSha: string | undefined;

/** Pre-framed request for one mode: headers and a body generator (64 KiB chunks of `piece`). */
function buildRequest(mode: Mode, port: number, key: string): { headers: Record<string, string>; body: () => Readable } {
  const urlPath = `/${BUCKET}/${key}`;
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  if (mode === 'hex' || mode === 'hex-checked') {
    if (wholeSha === undefined) {
      const h = createHash('sha256');
      for (let i = 0; i < count; i++) h.update(piece);
      wholeSha = h.digest('hex');
    }
    headers['x-amz-content-sha256'] = wholeSha;
  } else headers['x-amz-content-sha256'] = PAYLOAD[mode];
  const streaming = mode !== 'hex' && mode !== 'hex-checked' && mode !== 'unsigned';
  const alg = TRAILER[mode];
  if (streaming) {
    headers['content-encoding'] = 'aws-chunked';
    headers['x-amz-decoded-content-length'] = String(TOTAL);
    if (alg) headers['x-amz-trailer'] = `x-amz-checksum-${alg}`;
  }
  const signed = signBenchRequest('PUT', urlPath, headers);
  Object.assign(headers, signed.headers);
  if (!streaming) {
    headers['content-length'] = String(TOTAL);
    return {
      headers,
      body: () =>
        Readable.from(
          (function* () {
            for (let i = 0; i < count; i++) yield piece;
          })(),
          { objectMode: false },
        ),
    };
  }
  const ctx = benchChunkSigning(signed);
  const signedChunks = mode !== 'unsigned-trailer';
  const chunkHeaders: Buffer[] = [];
  let prev = ctx.seedSignature;
  for (let i = 0; i < count; i++) {
    if (signedChunks) prev = chunkSignature(ctx, prev, pieceSha);
    chunkHeaders.push(Buffer.from(`${CHUNK.toString(16)}${signedChunks ? `;chunk-signature=${prev}` : ''}\r\n`, 'latin1'));
  }
  let end = '';
  if (signedChunks) {
    prev = chunkSignature(ctx, prev, EMPTY_SHA256);
    end += `0;chunk-signature=${prev}\r\n`;
  } else end += '0\r\n';
  if (alg) {
    const c = createChecksum(alg);
    for (let i = 0; i < count; i++) c.update(piece);
    const name = `x-amz-checksum-${alg}`;
    end += `${name}:${c.digestBase64()}\r\n`;
    if (signedChunks) end += `x-amz-trailer-signature:${trailerSignature(ctx, prev, canonicalTrailers([[name, c.digestBase64()]]))}\r\n`;
  }
  const tail = Buffer.from(end + '\r\n', 'latin1');
  const crlf = Buffer.from('\r\n');
  headers['content-length'] = String(chunkHeaders.reduce((n, h) => n + h.length + CHUNK + 2, 0) + tail.length);
  return {
    headers,
    body: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < count; i++) {
            yield chunkHeaders[i]!;
            yield piece;
            yield crlf;
          }
          yield tail;
        })(),
        { objectMode: false },
      ),
  };
}

function put(port: number, urlPath: string, headers: Record<string, string>, body: Readable): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: urlPath, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

async function main(): Promise<void> {
  let sink: ChildProcess | undefined;
  let backendUrl = process.env.BENCH_BACKEND;
  const key = process.env.BENCH_BACKEND_KEY ?? 'bench';
  const secret = process.env.BENCH_BACKEND_SECRET ?? 'bench';
  const profile = process.env.BENCH_PROFILE ?? 'ceph-rgw';
  if (backendUrl === undefined) {
    const s = await child(['sink']);
    sink = s.proc;
    backendUrl = `http://127.0.0.1:${s.port}`;
  }
  console.log(
    `node ${process.version}, ${TOTAL / MIB} MiB per PUT, ${ROUNDS} interleaved rounds (median CPU, best MiB/s), backend ${process.env.BENCH_BACKEND ? `${backendUrl} (profile ${profile})` : 'sink process'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const children: ChildProcess[] = sink ? [sink] : [];
  process.on('exit', () => children.forEach((c) => c.kill()));
  const checkouts: Array<[variant: string, dir: string]> = [['this', join(__dirname, '..')]];
  if (BASELINE) checkouts.push(['baseline', BASELINE]);
  type Proxy = { variant: string; mode: Mode; proc: ChildProcess; port: number; idle: Msg; cpu: number[]; best: number };
  const proxies: Proxy[] = [];
  for (const mode of MODES) {
    for (const [variant, dir] of checkouts) {
      const name = `${variant === 'this' ? '' : `${variant}-`}${mode}`;
      const execArgv = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
      const proxy = await child(['proxy', backendUrl, key, secret, JSON.stringify(profileOf(mode, profile)), dir], execArgv);
      children.push(proxy.proc);
      proxies.push({ variant, mode, ...proxy, idle: await ask(proxy.proc), cpu: [], best: 0 });
    }
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const proxy of proxies) {
      const objectKey = `bench-${proxy.variant}-${proxy.mode}-${r}`;
      const req = buildRequest(proxy.mode, proxy.port, objectKey);
      const before = await ask(proxy.proc);
      const t0 = process.hrtime.bigint();
      const res = await put(proxy.port, `/${BUCKET}/${objectKey}`, req.headers, req.body());
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const after = await ask(proxy.proc);
      if (res.status !== 200) throw new Error(`${proxy.mode}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
      proxy.best = Math.max(proxy.best, TOTAL / MIB / s);
      proxy.cpu.push(((after.cpuUs ?? 0) - (before.cpuUs ?? 0)) / 1e6);
    }
  }
  console.log(`${'mode'.padEnd(56)} ${'MiB/s'.padStart(7)} ${'proxy CPU s'.padStart(11)} ${'RSS idle'.padStart(9)} ${'peak RSS'.padStart(9)}`);
  for (const proxy of proxies) {
    const end = await ask(proxy.proc);
    const { mode } = proxy;
    const label = `${proxy.variant === 'this' ? '' : `[${proxy.variant}] `}${mode === 'hex' ? 'hex sha256 (backend checks)' : mode === 'hex-checked' ? 'hex sha256 (proxy checks)' : `${PAYLOAD[mode]}${TRAILER[mode] ? ` ${TRAILER[mode]}` : ''}`}`;
    console.log(
      `${label.padEnd(56)} ${proxy.best.toFixed(0).padStart(7)} ${median(proxy.cpu).toFixed(2).padStart(11)} ${`${((proxy.idle.rssKiB ?? 0) / 1024).toFixed(0)} MiB`.padStart(9)} ${`${((end.hwmKiB ?? 0) / 1024).toFixed(0)} MiB`.padStart(9)}`,
    );
    proxy.proc.send('quit');
  }
  sink?.kill();
  // Issue [11] targets: the proxy's CPU for a body it checks, against a plain signed PUT
  // (UNSIGNED-PAYLOAD, no hashing): the median of the per-round ratios (both PUTs of a ratio ran
  // back to back, under about the same load).
  for (const [variant] of checkouts) {
    const cpus = (mode: Mode) => proxies.find((p) => p.variant === variant && p.mode === mode)?.cpu;
    const vsPlain = (mode: Mode) => {
      const a = cpus(mode);
      const b = cpus('unsigned');
      return a && b ? median(a.map((v, i) => v / b[i]!)).toFixed(2) : 'n/a';
    };
    console.log(
      `${variant === 'this' ? '' : `[${variant}] `}CPU vs plain signed PUT (UNSIGNED-PAYLOAD): aws-chunked signed ${vsPlain('signed')}x, proxy-checked SHA-256 ${vsPlain('hex-checked')}x (targets <= 1.5x); signed+trailer ${vsPlain('signed-trailer')}x, unsigned+trailer ${vsPlain('unsigned-trailer')}x, backend-checked SHA-256 ${vsPlain('hex')}x`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'sink') void runSink();
else if (role === 'proxy') void runProxy(rest[0]!, rest[1]!, rest[2]!, rest[3]!, rest[4]!);
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
