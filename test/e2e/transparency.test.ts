/**
 * Issue 10, "full transparency": requests sent the way clients and browsers send them get the same
 * answer through the proxy as from the backend itself — CORS preflights (unsigned, decided by the
 * bucket's CORS rules), `Expect` values other than 100-continue, and the `x-amz-copy-source` form.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { backend, backendClient, createTestBucket, type Backend, type BackendName } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { call, type Answer } from '../helpers/raw-http';

const CLIENT = { accessKey: 'transparency-client', secretKey: 'transparency-secret-0123456789' };
const ALLOWED = 'https://app.example.com';

/** Status, S3 error code and the CORS headers of an answer: what must be equal through the proxy. */
function corsView(a: Answer): Record<string, unknown> {
  const h = a.headers;
  return {
    status: a.status,
    code: a.code,
    allowOrigin: h['access-control-allow-origin'],
    allowMethods: h['access-control-allow-methods'],
    allowHeaders: h['access-control-allow-headers'],
    exposeHeaders: h['access-control-expose-headers'],
    maxAge: h['access-control-max-age'],
  };
}

/** Adds a header the SDK does not sign (`expect` is never signed) to every request of `client`. */
function withHeader(client: S3Client, name: string, value: string): S3Client {
  client.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers[name] = value;
      return next(args);
    },
    { step: 'finalizeRequest', name: `add-${name}` },
  );
  return client;
}

describe.each(['moto', 'rgw'] as BackendName[])('transparency against %s', (name) => {
  let be: Backend;
  let bucket: string;
  let plainBucket: string;
  let direct: S3Client;
  let proxy: RunningProxy;
  let viaProxy: S3Client;

  beforeAll(async () => {
    be = backend(name);
    bucket = await createTestBucket(`cors-${name}`, name);
    plainBucket = await createTestBucket(`nocors-${name}`, name);
    direct = backendClient(name);
    await direct.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: [ALLOWED], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 }] },
      }),
    );
    const cfg = { host: be.host, port: be.port, addressingStyle: 'path' as const, accessKey: be.accessKey, secretKey: be.secretKey };
    // authorize denies everything: a preflight must still reach the backend (it reads no data).
    proxy = await startProxy({ buckets: { [bucket]: cfg, [plainBucket]: cfg }, hmacKeystore: [CLIENT], authorize: (token) => token === CLIENT.accessKey });
    viaProxy = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj.txt', Body: 'hello' }));
  });
  afterAll(async () => {
    await proxy?.close();
    direct?.destroy();
    viaProxy?.destroy();
  });

  const preflight = (base: string, b: string, origin: string, method: string, headers: Record<string, string> = {}) =>
    call(`${base}/${b}/obj.txt`, 'OPTIONS', { origin, 'access-control-request-method': method, ...headers });

  it.each([
    ['allowed origin and method', ALLOWED, 'PUT', { 'access-control-request-headers': 'content-type,x-amz-meta-a' }],
    ['refused origin', 'https://evil.example.com', 'GET', {}],
    ['refused method', ALLOWED, 'DELETE', {}],
  ])('CORS preflight, %s: unsigned OPTIONS answered by the bucket rules, as directly', async (_label, origin, method, headers) => {
    const p = await preflight(proxy.endpoint, bucket, origin, method, headers);
    const d = await preflight(be.endpoint, bucket, origin, method, headers);
    expect(corsView(p)).toEqual(corsView(d));
    // moto's CORS differs from S3's (it refuses these preflights); RGW follows S3.
    if (name === 'moto') return;
    if (origin === ALLOWED && method === 'PUT') expect([p.status, p.headers['access-control-allow-origin']]).toEqual([200, ALLOWED]);
    else expect(p.status).toBe(403);
  });

  it('CORS preflight on a bucket without CORS rules: the backend answer, as directly', async () => {
    const p = await preflight(proxy.endpoint, plainBucket, ALLOWED, 'GET');
    const d = await preflight(be.endpoint, plainBucket, ALLOWED, 'GET');
    expect(corsView(p)).toEqual(corsView(d));
    if (name === 'rgw') expect(p.status).toBe(403);
  });

  it('an OPTIONS without Access-Control-Request-Method is no preflight and no S3 request: 400 InvalidArgument, as RGW and S3 answer', async () => {
    const p = await call(`${proxy.endpoint}/${bucket}/obj.txt`, 'OPTIONS', { origin: ALLOWED });
    expect([p.status, p.code]).toEqual([400, 'InvalidArgument']);
  });

  it('the actual cross-origin GET keeps the backend CORS headers', async () => {
    const read = async (client: S3Client) => {
      const c = withHeader(client, 'origin', ALLOWED);
      const out = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'cors-put.txt', Body: 'x' }));
      return out.$metadata.httpStatusCode;
    };
    expect(await read(viaProxy)).toBe(await read(backendClient(name)));
    const p = await call(`${proxy.endpoint}/${bucket}/obj.txt`, 'OPTIONS', { origin: ALLOWED, 'access-control-request-method': 'GET' });
    expect(p.headers['access-control-expose-headers']).toBe((await preflight(be.endpoint, bucket, ALLOWED, 'GET')).headers['access-control-expose-headers']);
  });

  it('ListBuckets: the backend CreationDate of each bucket and its owner DisplayName, as directly', async () => {
    const p = await viaProxy.send(new ListBucketsCommand({}));
    const d = await direct.send(new ListBucketsCommand({}));
    const dateOf = (out: typeof p, b: string) => out.Buckets?.find((x) => x.Name === b)?.CreationDate?.toISOString();
    expect(p.Buckets?.map((b) => b.Name).sort()).toEqual([bucket, plainBucket].sort());
    for (const b of [bucket, plainBucket]) {
      expect(dateOf(p, b)).toBe(dateOf(d, b));
      expect(dateOf(p, b)).not.toBe(new Date(0).toISOString());
    }
    expect(p.Owner?.DisplayName).toBe(d.Owner?.DisplayName);
  });

  it('CompleteMultipartUpload with x-amz-checksum-crc32 (composite, …-1): the backend decides, as directly', async () => {
    const complete = async (client: S3Client, key: string) => {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }));
      const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.from('only part'), ChecksumAlgorithm: 'CRC32' }));
      const composite = `${part.ChecksumCRC32 ?? 'AAAAAA=='}-1`;
      const status = await client
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            ChecksumCRC32: composite,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }] },
          }),
        )
        .then(
          (o) => o.$metadata.httpStatusCode,
          (e: { $metadata?: { httpStatusCode?: number }; name?: string }) => `${e.$metadata?.httpStatusCode} ${e.name}`,
        );
      const length = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
        (h) => h.ContentLength,
        () => undefined,
      );
      return { status, length };
    };
    const p = await complete(viaProxy, 'mpu-proxy.bin');
    const d = await complete(backendClient(name), 'mpu-direct.bin');
    expect(p).toEqual(d);
    expect(p).toEqual({ status: 200, length: 9 });
  });

  it('boto3 with a non-ASCII x-amz-meta-* value (UTF-8 bytes on the wire): stored as directly, same bytes', async () => {
    const put = async (endpoint: string, key: string, ak: string, sk: string) =>
      JSON.parse((await promisify(execFile)('python3', [path.join(__dirname, 'py', 'nonascii_meta.py'), endpoint, bucket, key, ak, sk], { timeout: 60_000 })).stdout.trim()) as Record<string, unknown>;
    const p = await put(proxy.endpoint, 'meta-proxy.txt', CLIENT.accessKey, CLIENT.secretKey);
    const d = await put(be.endpoint, 'meta-direct.txt', be.accessKey, be.secretKey);
    expect(p).toEqual(d);
    expect(p).toEqual({ put: 200, stored: Buffer.from('Hello World\u00e9', 'utf8').toString('hex') });
  });

  it('Expect other than 100-continue: the backend answers it, as directly (Node does not answer 417 first)', async () => {
    const put = async (client: S3Client) =>
      withHeader(client, 'expect', 'x-custom-expectation')
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'expect.txt', Body: 'expect body' }))
        .then(
          (o) => ({ status: o.$metadata.httpStatusCode }),
          (e: { $metadata?: { httpStatusCode?: number }; name?: string }) => ({ status: e.$metadata?.httpStatusCode, code: e.name }),
        );
    const p = await put(proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED' }));
    const d = await put(backendClient(name));
    expect(p).toEqual(d);
    expect(p).toEqual({ status: 200 });
  });
});

