/**
 * Presigned URLs end to end: URLs minted by the JS SDK (getSignedUrl), boto3 and aws-cli against
 * the proxy, which verifies the SigV4 query, strips the X-Amz-* auth parameters, re-signs with the
 * backend credentials and counts uses. Ceph RGW verifies the proxy's signature strictly, so every
 * success there proves the stripping and re-signing; moto covers the API leniently. A small
 * recording backend (a local HTTP server) shows exactly what the proxy forwards and lets a test
 * choose the backend's status.
 *
 * Requests go out through node:http with the URL's path and query sent byte for byte (no WHATWG
 * URL normalisation), so tests can reorder or re-encode the query on purpose.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { backend, backendClient, createTestBucket, type Backend, type BackendName } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { ospMiddleware } from '../../lib/osp-middleware';
import { call, type Answer } from '../helpers/raw-http';

const run = promisify(execFile);
const CLIENT = { accessKey: 'presign-client', secretKey: 'presign-client-secret-0123456789' };

/** Replaces the raw value of query parameter `name` (as written in the URL). */
function setParam(url: string, name: string, rawValue: string): string {
  const re = new RegExp(`([?&])${name}=[^&]*`);
  if (!re.test(url)) throw new Error(`${name} not in ${url}`);
  return url.replace(re, `$1${name}=${rawValue}`);
}

/** The same URL with its query parameters in reverse order. */
function reorderQuery(url: string): string {
  const q = url.indexOf('?');
  return (
    url.slice(0, q + 1) +
    url
      .slice(q + 1)
      .split('&')
      .reverse()
      .join('&')
  );
}

