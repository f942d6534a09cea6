/** Shared helpers of the server e2e tests: a moto backend, raw HTTP, S3 clients, metrics parsing. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from '../../lib/server/demo';

export { freePort };

/** Spawns a TypeScript entry point (`node -r ts-node/register`) and collects its stdout lines; `env` adds to this process's environment. */
export function spawnTs(script: string, args: string[], stdin: 'ignore' | 'pipe' = 'ignore', env: NodeJS.ProcessEnv = {}): { child: ChildProcess; lines: string[]; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env, TS_NODE_PROJECT: 'tsconfig.json' },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() as string;
    lines.push(...parts);
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  return { child, lines, exit };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  gotContinue: boolean;
}

/** One request on a fresh connection (closed afterwards), so connection gauges settle. */
export function raw(url: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let gotContinue = false;
    const req = http.request({ host: u.hostname, port: u.port, method: init.method ?? 'GET', path: `${u.pathname}${u.search}`, headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), gotContinue }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('continue', () => {
      gotContinue = true;
      req.end(init.body);
    });
    const expects = Object.entries(init.headers ?? {}).some(([k, v]) => k.toLowerCase() === 'expect' && v === '100-continue');
    if (!expects) req.end(init.body);
    else req.flushHeaders();
  });
}

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // retry
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Moto {
  host: string;
  port: number;
  stop(): void;
  createBucket(name: string): Promise<void>;
}

/** moto from the test runner (OSP_TEST_MOTO_ENDPOINT) or our own `python3 -m moto.server`. */
export async function startMoto(): Promise<Moto> {
  let child: ChildProcess | undefined;
  let host = '127.0.0.1';
  let port: number;
  const endpoint = process.env.OSP_TEST_MOTO_ENDPOINT;
  if (endpoint) {
    const u = new URL(endpoint);
    host = u.hostname;
    port = Number(u.port || 80);
  } else {
    port = await freePort();
    child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    await waitFor(async () => (await raw(`http://127.0.0.1:${port}/`)).status === 200, 60_000, 'moto');
  }
  return {
    host,
    port,
    stop: () => child?.kill('SIGTERM'),
    async createBucket(name) {
      const r = await raw(`http://${host}:${port}/${name}`, { method: 'PUT' });
      if (r.status !== 200 && r.status !== 409) throw new Error(`moto create bucket ${name}: ${r.status}`);
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`.toLowerCase();
}

export function s3Client(endpoint: string, accessKeyId: string, secretAccessKey: string, requestHandler?: S3Client['config']['requestHandler']): S3Client {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: requestHandler ?? new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: false }) }),
  });
  return client;
}

/** Parses Prometheus text into `name{labels}` → value (labels in exposition order). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Value of one series; labels matched regardless of order. undefined when absent. */
export function metric(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const [key, value] of m) {
    const brace = key.indexOf('{');
    const n = brace === -1 ? key : key.slice(0, brace);
    if (n !== name) continue;
    const got: Record<string, string> = {};
    if (brace !== -1) for (const mm of key.slice(brace + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[mm[1] as string] = mm[2] as string;
    const want = Object.entries(labels);
    if (want.length === Object.keys(got).length && want.every(([k, v]) => got[k] === v)) return value;
  }
  return undefined;
}

/** Self-signed certificate for 127.0.0.1/localhost, made with openssl. */
export function makeCertificate(): { certPath: string; keyPath: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'osp-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath, dir };
}

export { waitFor };

/** PIDs of the workers that logged a finished request in `lines` (pino JSON) from index `from` on. */
export function requestPids(lines: readonly string[], from = 0): Set<number> {
  return new Set(
    lines
      .slice(from)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { pid: number; msg: string })
      .filter((l) => l.msg === 'request completed' || l.msg === 'request failed')
      .map((l) => l.pid),
  );
}