describe('x-amz-copy-source: forwarded in the form the client sent', () => {
  let server: http.Server;
  const seen: http.IncomingHttpHeaders[] = [];
  let proxy: RunningProxy;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<CopyObjectResult><ETag>"e"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const cfg = { host: '127.0.0.1', port, addressingStyle: 'path' as const, accessKey: 'BACKENDKEY', secretKey: 'backend-secret' };
    proxy = await startProxy({ buckets: { src: cfg, dst: cfg, alias: { ...cfg, backendBucket: 'real-bucket' } }, hmacKeystore: [CLIENT] });
  });
  afterAll(async () => {
    await proxy?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('a request with Expect: x-custom goes upstream re-signed with the backend key (Node would flush the client headers first)', async () => {
    const c = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    withHeader(c, 'expect', 'x-custom');
    seen.length = 0;
    await c.send(new PutObjectCommand({ Bucket: 'dst', Key: 'k', Body: 'abc' }));
    c.destroy();
    expect(seen[0]?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=BACKENDKEY\//);
    expect(seen[0]?.expect).toBeUndefined();
  });

  it.each([
    ['src/a%20b.txt', 'src/a%20b.txt'],
    ['/src/a%20b.txt', '/src/a%20b.txt'],
    ['src/k?versionId=1', 'src/k?versionId=1'],
    ['alias/k', 'real-bucket/k'],
  ])('%s → %s', async (sent, forwarded) => {
    const c = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    seen.length = 0;
    await c.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'copy', CopySource: sent }));
    c.destroy();
    expect(seen[0]?.['x-amz-copy-source']).toBe(forwarded);
  });
});