/** The same URL, differently percent-encoded (`-` as `%2D`, lowercase hex): the canonical query is unchanged. */
function reencodeQuery(url: string): string {
  const q = url.indexOf('?');
  const query = url
    .slice(q + 1)
    .replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4%2DHMAC%2DSHA256')
    .replace(/X-Amz-Credential=[^&]*/, (m) => m.replace(/%2F/g, '%2f'));
  if (query === url.slice(q + 1)) throw new Error('nothing re-encoded');
  return url.slice(0, q + 1) + query;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  const body = out.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

describe.each(['moto', 'rgw'] as BackendName[])('presigned URLs against %s', (name) => {
  let be: Backend;
  let bucket: string;
  let direct: S3Client;
  let proxy: RunningProxy;
  /** A signer with the SDK's defaults (adds x-amz-checksum-* to PutObject/UploadPart URLs). */
  let signer: S3Client;
  /** A signer that adds checksums only when required (no x-amz-checksum-crc32 in PUT URLs). */
  let plain: S3Client;
  let dir: string;

  beforeAll(async () => {
    be = backend(name);
    bucket = await createTestBucket(`presign-${name}`, name);
    direct = backendClient(name);
    proxy = await startProxy(
      {
        buckets: { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey } },
        hmacKeystore: [CLIENT],
        maxPresignUrlUsageAttempts: 3,
      },
      { mountPath: '/s3' },
    );
    signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    plain = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    dir = mkdtempSync(path.join(tmpdir(), 'osp-presign-'));
  });

  afterAll(async () => {
    await proxy?.close();
    signer?.destroy();
    plain?.destroy();
    direct?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const put = (key: string, body: string | Buffer) => direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
  const existsDirectly = (key: string) =>
    direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (e: { $metadata?: { httpStatusCode?: number } }) => {
        if (e.$metadata?.httpStatusCode === 404) return false;
        throw e;
      },
    );

  it('JS SDK: presigned PUT, GET, HEAD and DELETE of an awkward key', async () => {
    const key = 'js/with space+plus é.txt';
    const body = randomBytes(64 * 1024 + 3);
    const putUrl = await getSignedUrl(plain, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    expect(putUrl).not.toContain('x-amz-checksum');
    expect((await call(putUrl, 'PUT', {}, body)).status).toBe(200);
    expect(sha256(await bodyOf(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))))).toBe(sha256(body));

    const got = await call(await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }));
    expect(got.status).toBe(200);
    expect(sha256(got.body)).toBe(sha256(body));

    const head = await call(await getSignedUrl(signer, new HeadObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }), 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(body.length));

    const del = await call(await getSignedUrl(signer, new DeleteObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }), 'DELETE');
    expect(del.status).toBe(204);
    expect(await existsDirectly(key)).toBe(false);
  });

  it('the method is signed: a GET URL used for HEAD (or PUT) → SignatureDoesNotMatch; HEAD-then-GET needs two URLs', async () => {
    await put('method.txt', 'm');
    const getUrl = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'method.txt' }), { expiresIn: 300 });
    const asHead = await call(getUrl, 'HEAD');
    expect(asHead.status).toBe(403); // HEAD answers carry no body; the status is what the client sees
    const asPut = await call(getUrl, 'PUT', {}, Buffer.from('overwrite'));
    expect([asPut.status, asPut.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect((await bodyOf(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'method.txt' })))).toString()).toBe('m');
    expect((await call(getUrl)).status).toBe(200);
  });

  it('JS SDK default PUT URL (x-amz-checksum-crc32 of an EMPTY body in the query): the proxy forwards it and the backend decides, exactly as without the proxy', async () => {
    const viaProxyUrl = await getSignedUrl(signer, new PutObjectCommand({ Bucket: bucket, Key: 'crc/proxy.txt' }), { expiresIn: 300 });
    expect(viaProxyUrl).toContain('x-amz-checksum-crc32=AAAAAA%3D%3D');
    const directSigner = backendClient(name, undefined, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const directUrl = await getSignedUrl(directSigner, new PutObjectCommand({ Bucket: bucket, Key: 'crc/direct.txt' }), { expiresIn: 300 });
    directSigner.destroy();
    expect(directUrl).toContain('x-amz-checksum-crc32=AAAAAA%3D%3D');
    const body = Buffer.from('not empty, so the crc32 in the query is wrong');
    const viaProxy = await call(viaProxyUrl, 'PUT', {}, body);
    const directly = await call(directUrl, 'PUT', {}, body);
    // Whatever the backend does with the mismatching checksum parameter, the proxy does not change it.
    expect([viaProxy.status, viaProxy.code]).toEqual([directly.status, directly.code]);
    expect(await existsDirectly('crc/proxy.txt')).toBe(await existsDirectly('crc/direct.txt'));
    // An empty body matches the signed checksum and works everywhere.
    const emptyUrl = await getSignedUrl(signer, new PutObjectCommand({ Bucket: bucket, Key: 'crc/empty.txt' }), { expiresIn: 300 });
    expect((await call(emptyUrl, 'PUT', {}, Buffer.alloc(0))).status).toBe(200);
    expect(await existsDirectly('crc/empty.txt')).toBe(true);
    // Recorded for the report and docs/presigned.md.
    console.log(`[presigned/${name}] SDK-default PUT URL with a non-empty body: proxy ${viaProxy.status} ${viaProxy.code ?? ''}, direct ${directly.status} ${directly.code ?? ''}`);
  });

  it('every signed header is checked: content-type and x-amz-meta-* in X-Amz-SignedHeaders', async () => {
    const url = await getSignedUrl(plain, new PutObjectCommand({ Bucket: bucket, Key: 'hdr.txt', ContentType: 'text/x-signed', Metadata: { owner: 'alice' } }), {
      expiresIn: 300,
      signableHeaders: new Set(['content-type']),
      unhoistableHeaders: new Set(['x-amz-meta-owner']),
    });
    const signed = decodeURIComponent(/X-Amz-SignedHeaders=([^&]*)/.exec(url)?.[1] ?? '');
    expect(signed.split(';')).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-meta-owner']));
    const body = Buffer.from('signed headers');
    const wrongType = await call(url, 'PUT', { 'content-type': 'text/plain', 'x-amz-meta-owner': 'alice' }, body);
    expect([wrongType.status, wrongType.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const wrongMeta = await call(url, 'PUT', { 'content-type': 'text/x-signed', 'x-amz-meta-owner': 'mallory' }, body);
    expect([wrongMeta.status, wrongMeta.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const missingMeta = await call(url, 'PUT', { 'content-type': 'text/x-signed' }, body);
    expect([missingMeta.status, missingMeta.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await existsDirectly('hdr.txt')).toBe(false);
    // Five failed attempts burnt nothing: the URL still has its 3 uses.
    for (let i = 0; i < 3; i++) {
      expect((await call(url, 'PUT', { 'content-type': 'text/x-signed', 'x-amz-meta-owner': 'alice' }, body)).status).toBe(200);
    }
    const fourth = await call(url, 'PUT', { 'content-type': 'text/x-signed', 'x-amz-meta-owner': 'alice' }, body);
    expect([fourth.status, fourth.code]).toEqual([403, 'AccessDenied']);
    const head = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'hdr.txt' }));
    expect(head.ContentType).toBe('text/x-signed');
    expect(head.Metadata).toEqual({ owner: 'alice' });
  });

  it('response-* overrides are signed and pass through: the response is what the backend gives for them directly', async () => {
    await put('resp.txt', 'override me');
    const overrides = { Bucket: bucket, Key: 'resp.txt', ResponseContentType: 'application/x-custom', ResponseContentDisposition: 'attachment; filename="a b.txt"', ResponseCacheControl: 'no-store' };
    const url = await getSignedUrl(signer, new GetObjectCommand(overrides), { expiresIn: 300 });
    expect(url).toContain('response-content-disposition=');
    const got = await call(url);
    expect([got.status, got.body.toString()]).toEqual([200, 'override me']);
    const directSigner = backendClient(name);
    const directly = await call(await getSignedUrl(directSigner, new GetObjectCommand(overrides), { expiresIn: 300 }));
    directSigner.destroy();
    const pick = (a: Answer) => [a.headers['content-type'], a.headers['content-disposition'], a.headers['cache-control']];
    expect(pick(got)).toEqual(pick(directly));
    // RGW honours the overrides; moto 5.2 ignores response-* parameters altogether (also without the proxy).
    if (name === 'rgw') expect(pick(got)).toEqual(['application/x-custom', 'attachment; filename="a b.txt"', 'no-store']);
    const tampered = await call(setParam(url, 'response-content-type', 'text%2Fhtml'));
    expect([tampered.status, tampered.code]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('multipart upload entirely through presigned URLs; uploadId and partNumber are verified', async () => {
    const key = 'mp/big object.bin';
    const part1 = randomBytes(5 * 1024 * 1024 + 17);
    const part2 = randomBytes(1000);
    const created = await call(await getSignedUrl(plain, new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }), 'POST');
    expect(created.status).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString())?.[1] as string;
    expect(uploadId).toBeTruthy();

    const partUrl = (n: number, id = uploadId) => getSignedUrl(plain, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: id, PartNumber: n }), { expiresIn: 300 });
    const url1 = await partUrl(1);
    // uploadId and partNumber are signed: changing either breaks the signature.
    const otherId = await call(setParam(url1, 'uploadId', encodeURIComponent(uploadId + 'x')), 'PUT', {}, part2);
    expect([otherId.status, otherId.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const otherPart = await call(setParam(url1, 'partNumber', '2'), 'PUT', {}, part2);
    expect([otherPart.status, otherPart.code]).toEqual([403, 'SignatureDoesNotMatch']);

    const up1 = await call(url1, 'PUT', {}, part1);
    const up2 = await call(await partUrl(2), 'PUT', {}, part2);
    expect([up1.status, up2.status]).toEqual([200, 200]);
    const etags = [up1.headers.etag, up2.headers.etag] as string[];
    expect(etags.every(Boolean)).toBe(true);

    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const completeUrl = await getSignedUrl(plain, new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), { expiresIn: 300 });
    const done = await call(completeUrl, 'POST', { 'content-type': 'application/xml' }, Buffer.from(xml));
    expect(done.status).toBe(200);
    expect(done.body.toString()).not.toContain('<Error>');
    const stored = await bodyOf(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    expect(sha256(stored)).toBe(sha256(Buffer.concat([part1, part2])));

    // AbortMultipartUpload (presigned DELETE ?uploadId) of a second upload.
    const second = await direct.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/aborted' }));
    const aborted = await call(await getSignedUrl(plain, new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp/aborted', UploadId: second.UploadId }), { expiresIn: 300 }), 'DELETE');
    expect(aborted.status).toBe(204);
    const left = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'mp/aborted' }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  it('expiry: X-Amz-Expires 1..604800, expired → 403 "Request has expired", X-Amz-Date in the future → RequestTimeTooSkewed', async () => {
    await put('exp.txt', 'e');
    const cmd = () => new GetObjectCommand({ Bucket: bucket, Key: 'exp.txt' });
    expect((await call(await getSignedUrl(signer, cmd(), { expiresIn: 604800 }))).status).toBe(200);
    const expired = await call(await getSignedUrl(signer, cmd(), { expiresIn: 60, signingDate: new Date(Date.now() - 10 * 60_000) }));
    expect([expired.status, expired.code, expired.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
    const future = await call(await getSignedUrl(signer, cmd(), { expiresIn: 3600, signingDate: new Date(Date.now() + 20 * 60_000) }));
    expect([future.status, future.code]).toEqual([403, 'RequestTimeTooSkewed']);
    // Within the 15-minute skew a slightly-ahead client clock is fine.
    expect((await call(await getSignedUrl(signer, cmd(), { expiresIn: 3600, signingDate: new Date(Date.now() + 60_000) }))).status).toBe(200);

    const url = await getSignedUrl(signer, cmd(), { expiresIn: 300 });
    for (const bad of ['604801', '0', '-5', 'abc']) {
      const r = await call(setParam(url, 'X-Amz-Expires', bad));
      expect([bad, r.status, r.code]).toEqual([bad, 400, 'AuthorizationQueryParametersError']);
    }
    // A short real expiry: valid now, expired two seconds later.
    const short = await getSignedUrl(signer, cmd(), { expiresIn: 1 });
    expect((await call(short)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    const late = await call(short);
    expect([late.status, late.code, late.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
  });

  it('unknown key → InvalidAccessKeyId, wrong secret and tampered parameters → SignatureDoesNotMatch; nothing stored', async () => {
    const stranger = proxyClient(proxy.endpoint, 'nobody-knows-me', 'whatever-secret', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    const wrong = proxyClient(proxy.endpoint, CLIENT.accessKey, 'not-the-secret', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    const body = Buffer.from('x');
    const unknown = await call(await getSignedUrl(stranger, new PutObjectCommand({ Bucket: bucket, Key: 'bad/unknown' }), { expiresIn: 300 }), 'PUT', {}, body);
    expect([unknown.status, unknown.code]).toEqual([403, 'InvalidAccessKeyId']);
    const badSecret = await call(await getSignedUrl(wrong, new PutObjectCommand({ Bucket: bucket, Key: 'bad/secret' }), { expiresIn: 300 }), 'PUT', {}, body);
    expect([badSecret.status, badSecret.code]).toEqual([403, 'SignatureDoesNotMatch']);
    stranger.destroy();
    wrong.destroy();

    const good = await getSignedUrl(plain, new PutObjectCommand({ Bucket: bucket, Key: 'bad/good' }), { expiresIn: 300 });
    const tampered = [
      ['X-Amz-Expires', setParam(good, 'X-Amz-Expires', '301')],
      ['key', good.replace('/bad/good?', '/bad/evil?')],
      ['X-Amz-Date', setParam(good, 'X-Amz-Date', (/X-Amz-Date=(\d{8}T\d{4})/.exec(good)?.[1] ?? '') + '59Z')],
      ['added parameter', good + '&versionId=1'],
      ['removed parameter', good.replace(/&x-id=PutObject/, '')],
      ['signature', setParam(good, 'X-Amz-Signature', '0'.repeat(64))],
    ] as const;
    for (const [what, url] of tampered) {
      if (url === good) continue; // e.g. the date already ended in :59
      const r = await call(url, 'PUT', {}, body);
      expect([what, r.status, r.code]).toEqual([what, 403, 'SignatureDoesNotMatch']);
    }
    expect(await existsDirectly('bad/evil')).toBe(false);
    expect(await existsDirectly('bad/unknown')).toBe(false);
    expect(await existsDirectly('bad/secret')).toBe(false);
    expect((await call(good, 'PUT', {}, body)).status).toBe(200);
  });

  it('usage limit: 3 uses served, the 4th → 403 AccessDenied; reordered and re-encoded copies are the same URL', async () => {
    await put('limit.txt', 'limited');
    const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'limit.txt' }), { expiresIn: 300 });
    const variants = [url, reorderQuery(url), reencodeQuery(url)];
    for (const v of variants) {
      const r = await call(v);
      expect([r.status, r.body.toString()]).toEqual([200, 'limited']);
    }
    for (const v of variants) {
      const r = await call(v);
      expect([r.status, r.code]).toEqual([403, 'AccessDenied']);
      expect(r.message).toMatch(/usage limit/);
    }
  });

  it('a use whose backend answer is 404 is given back: a GET URL for a key that appears later still has its 3 uses', async () => {
    const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'later.txt' }), { expiresIn: 300 });
    for (let i = 0; i < 5; i++) {
      const r = await call(url);
      expect([r.status, r.code]).toEqual([404, 'NoSuchKey']);
    }
    await put('later.txt', 'here now');
    for (let i = 0; i < 3; i++) expect((await call(url)).status).toBe(200);
    expect((await call(url)).status).toBe(403);
  });

  it('a conditional GET answered 304 counts as a use', async () => {
    await put('cond.txt', 'c');
    const etag = (await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cond.txt' }))).ETag as string;
    const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'cond.txt' }), { expiresIn: 300 });
    expect((await call(url, 'GET', { 'if-none-match': etag })).status).toBe(304);
    expect((await call(url)).status).toBe(200);
    expect((await call(url, 'GET', { 'if-none-match': etag })).status).toBe(304);
    expect((await call(url)).status).toBe(403);
  });

  it('10 concurrent uses of a URL with limit 3 → exactly 3 succeed', async () => {
    await put('race.txt', randomBytes(256 * 1024));
    const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'race.txt' }), { expiresIn: 300 });
    const results = await Promise.all(Array.from({ length: 10 }, () => call(url)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 403, 403, 403, 403, 403, 403, 403]);
    expect(results.filter((r) => r.status === 403).every((r) => r.code === 'AccessDenied')).toBe(true);
  });

  it('boto3 generate_presigned_url (s3v4): PUT with signed content-type, GET, HEAD, DELETE; boto3 default (SigV2) works too', async () => {
    const key = 'boto/ünï cødé+x.txt';
    const { stdout } = await run('python3', [path.join(__dirname, 'py', 'presign_boto3.py'), proxy.endpoint, bucket, key, CLIENT.accessKey, CLIENT.secretKey], { timeout: 60_000 });
    const urls = JSON.parse(stdout.trim().split('\n').pop() as string) as Record<'put' | 'get' | 'head' | 'delete' | 'default_get', string>;
    const body = Buffer.from('from boto3');
    const wrongType = await call(urls.put, 'PUT', { 'content-type': 'text/plain' }, body);
    expect([wrongType.status, wrongType.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect((await call(urls.put, 'PUT', { 'content-type': 'text/x-boto3' }, body)).status).toBe(200);
    const got = await call(urls.get);
    expect([got.status, got.body.toString(), got.headers['content-type']]).toEqual([200, 'from boto3', 'text/x-boto3']);
    expect((await call(urls.head, 'HEAD')).status).toBe(200);
    const v2 = await call(urls.default_get);
    expect(urls.default_get).toContain('AWSAccessKeyId=');
    expect([v2.status, v2.body.toString()]).toEqual([200, 'from boto3']);
    expect((await call(urls.delete, 'DELETE')).status).toBe(204);
    expect(await existsDirectly(key)).toBe(false);
  });

  it('aws-cli presign: with s3.signature_version = s3v4 and with the default (SigV2), under a mount path', async () => {
    await put('cli/some file.txt', 'from the cli');
    const config = path.join(dir, 'aws-config');
    writeFileSync(config, '[default]\ns3 =\n    signature_version = s3v4\n');
    const env = { ...process.env, AWS_ACCESS_KEY_ID: CLIENT.accessKey, AWS_SECRET_ACCESS_KEY: CLIENT.secretKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const presign = async (configFile: string) =>
      (
        await run('aws', ['--endpoint-url', proxy.endpoint, 's3', 'presign', `s3://${bucket}/cli/some file.txt`, '--expires-in', '120'], {
          env: { ...env, AWS_CONFIG_FILE: configFile },
          timeout: 60_000,
        })
      ).stdout.trim();
    const v4 = await presign(config);
    expect(v4).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    const got = await call(v4);
    expect([got.status, got.body.toString()]).toEqual([200, 'from the cli']);
    const v2 = await presign('/dev/null');
    expect(v2).toContain('AWSAccessKeyId=');
    const gotV2 = await call(v2);
    expect([gotV2.status, gotV2.body.toString()]).toEqual([200, 'from the cli']);
  });
});

/** A stand-in backend that records what the proxy forwards and answers with a chosen status. */
describe('presigned URLs: what the proxy forwards, give-back on backend errors, metrics hooks', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  const BUCKET = 'recorded';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    status = 200;
  });

  const options = (limit: number) => ({
    buckets: { [BUCKET]: { host: '127.0.0.1', port, addressingStyle: 'path' as const, accessKey: 'BACKENDKEY', secretKey: 'backend-secret' } },
    hmacKeystore: [CLIENT],
    maxPresignUrlUsageAttempts: limit,
  });

  it('strips every X-Amz-* auth parameter, keeps the others, and re-signs with the backend key', async () => {
    const proxy = await startProxy(options(3));
    const signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    try {
      const url = await getSignedUrl(signer, new PutObjectCommand({ Bucket: BUCKET, Key: 'a b.txt' }), { expiresIn: 300 });
      expect(url).toContain('X-Amz-Content-Sha256=UNSIGNED-PAYLOAD');
      expect((await call(url, 'PUT', {}, Buffer.from('x'))).status).toBe(200);
      expect(seen).toHaveLength(1);
      const fwd = seen[0]!;
      expect(fwd.url.startsWith('/recorded/a%20b.txt?')).toBe(true);
      const names = fwd.url
        .slice(fwd.url.indexOf('?') + 1)
        .split('&')
        .map((p) => decodeURIComponent(p.split('=')[0]!));
      expect(names.filter((n) => /^x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token|content-sha256)$/i.test(n))).toEqual([]);
      // Not auth: the SDK's checksum parameters and x-id stay (the backend decides what they mean).
      expect(names.sort()).toEqual(['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm', 'x-id']);
      expect(fwd.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=BACKENDKEY\//);
      expect(fwd.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(fwd.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);

      // response-* overrides are forwarded verbatim (AWS UriEncode).
      const getUrl = await getSignedUrl(signer, new GetObjectCommand({ Bucket: BUCKET, Key: 'k', ResponseContentType: 'a/b', ResponseContentDisposition: 'inline; filename="x y"' }), {
        expiresIn: 300,
      });
      expect((await call(getUrl)).status).toBe(200);
      const q = seen[1]!.url
        .slice(seen[1]!.url.indexOf('?') + 1)
        .split('&')
        .sort();
      expect(q).toEqual(['response-content-disposition=inline%3B%20filename%3D%22x%20y%22', 'response-content-type=a%2Fb', 'x-amz-checksum-mode=ENABLED', 'x-id=GetObject']);
    } finally {
      signer.destroy();
      await proxy.close();
    }
  });

  it('hmacFetcher keys: a malformed percent-encoding in the path → 400 InvalidURI (no hang, no unhandled rejection)', async () => {
    const { buckets } = options(3);
    const proxy = await startProxy({ buckets, hmacFetcher: async (ak: string) => (ak === CLIENT.accessKey ? CLIENT.secretKey : null) });
    const signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    try {
      const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: BUCKET, Key: 'ok' }), { expiresIn: 300 });
      expect((await call(url)).status).toBe(200);
      const bad = await call(url.replace('/recorded/ok?', '/recorded/%zz?'));
      expect([bad.status, bad.code]).toEqual([400, 'InvalidURI']);
      expect(seen).toHaveLength(1);
    } finally {
      signer.destroy();
      await proxy.close();
    }
  });

  it('backend 5xx and 4xx answers do not count; the limit then applies to successes', async () => {
    const proxy = await startProxy(options(2));
    const signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    try {
      const url = await getSignedUrl(signer, new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }), { expiresIn: 300 });
      status = 503;
      for (let i = 0; i < 4; i++) expect((await call(url)).status).toBe(503);
      status = 403;
      expect((await call(url)).status).toBe(403);
      status = 200;
      expect((await call(url)).status).toBe(200);
      expect((await call(url)).status).toBe(200);
      const over = await call(url);
      expect([over.status, over.code]).toEqual([403, 'AccessDenied']);
      expect(seen).toHaveLength(7); // the refused use never reached the backend
    } finally {
      signer.destroy();
      await proxy.close();
    }
  });

  it('on.presignedUse on a counted use, on.presignedRejected on the limit; not called for header-signed requests', async () => {
    const hits: (string | undefined)[] = [];
    const rejected: (string | undefined)[] = [];
    const middleware = ospMiddleware({ ...options(1), on: { presignedUse: (b) => void hits.push(b), presignedRejected: (b) => void rejected.push(b) } });
    const proxy = await startProxy(options(1), { handler: middleware });
    const client = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    try {
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }), { expiresIn: 300 });
      expect((await call(url)).status).toBe(200);
      expect([hits, rejected]).toEqual([[BUCKET], []]);
      expect((await call(url)).status).toBe(403);
      expect((await call(url)).status).toBe(403);
      expect([hits, rejected]).toEqual([[BUCKET], [BUCKET, BUCKET]]);
      // A rejected signature never reaches the limiter.
      expect((await call(setParam(url, 'X-Amz-Signature', 'f'.repeat(64)))).status).toBe(403);
      await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      expect([hits, rejected]).toEqual([[BUCKET], [BUCKET, BUCKET]]);
    } finally {
      client.destroy();
      await middleware.close();
      await proxy.close();
    }
  });
});
