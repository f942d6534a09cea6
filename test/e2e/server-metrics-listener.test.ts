/**
 * The metrics listener's exposure (issue [1/5]): it listens on `metricsHost` (loopback by default,
 * whatever `host` is), `metricsBearerToken` / OSP_METRICS_TOKEN guards `/metrics` and
 * `/request-counts` (bucket names, object paths) while `/healthz` and `/readyz` stay open, and the
 * startup log line says where each listener listens and whether the token is required — never the
 * token. Single process (startServer in this process) and `threads: 2` through the CLI, where the
 * cluster primary serves the metrics port. The bound addresses are read from the kernel's socket
 * table (/proc/net/tcp of this network namespace).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from '../../lib/server';
import { lineSink } from '../helpers/log-lines';
import { raw, s3Client, spawnTs, startMoto, uniqueName, waitFor, type Moto } from './server-helpers';

const AK = 'metrics-listener-ak';
const SK = 'metrics-listener-secret';
const TOKEN = 'metrics-token-0123456789abcdef';

/** The IPv4 addresses a TCP socket of this namespace listens on at `port` (from /proc/net/tcp). */
function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (!local || state !== '0A') continue; // 0A: LISTEN
    const [hex, portHex] = local.split(':') as [string, string];
    if (parseInt(portHex, 16) !== port) continue;
    // Little-endian on x86: 0100007F is 127.0.0.1.
    out.push([3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.'));
  }
  return out;
}

interface LogLine {
  msg: string;
  level: number;
  listeners?: Record<string, { address: string; port: number; bearerToken?: string }>;
}
const parsed = (lines: readonly string[]): LogLine[] => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
const listeningLine = (lines: readonly string[]) => parsed(lines).find((l) => l.msg === 'object-storage-proxy listening');

/** Asserts the token guard of a metrics listener at `base`, and the open probes. */
async function expectTokenRequired(base: string, bucket: string): Promise<void> {
  for (const path of ['/metrics', '/request-counts']) {
    const none = await raw(`${base}${path}`);
    expect({ path, status: none.status, challenge: none.headers['www-authenticate'] }).toEqual({ path, status: 401, challenge: 'Bearer realm="osp-metrics"' });
    expect(none.body.toString()).not.toContain(bucket);
    const wrong = await raw(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect({ path, status: wrong.status, challenge: wrong.headers['www-authenticate'] }).toEqual({ path, status: 401, challenge: 'Bearer realm="osp-metrics", error="invalid_token"' });
    const basic = await raw(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    // Case and trailing-slash variants reach the same route: they need the token too.
    expect((await raw(`${base}${path.toUpperCase()}/`)).status).toBe(401);
    const ok = await raw(`${base}${path}`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect({ path, status: ok.status }).toEqual({ path, status: 200 });
    expect(ok.body.toString()).toContain(bucket);
  }
  expect((await raw(`${base}/healthz`)).status).toBe(200);
  expect((await raw(`${base}/readyz`)).status).toBe(200);
}

let moto: Moto;
let bucket: string;

beforeAll(async () => {
  moto = await startMoto();
  bucket = uniqueName('osp-metrics-listener');
  await moto.createBucket(bucket);
});
afterAll(() => moto?.stop());

const options = () => ({
  httpPort: 0,
  metricsPort: 0,
  enableRequestCounting: true,
  buckets: { [bucket]: { host: moto.host, port: moto.port, tls: false, addressingStyle: 'path' as const, accessKey: 'b', secretKey: 'b' } },
  hmacKeystore: [{ accessKey: AK, secretKey: SK }],
});

async function putOne(httpUrl: string): Promise<void> {
  const client = s3Client(httpUrl, AK, SK);
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'counted.txt', Body: 'x', ContentLength: 1 }));
  } finally {
    client.destroy();
  }
}

