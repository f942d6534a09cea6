/**
 * HTTPS listener: HTTP/2 (ALPN h2) through the bridge and HTTP/1.1 (ALPN http/1.1) on one port;
 * SigV4 signed over h2 (host = :authority) verifies; curl --http2; certificate reload.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startServer, type RunningServer } from '../../lib/server';
import { makeCertificate, metric, parseMetrics, raw, s3Client, startMoto, uniqueName, type Moto } from './server-helpers';

const AK = 'h2-ak';
const SK = 'h2-secret-key-never-logged';
const curlHasHttp2 = /HTTP2/.test(execFileSync('curl', ['-V']).toString());

let moto: Moto;
let server: RunningServer;
let bucket: string;
let cert: ReturnType<typeof makeCertificate>;
const logs: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  bucket = uniqueName('osp-h2');
  await moto.createBucket(bucket);
  cert = makeCertificate();
  server = await startServer(
    {
      host: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      metricsPort: 0,
      tlsCertPath: cert.certPath,
      tlsKeyPath: cert.keyPath,
      buckets: { [bucket]: { host: moto.host, port: moto.port, tls: false, addressingStyle: 'path', accessKey: 'b', secretKey: 'b' } },
      hmacKeystore: [{ accessKey: AK, secretKey: SK }],
    },
    { logDestination: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(...c.toString().split('\n').filter(Boolean)), cb()) }) },
  );
});

afterAll(async () => {
  await server?.close();
  moto?.stop();
  if (cert) rmSync(cert.dir, { recursive: true, force: true });
});

/** Runs aws-sdk with NodeHttp2Handler in a child process that trusts the test certificate (NODE_EXTRA_CA_CERTS). */
async function sdkOverH2(secret: string, steps: string): Promise<{ ok: boolean; out: unknown }> {
  const script = `
    const { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');
    const { NodeHttp2Handler } = require('@smithy/node-http-handler');
    const endpoint = ${JSON.stringify(server.addresses.https)};
    const c = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: ${JSON.stringify(AK)}, secretAccessKey: ${JSON.stringify(secret)} },
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttp2Handler({}) });
    const B = ${JSON.stringify(bucket)};
    (async () => { const out = {}; ${steps}; c.destroy(); process.stdout.write(JSON.stringify(out)); })()
      .catch((e) => { process.stdout.write(JSON.stringify({ error: e.name || String(e) })); process.exitCode = 3; });`;
  try {
    // async: the server under test runs in this process's event loop
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert.certPath, NODE_NO_WARNINGS: '1' },
      timeout: 60_000,
    });
    return { ok: true, out: JSON.parse(stdout) };
  } catch (err) {
    return { ok: false, out: JSON.parse(String((err as { stdout?: string }).stdout ?? '') || '{}') };
  }
}

test('aws-sdk over HTTP/2: header-signed PUT, GET, LIST verify and stream', async () => {
  const r = await sdkOverH2(
    SK,
    `
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
    await c.send(new PutObjectCommand({ Bucket: B, Key: 'dir/big.bin', Body: body, ContentLength: body.length }));
    const got = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: B, Key: 'dir/big.bin' }))).Body.transformToByteArray());
    out.same = got.equals(body);
    out.keys = (await c.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'dir/' }))).Contents.map((x) => x.Key);
    await c.send(new PutObjectCommand({ Bucket: B, Key: 'curl.txt', Body: 'from h2', ContentLength: 7 }));`,
  );
  expect(r).toEqual({ ok: true, out: { same: true, keys: ['dir/big.bin'] } });
  // the requests really were HTTP/2: the access log says so
  const h2lines = logs.map((l) => JSON.parse(l)).filter((l) => l.req?.httpVersion === '2.0');
  expect(h2lines.length).toBe(4);
  expect(h2lines.every((l) => l.req.tls === true && l.req.remoteAddress === '127.0.0.1' && l.status === 200)).toBe(true);
  // a wrong secret over h2 is still rejected
  const bad = await sdkOverH2('wrong', `await c.send(new GetObjectCommand({ Bucket: B, Key: 'dir/big.bin' }));`);
  expect(bad).toEqual({ ok: false, out: { error: 'SignatureDoesNotMatch' } });
});

(curlHasHttp2 ? test : test.skip)('curl --http2 and --http1.1 on the same HTTPS port; HSTS on https only', async () => {
  const signer = s3Client(server.addresses.https!, AK, SK);
  const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'curl.txt' }), { expiresIn: 600 });
  const url2 = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'curl.txt' }), { expiresIn: 601 });
  const dir = cert.dir;
  const curl = async (args: string[]) => (await promisify(execFile)('curl', args)).stdout;
  const run = async (flag: string, u: string) => {
    const headers = join(dir, `h${flag}`);
    const out = await curl(['-sk', flag, '-D', headers, '-w', '\n%{http_version} %{http_code}', u]);
    return { out, headers: readFileSync(headers, 'utf8').toLowerCase() };
  };
  const h2 = await run('--http2', url);
  expect(h2.out).toBe('from h2\n2 200');
  expect(h2.headers).toContain('strict-transport-security: max-age=31536000');
  expect(h2.headers).toContain('x-content-type-options: nosniff');
  expect(h2.headers).not.toMatch(/^(connection|transfer-encoding|keep-alive):/m);
  const h1 = await run('--http1.1', url2);
  expect(h1.out).toBe('from h2\n1.1 200');
  expect(h1.headers).toContain('strict-transport-security');
  const plain = await raw(`${server.addresses.http}/${bucket}/curl.txt`);
  expect(plain.headers['strict-transport-security']).toBeUndefined();
  // h2 + Expect: 100-continue with a bad signature: rejected, nothing stored
  const upload = join(dir, 'up.txt');
  writeFileSync(upload, 'should not arrive');
  const badPut = await curl([
    '-sk',
    '--http2',
    '-T',
    upload,
    '-H',
    'Expect: 100-continue',
    '-w',
    '\n%{http_code}',
    `${server.addresses.https}/${bucket}/nope.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${AK}%2F20200101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20200101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`,
  ]);
  expect(badPut.endsWith('403')).toBe(true);
  expect((await raw(`http://${moto.host}:${moto.port}/${bucket}/nope.txt`)).status).toBe(404);
});

test('metrics count h2 traffic once, and h2 connections as client connections', async () => {
  const m = parseMetrics((await raw(`${server.addresses.metrics}/metrics`)).body.toString());
  const rx = metric(m, 'osp_transfer_bytes_total', { direction: 'rx', bucket }) ?? 0;
  expect(rx).toBe(3 * 1024 * 1024 + 17 + 7);
  expect(metric(m, 'osp_requests_total', { method: 'PUT', bucket, status: '200' })).toBe(2); // once each, not twice (bridge)
});

test('certificate reload swaps the served certificate', async () => {
  const before = await peerFingerprint(server.httpsPort!);
  const next = makeCertificate();
  writeFileSync(cert.certPath, readFileSync(next.certPath));
  writeFileSync(cert.keyPath, readFileSync(next.keyPath));
  rmSync(next.dir, { recursive: true, force: true });
  await server.reloadCertificates();
  const after = await peerFingerprint(server.httpsPort!);
  expect(after).not.toBe(before);
});

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}
