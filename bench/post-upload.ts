/**
 * Streams a large file (default 512 MiB) through the proxy as a browser POST upload and prints
 * MB/s and the proxy's peak RSS, for both ways the file reaches the backend: chunked (a backend
 * profile that takes bodies of unknown length, `swift`) and spooled to a temporary file first
 * (`aws`, which needs Content-Length). Memory must stay flat whatever the size.
 *
 * Processes: a sink backend (hashes and discards uploads), the proxy, and this client, which
 * generates the multipart body without buffering it.
 *
 * Run: npm run bench:post   (BENCH_BYTES=… to change the size; BENCH_PROF=DIR writes the proxy's CPU profile)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import { ospMiddleware } from '../lib/osp-middleware';
import { getSigningKey, hmacHex } from '../lib/sigv4/signing-key';
import { formatAmzDate } from '../lib/sigv4/amz-date';

const BYTES = Number(process.env.BENCH_BYTES ?? 512 * 1024 ** 2);
const CLIENT = { accessKey: 'benchclient', secretKey: 'bench-client-secret-000000000000' };
const BLOCK = Buffer.alloc(1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');
const BOUNDARY = '----osp-bench-boundary';

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function runBackend(): Promise<void> {
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => res.writeHead(200, { etag: '"bench"', 'x-sha256': hash.digest('hex') }).end());
  });
  process.send?.({ port: await listen(server) });
}

async function runProxy(backendPort: number): Promise<void> {
  const app = express();
  const backend = { host: '127.0.0.1', port: backendPort, addressingStyle: 'path' as const, accessKey: 'backend', secretKey: 'backend-secret' };
  app.use(ospMiddleware({ buckets: { streamed: { ...backend, profile: 'swift' }, spooled: { ...backend, profile: 'aws' } }, hmacKeystore: [CLIENT] }));
  const port = await listen(http.createServer(app));
  // 'exit' ends the process normally, so that --cpu-prof (BENCH_PROF=dir) writes its profile.
  process.on('message', (m) => (m === 'exit' ? process.exit(0) : process.send?.({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })));
  process.send?.({ port });
}

function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const prof = process.env.BENCH_PROF && args[0] === 'proxy' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const proc = fork(__filename, args, { execArgv: ['-r', require.resolve('./register.js'), ...prof] });
  return new Promise((resolve) => proc.once('message', (m: { port: number }) => resolve({ proc, port: m.port })));
}

/** A SigV4-signed form for `bucket`, the way boto3 mints it. */
function formFields(bucket: string): Record<string, string> {
  const now = new Date();
  const amzDate = formatAmzDate(now);
  const credential = `${CLIENT.accessKey}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const policy = Buffer.from(
    JSON.stringify({
      expiration: new Date(now.getTime() + 600_000).toISOString(),
      conditions: [{ bucket }, { key: 'big.bin' }, ['content-length-range', 0, BYTES], { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
    }),
  ).toString('base64');
  const signature = hmacHex(getSigningKey(CLIENT.secretKey, amzDate.slice(0, 8), 'us-east-1', 's3'), policy);
  return { key: 'big.bin', 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-credential': credential, 'x-amz-date': amzDate, policy, 'x-amz-signature': signature };
}

/** The multipart body, produced lazily: the fields, then `BYTES` of the file, then the closing boundary. */
function body(fields: Record<string, string>): { stream: Readable; length: number } {
  let head = '';
  for (const [k, v] of Object.entries(fields)) head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${BOUNDARY}--\r\n`;
  let left = BYTES;
  let state: 'head' | 'file' | 'tail' | 'done' = 'head';
  const stream = new Readable({
    read() {
      if (state === 'head') {
        state = 'file';
        this.push(head);
      } else if (state === 'file') {
        if (left <= 0) {
          state = 'tail';
          return void this.push(tail);
        }
        const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        left -= chunk.length;
        this.push(chunk);
      } else if (state === 'tail') {
        state = 'done';
        this.push(null);
      }
    },
  });
  return { stream, length: Buffer.byteLength(head) + BYTES + Buffer.byteLength(tail) };
}

async function post(port: number, bucket: string): Promise<number> {
  const started = performance.now();
  const { stream, length } = body(formFields(bucket));
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: `/${bucket}`, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': length } },
      resolve,
    );
    req.on('error', reject);
    stream.pipe(req);
  });
  res.resume();
  await new Promise((r) => res.on('end', r));
  if (res.statusCode !== 204) throw new Error(`POST ${bucket}: ${res.statusCode}`);
  return (performance.now() - started) / 1000;
}

async function rss(proxy: ChildProcess): Promise<number> {
  return new Promise<number>((r) => {
    proxy.once('message', (m: { maxRssBytes: number }) => r(m.maxRssBytes));
    proxy.send('rss');
  });
}

async function main(): Promise<void> {
  const [role, arg] = process.argv.slice(2);
  if (role === 'backend') return runBackend();
  if (role === 'proxy') return runProxy(Number(arg));
  const backend = await child(['backend']);
  const proxy = await child(['proxy', String(backend.port)]);
  try {
    const before = await rss(proxy.proc);
    const mb = BYTES / 1e6;
    console.log(`file: ${(BYTES / 1024 ** 2).toFixed(0)} MiB posted as multipart/form-data through the proxy (sink backend)`);
    for (const bucket of ['streamed', 'spooled']) {
      const seconds = await post(proxy.port, bucket);
      console.log(`${bucket.padEnd(8)}: ${(mb / seconds).toFixed(0)} MB/s, proxy peak RSS ${((await rss(proxy.proc)) / 1024 ** 2).toFixed(0)} MiB (${(before / 1024 ** 2).toFixed(0)} MiB before)`);
    }
  } finally {
    proxy.proc.send('exit');
    backend.proc.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