describe('single process', () => {
  const started: RunningServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.close();
  });

  test('default: S3 on host 0.0.0.0, metrics on 127.0.0.1 only, open (no token), and the log says so', async () => {
    const lines: string[] = [];
    const server = await startServer({ ...options(), host: '0.0.0.0' }, { logDestination: lineSink(lines) });
    started.push(server);
    expect(listeningAddresses(server.httpPort)).toEqual(['0.0.0.0']);
    expect(listeningAddresses(server.metricsPort!)).toEqual(['127.0.0.1']);
    expect(server.addresses.metrics).toBe(`http://127.0.0.1:${server.metricsPort}`);
    await putOne(server.addresses.http);
    expect((await raw(`${server.addresses.metrics}/metrics`)).status).toBe(200);
    expect((await raw(`${server.addresses.metrics}/request-counts`)).body.toString()).toContain(`/${bucket}/counted.txt`);
    expect(listeningLine(lines)?.listeners).toEqual({
      http: { address: '0.0.0.0', port: server.httpPort },
      metrics: { address: '127.0.0.1', port: server.metricsPort, bearerToken: 'none' },
    });
    expect(parsed(lines).filter((l) => l.level >= 40)).toEqual([]); // loopback without a token: no warning
  });

  test('metricsHost 0.0.0.0 with metricsBearerToken: bound there, 401 without the token, 200 with it, probes open', async () => {
    const lines: string[] = [];
    const server = await startServer({ ...options(), host: '127.0.0.1', metricsHost: '0.0.0.0', metricsBearerToken: TOKEN }, { logDestination: lineSink(lines) });
    started.push(server);
    expect(listeningAddresses(server.httpPort)).toEqual(['127.0.0.1']);
    expect(listeningAddresses(server.metricsPort!)).toEqual(['0.0.0.0']);
    await putOne(server.addresses.http);
    await expectTokenRequired(server.addresses.metrics!, bucket);
    expect(listeningLine(lines)?.listeners).toEqual({
      http: { address: '127.0.0.1', port: server.httpPort },
      metrics: { address: '0.0.0.0', port: server.metricsPort, bearerToken: 'required' },
    });
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  test('metricsHost 0.0.0.0 without a token: a warning in the log', async () => {
    const lines: string[] = [];
    const server = await startServer({ ...options(), host: '127.0.0.1', metricsHost: '0.0.0.0' }, { logDestination: lineSink(lines) });
    started.push(server);
    expect(listeningAddresses(server.metricsPort!)).toEqual(['0.0.0.0']);
    const warnings = parsed(lines).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg)).toEqual([expect.stringMatching(/metrics listener is reachable from other hosts without metricsBearerToken/)]);
  });
});

describe('threads: 2 (the cluster primary serves the metrics port), token from OSP_METRICS_TOKEN', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let exit: Promise<number | null>;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('metrics on 127.0.0.1 by default, token required on /metrics and /request-counts, the log line', async () => {
    dir = mkdtempSync(join(tmpdir(), 'osp-metrics-listener-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ ...options(), host: '0.0.0.0', threads: 2 }));
    const started = spawnTs('lib/server/cli.ts', ['--config', config], 'ignore', { OSP_METRICS_TOKEN: TOKEN });
    child = started.child;
    exit = started.exit;
    const { lines } = started;
    await waitFor(async () => lines.some((l) => l.startsWith('osp listening:')), 90_000, 'the cluster to listen');
    const listening = lines.find((l) => l.startsWith('osp listening:'))!;
    const httpUrl = /http=(\S+)/.exec(listening)![1]!;
    const metricsUrl = /metrics=(\S+)/.exec(listening)![1]!;
    await waitFor(async () => listeningLine(lines) !== undefined, 5000, 'the JSON log line'); // the log is written in batches
    const line = listeningLine(lines)!;
    const httpPort = Number(new URL(httpUrl).port);
    const metricsPort = Number(new URL(metricsUrl).port);
    expect(line.listeners).toEqual({ http: { address: '0.0.0.0', port: httpPort }, metrics: { address: '127.0.0.1', port: metricsPort, bearerToken: 'required' } });
    expect(listeningAddresses(metricsPort)).toEqual(['127.0.0.1']);
    expect(listeningAddresses(httpPort)).toEqual(['0.0.0.0']); // one socket, shared by the workers through the primary
    await putOne(httpUrl);
    await expectTokenRequired(metricsUrl, bucket);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});
