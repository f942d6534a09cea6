/**
 * threads: 2 through the real CLI (ts-node): both workers serve (started with the young-generation
 * cap of node-flags.ts), metrics are summed over workers,
 * presigned usage limits hold exactly across workers, a killed worker is replaced, and SIGTERM
 * drains an in-flight 100 MB download without truncation before exiting 0.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { YOUNG_GENERATION_FLAG } from '../../lib/server/node-flags';
import { MAX_DELAY_MS } from '../../lib/server/log-destination';
import { freePort, metric, parseMetrics, raw, s3Client, requestPids, spawnTs, startMoto, uniqueName, waitFor, type Moto } from './server-helpers';

const AK = 'cluster-ak';
const SK = 'cluster-secret-key';
let moto: Moto;
let bucket: string;
let dir: string;
let child: ChildProcess;
let exit: Promise<number | null>;
let lines: string[] = [];
let httpUrl: string;
let metricsUrl: string;

const pidsOf = (from: number) => requestPids(lines, from);

beforeAll(async () => {
  moto = await startMoto();
  bucket = uniqueName('osp-cluster');
  await moto.createBucket(bucket);
  dir = mkdtempSync(join(tmpdir(), 'osp-cluster-'));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      threads: 2,
      httpPort: await freePort(),
      metricsPort: await freePort(),
      shutdownTimeoutMs: 60_000,
      maxPresignUrlUsageAttempts: 3,
      buckets: { [bucket]: { host: moto.host, port: moto.port, tls: false, addressingStyle: 'path', accessKey: 'b', secretKey: 'b' } },
      hmacKeystore: [{ accessKey: AK, secretKey: SK }],
    }),
  );
  const started = spawnTs('lib/server/cli.ts', ['--config', config]);
  child = started.child;
  exit = started.exit;
  lines = started.lines;
  await waitFor(async () => lines.some((l) => l.startsWith('osp listening:')), 90_000, 'the cluster to listen');
  const listening = lines.find((l) => l.startsWith('osp listening:'))!;
  httpUrl = /http=(\S+)/.exec(listening)![1]!;
  metricsUrl = /metrics=(\S+)/.exec(listening)![1]!;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('both workers serve, presigned limits are exact across them, metrics are summed', async () => {
  const client = s3Client(httpUrl, AK, SK);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'small.txt', Body: 'hello', ContentLength: 5 }));
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'small.txt' }), { expiresIn: 600 });
  const from = lines.length;
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await raw(url)).status); // fresh connection each: round-robin over workers
  expect(statuses).toEqual([200, 200, 200, 403, 403, 403]);
  for (let i = 0; i < 6; i++) await raw(`${httpUrl}/${bucket}/small.txt`);
  await waitFor(async () => pidsOf(from).size === 2, 5000, 'log lines of both workers');
  expect(pidsOf(from).has(child.pid!)).toBe(false);
  // Workers run with the young-generation cap (lib/server/node-flags.ts); the primary was started without it.
  for (const pid of pidsOf(from)) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(YOUNG_GENERATION_FLAG);

  const m = parseMetrics((await raw(`${metricsUrl}/metrics`)).body.toString());
  let total = 0;
  for (const [k, v] of m) if (k.startsWith('osp_requests_total{')) total += v;
  expect(total).toBe(13); // PUT + 6 presigned + 6 anonymous, summed over both workers
  expect(metric(m, 'osp_requests_total', { method: 'GET', bucket, status: '200' })).toBe(3);
  expect(metric(m, 'osp_requests_total', { method: 'GET', bucket, status: '403' })).toBe(9);
  expect(metric(m, 'osp_presigned_url_hits_total', { bucket })).toBe(3);
  expect(metric(m, 'osp_presigned_url_rejected_total', { bucket })).toBe(3);
  expect(metric(m, 'osp_signature_failures_total', { reason: 'AccessDenied' })).toBe(6);
  expect(metric(m, 'osp_build_info', { version: '0.1.0', node: process.version })).toBe(1);
  expect(metric(m, 'osp_transfer_bytes_total', { direction: 'rx', bucket })).toBe(5);
  expect((await raw(`${metricsUrl}/readyz`)).status).toBe(200);
  client.destroy();
});

test('a killed worker is replaced', async () => {
  const from = lines.length;
  for (let i = 0; i < 4; i++) await raw(`${httpUrl}/${bucket}/x`);
  await waitFor(async () => pidsOf(from).size === 2, 5000, 'both workers');
  const [victim] = [...pidsOf(from)];
  process.kill(victim!, 'SIGKILL');
  await waitFor(async () => lines.some((l) => l.includes('worker died; starting a replacement')), 10_000, 'the primary to notice');
  await waitFor(
    async () => {
      const before = lines.length;
      for (let i = 0; i < 4; i++) await raw(`${httpUrl}/${bucket}/x`);
      // Access-log lines go out in batches, up to MAX_DELAY_MS after their request.
      await new Promise((r) => setTimeout(r, MAX_DELAY_MS * 3));
      const pids = pidsOf(before);
      return pids.size === 2 && !pids.has(victim!);
    },
    60_000,
    'a replacement worker to serve',
  );
});

test('SIGTERM drains an in-flight 100 MB download, then exits 0', async () => {
  const size = 100 * 1024 * 1024;
  const put = await raw(`http://${moto.host}:${moto.port}/${bucket}/big.bin`, { method: 'PUT', body: Buffer.alloc(size, 7) });
  expect(put.status).toBe(200);
  const client = s3Client(httpUrl, AK, SK);
  const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }), { expiresIn: 600 }));
  client.destroy();
  let refusedWhileDraining: boolean | undefined;
  const result = await new Promise<{ bytes: number; complete: boolean; status: number }>((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, complete: res.complete, status: res.statusCode ?? 0 }));
      res.on('error', reject);
      res.pause();
      // Read slowly: SIGTERM arrives while most of the body is still to come.
      child.kill('SIGTERM');
      setTimeout(async () => {
        // no new connections are accepted while draining
        refusedWhileDraining = await raw(`${httpUrl}/${bucket}/x`).then(
          () => false,
          () => true,
        );
        res.resume();
      }, 1500);
    });
    req.on('error', reject);
  });
  expect(result).toEqual({ bytes: size, complete: true, status: 200 });
  expect(refusedWhileDraining).toBe(true);
  expect(await exit).toBe(0);
});
