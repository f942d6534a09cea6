/**
 * The core request path end to end: real clients → proxy (Express + ospMiddleware) → real S3
 * servers. Ceph RGW verifies SigV4, payload hashes and Content-MD5 strictly, so every passing
 * request there proves the re-signing; moto covers the wider API leniently.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { backend, type Backend, type BackendName } from '../helpers/backends';
import { loopbackLookup, proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';

const CLIENT = { accessKey: 'client-one', secretKey: 'client-one-secret-0123456789' };
const OTHER = { accessKey: 'client-two', secretKey: 'client-two-secret-0123456789' };

const AWKWARD_KEYS = [
  'plain.txt',
  'with space.txt',
  'plus+sign.txt',
  'parens(1).txt',
  'colon:tilde~.txt',
  'unicode-é-日本-😀.txt',
  'literal%2Fpercent.txt',
  'dir/sub dir/deep.txt',
  "quote'star*bang!.txt",
  'equals=and&amp.txt',
];

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  const body = out.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

const BACKENDS: BackendName[] = ['moto', 'rgw'];

describe.each(BACKENDS)('core proxy path against %s', (name) => {
  let be: Backend;
  const bucket = `core-${name}-${randomBytes(3).toString('hex')}`;
  let direct: S3Client;
  let proxy: RunningProxy;
  let client: S3Client;

  beforeAll(async () => {
    be = backend(name);
    direct = new S3Client({ endpoint: be.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: be.accessKey, secretAccessKey: be.secretKey }, maxAttempts: 1 });
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    proxy = await startProxy(
      {
        buckets: {
          [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey },
          // The same backend bucket under another client-facing name, addressed virtual-hosted.
          [`alias-${name}`]: { host: 's3.localhost', port: be.port, addressingStyle: 'virtual', backendBucket: bucket, accessKey: be.accessKey, secretKey: be.secretKey },
          'not-allowed': { host: be.host, port: be.port, addressingStyle: 'path', backendBucket: bucket, accessKey: be.accessKey, secretKey: be.secretKey },
        },
        hmacKeystore: [
          { accessKey: CLIENT.accessKey, secretKey: CLIENT.secretKey, buckets: [bucket, `alias-${name}`] },
          { accessKey: OTHER.accessKey, secretKey: OTHER.secretKey },
        ],
        virtualHostDomains: ['s3.proxy.test'],
        upstreamLookup: loopbackLookup,
      },
      { mountPath: '/s3' },
    );
    client = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
  });

  afterAll(async () => {
    await proxy?.close();
    client?.destroy();
    direct?.destroy();
  });

  it('put, get, head and delete an object with user metadata', async () => {
    const body = Buffer.from('hello through the proxy');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta.txt', Body: body, ContentType: 'text/plain', Metadata: { owner: 'alice', note: 'two  spaces' } }));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta.txt' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.Metadata).toMatchObject({ owner: 'alice' });
    expect(head.ContentType).toBe('text/plain');
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta.txt' }));
    expect((await bodyOf(got)).equals(body)).toBe(true);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'meta.txt' }));
    await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('empty and 3 MiB objects round-trip byte-identical', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 7);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: big }));
    expect((await bodyOf(await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' })))).length).toBe(0);
    const got = await bodyOf(await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' })));
    expect(sha256(got)).toBe(sha256(big));
    // What the backend stored is what the client sent.
    expect(sha256(await bodyOf(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }))))).toBe(sha256(big));
  });

  it('awkward keys round-trip and list back unchanged', async () => {
    for (const key of AWKWARD_KEYS) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `awk/${key}`, Body: Buffer.from(key) }));
    }
    for (const key of AWKWARD_KEYS) {
      const got = await bodyOf(await client.send(new GetObjectCommand({ Bucket: bucket, Key: `awk/${key}` })));
      expect(got.toString()).toBe(key);
      // Stored under exactly that key on the backend.
      await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: `awk/${key}` }));
    }
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'awk/' }));
    expect((listed.Contents ?? []).map((c) => c.Key).sort()).toEqual(AWKWARD_KEYS.map((k) => `awk/${k}`).sort());
  });

  it('ListObjectsV2 with prefix, delimiter and pagination', async () => {
    for (const k of ['p/a/1', 'p/a/2', 'p/b/1', 'p/c', 'p/d', 'p/e']) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: Buffer.from(k) }));
    }
    const grouped = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'p/', Delimiter: '/' }));
    expect((grouped.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(['p/a/', 'p/b/']);
    expect((grouped.Contents ?? []).map((c) => c.Key)).toEqual(['p/c', 'p/d', 'p/e']);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'p/', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(['p/a/1', 'p/a/2', 'p/b/1', 'p/c', 'p/d', 'p/e']);
  });

  it('range and conditional GETs', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'range.txt', Body: Buffer.from('0123456789') }));
    const part = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range: 'bytes=2-5' }));
    expect((await bodyOf(part)).toString()).toBe('2345');
    expect(part.ContentRange).toBe('bytes 2-5/10');
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'range.txt' }));
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', IfMatch: '"0000"' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', IfNoneMatch: head.ETag }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
  });

  it('CopyObject with metadata REPLACE and tagging directive behaves as when sent directly', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'src.txt', Body: Buffer.from('copy me'), Metadata: { a: '1' }, Tagging: 't=1' }));
    expect((await direct.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'src.txt' }))).TagSet).toEqual([{ Key: 't', Value: '1' }]);
    const copy = { CopySource: `${bucket}/src.txt`, MetadataDirective: 'REPLACE' as const, Metadata: { b: '2' }, TaggingDirective: 'REPLACE' as const, Tagging: 't=2' };
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst.txt', ...copy }));
    await direct.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-direct.txt', ...copy }));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst.txt' }));
    expect(head.Metadata).toEqual({ b: '2' });
    const viaProxy = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'dst.txt' }));
    const directly = await direct.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'dst-direct.txt' }));
    // Backends differ (moto applies REPLACE; RGW 16 does its own thing): the proxy must not change the outcome.
    expect(viaProxy.TagSet).toEqual(directly.TagSet);
    if (name === 'moto') expect(viaProxy.TagSet).toEqual([{ Key: 't', Value: '2' }]);
    expect((await bodyOf(await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'dst.txt' })))).toString()).toBe('copy me');
  });

  it('DeleteObjects removes several keys', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'del/1', Body: Buffer.from('1') }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'del/2', Body: Buffer.from('2') }));
    const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'del/1' }, { Key: 'del/2' }] } }));
    expect((out.Deleted ?? []).length).toBe(2);
    const left = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'del/' }));
    expect(left.KeyCount).toBe(0);
  });

  it('virtual-hosted frontend requests and a virtual-hosted backend with another bucket name', async () => {
    const vclient = proxyClient(`http://s3.proxy.test:${proxy.port}/s3`, CLIENT.accessKey, CLIENT.secretKey, { forcePathStyle: false });
    await vclient.send(new PutObjectCommand({ Bucket: `alias-${name}`, Key: 'v/hosted.txt', Body: Buffer.from('vh') }));
    // Stored in the real backend bucket behind the alias.
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'v/hosted.txt' }));
    expect((await bodyOf(got)).toString()).toBe('vh');
    const listed = await vclient.send(new ListObjectsV2Command({ Bucket: `alias-${name}`, Prefix: 'v/' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['v/hosted.txt']);
    vclient.destroy();
  });

  it('ListBuckets shows only the buckets the caller may use', async () => {
    const mine = await client.send(new ListBucketsCommand({}));
    expect((mine.Buckets ?? []).map((b) => b.Name).sort()).toEqual([`alias-${name}`, bucket].sort());
    const other = proxyClient(proxy.endpoint, OTHER.accessKey, OTHER.secretKey);
    const theirs = await other.send(new ListBucketsCommand({}));
    expect((theirs.Buckets ?? []).length).toBe(3);
    other.destroy();
  });

  it('a bucket outside the key policy is denied and nothing reaches the backend', async () => {
    await expect(client.send(new PutObjectCommand({ Bucket: 'not-allowed', Key: 'denied.txt', Body: Buffer.from('x') }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'denied.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('unknown bucket → NoSuchBucket (for a key whose policy does not hide it)', async () => {
    const other = proxyClient(proxy.endpoint, OTHER.accessKey, OTHER.secretKey);
    await expect(other.send(new GetObjectCommand({ Bucket: 'nope-not-configured', Key: 'k' }))).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    other.destroy();
  });

  it.each([
    ['wrong secret', { accessKeyId: CLIENT.accessKey, secretAccessKey: 'wrong-secret' }, 'SignatureDoesNotMatch', 403],
    ['unknown key', { accessKeyId: 'nobody', secretAccessKey: 'whatever' }, 'InvalidAccessKeyId', 403],
  ])('%s → %s and nothing stored', async (_label, credentials, code, status) => {
    const key = `rejected-${code}`;
    const bad = proxyClient(proxy.endpoint, credentials.accessKeyId, credentials.secretAccessKey);
    await expect(bad.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('x') }))).rejects.toMatchObject({ name: code, $metadata: { httpStatusCode: status } });
    await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    bad.destroy();
  });

  it('a skewed clock → RequestTimeTooSkewed', async () => {
    const skewed = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { systemClockOffset: -20 * 60 * 1000 });
    // maxAttempts is 1, so the SDK does not retry (it would correct its clock from the error).
    await expect(skewed.send(new GetObjectCommand({ Bucket: bucket, Key: 'anything' }))).rejects.toMatchObject({ name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403 } });
    skewed.destroy();
  });

  it('a header tampered with after signing → SignatureDoesNotMatch, nothing stored', async () => {
    const tampering = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-amz-meta-owner'] = 'mallory';
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamperAfterSigning' },
    );
    await expect(tampering.send(new PutObjectCommand({ Bucket: bucket, Key: 'tampered.txt', Body: Buffer.from('x'), Metadata: { owner: 'alice' } }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tampered.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    tampering.destroy();
  });

  it('Expect: 100-continue with a bad signature is refused before the body is sent', async () => {
    const url = new URL(proxy.endpoint);
    const result = await new Promise<{ status: number; gotContinue: boolean; body: string }>((resolve, reject) => {
      let gotContinue = false;
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: `/s3/${bucket}/expect.txt`,
        headers: {
          expect: '100-continue',
          'content-length': '5',
          'x-amz-date': new Date()
            .toISOString()
            .replace(/[-:]/g, '')
            .replace(/\.\d{3}/, ''),
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          authorization: `AWS4-HMAC-SHA256 Credential=${CLIENT.accessKey}/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
        },
      });
      req.on('continue', () => {
        gotContinue = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, gotContinue, body }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(result.gotContinue).toBe(false);
    expect(result.status).toBe(403);
    expect(result.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(result.body).toMatch(/<RequestId>[0-9A-F]+<\/RequestId>/);
  });

  it('Expect: 100-continue upload with a good signature is re-signed and stored', async () => {
    const body = randomBytes(256 * 1024);
    const expecting = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    expecting.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['expect'] = '100-continue';
        return next(args);
      },
      { step: 'build', name: 'forceExpectContinue' },
    );
    await expecting.send(new PutObjectCommand({ Bucket: bucket, Key: 'expect-ok.bin', Body: body }));
    const stored = await bodyOf(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'expect-ok.bin' })));
    expect(sha256(stored)).toBe(sha256(body));
    expecting.destroy();
  });
});
