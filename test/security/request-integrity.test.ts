/**
 * Adversarial suite, issue [9]: what `authorize` sees is exactly what the backend runs.
 *
 * Each case sends a hostile request through the proxy to a real backend behind a recording relay
 * and asserts the S3 error AND what reached the backend: nothing, or exactly the request that was
 * authorized. Path tricks run against Ceph RGW, Swift and moto; the rest against RGW (strict
 * SigV4) and moto.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BackendProfileName } from '../../lib/backends/profiles';
import type { AuthorizeRequest, OspOptions } from '../../lib/options';
import { backend, backendClient, createTestBucket, type BackendName } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';
import { startRelay, sendBytes, sendRaw, type Relay, type RawAnswer } from '../helpers/recording-relay';
import { presignQuery, signHeaders } from '../helpers/independent-signer';

const CLIENT = { accessKeyId: 'sec-client', secretAccessKey: 'sec-client-secret-0123456789' };
const PROFILE: Record<BackendName, BackendProfileName> = { moto: 'moto', rgw: 'ceph-rgw', swift: 'swift' };
/** Operations the test's authorize callback refuses (plus Unknown). */
const FORBIDDEN = new Set(['DeleteObjects', 'DeleteObject', 'PutObjectAcl', 'PutObjectTagging', 'PutBucketAcl', 'Unknown']);

interface Env {
  name: BackendName;
  proxy: RunningProxy;
  relay: Relay;
  /** Client-facing bucket `bucket-a` → this backend bucket. */
  realA: string;
  /** Client-facing bucket `bucket-b` → this backend bucket, holding `secret.txt`. */
  realB: string;
  host: string;
  calls: AuthorizeRequest[];
  close(): Promise<void>;
}

async function startEnv(name: BackendName, extra: Partial<OspOptions> = {}, bucketExtra: Record<string, unknown> = {}): Promise<Env> {
  const b = backend(name);
  const realA = await createTestBucket('sec-a', name);
  const realB = await createTestBucket('sec-b', name);
  const direct = backendClient(name);
  await direct.send(new PutObjectCommand({ Bucket: realB, Key: 'secret.txt', Body: 'B-SECRET' }));
  await direct.send(new PutObjectCommand({ Bucket: realA, Key: 'keep.txt', Body: 'A-KEEP' }));
  direct.destroy();
  const relay = await startRelay({ host: b.host, port: b.port });
  const calls: AuthorizeRequest[] = [];
  const bucket = (backendBucket: string) => ({
    host: relay.host,
    port: relay.port,
    tls: false,
    addressingStyle: 'path' as const,
    backendBucket,
    accessKey: b.accessKey,
    secretKey: b.secretKey,
    profile: PROFILE[name],
    ttl: 0,
    ...bucketExtra,
  });
  const proxy = await startProxy({
    buckets: { 'bucket-a': bucket(realA), 'bucket-b': bucket(realB) },
    hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
    authorize: (_token, _bucket, request) => {
      calls.push(request);
      return !FORBIDDEN.has(request.operation);
    },
    maxPresignUrlUsageAttempts: 1,
    ...extra,
  });
  return {
    name,
    proxy,
    relay,
    realA,
    realB,
    host: `127.0.0.1:${proxy.port}`,
    calls,
    async close() {
      await proxy.close();
      await relay.close();
    },
  };
}

/** Signs `signedPath` + `query` (decoded) and sends `target` (raw, as given) with the signed headers plus `unsigned`. */
async function signedSend(
  env: Env,
  method: string,
  signedPath: string,
  target: string,
  opts: { query?: Record<string, string>; headers?: Record<string, string>; unsigned?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const headers = await signHeaders({ method, host: env.host, path: signedPath, query: opts.query, headers: opts.headers, ...CLIENT });
  return sendRaw(env.proxy.port, { method, target, headers: { ...headers, ...(opts.unsigned ?? {}) }, body: opts.body });
}

async function objectText(name: BackendName, bucket: string, key: string): Promise<string | undefined> {
  const direct = backendClient(name);
  try {
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await got.Body!.transformToString();
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  } finally {
    direct.destroy();
  }
}

async function exists(name: BackendName, bucket: string, key: string): Promise<boolean> {
  const direct = backendClient(name);
  try {
    await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  } finally {
    direct.destroy();
  }
}

describe.each(['rgw', 'moto'] as BackendName[])('request integrity against %s', (name) => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv(name);
  });
  afterAll(async () => env?.close());
  beforeEach(() => {
    env.relay.clear();
    env.calls.splice(0);
  });

  describe('percent-encoded sub-resources are classified as what the backend runs', () => {
    const deleteXml = '<Delete><Object><Key>keep.txt</Key></Object></Delete>';
    it('POST ?%64elete is DeleteObjects: refused by authorize, nothing forwarded, nothing deleted', async () => {
      const sha = createHash('sha256').update(deleteXml).digest('hex');
      const md5 = createHash('md5').update(deleteXml).digest('base64');
      const res = await signedSend(env, 'POST', '/bucket-a', '/bucket-a?%64elete', {
        query: { delete: '' },
        headers: { 'x-amz-content-sha256': sha, 'content-md5': md5, 'content-type': 'application/xml' },
        body: deleteXml,
      });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(env.calls.map((c) => c.operation)).toEqual(['DeleteObjects']);
      expect(env.calls[0]!.query).toEqual({ delete: '' });
      expect(env.relay.requests).toHaveLength(0);
      expect(await objectText(name, env.realA, 'keep.txt')).toBe('A-KEEP');
    });
    it.each([
      ['%74agging', 'tagging', 'PutObjectTagging', '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>'],
      ['%61cl', 'acl', 'PutObjectAcl', ''],
    ])('PUT ?%s is %s: refused, nothing forwarded', async (raw, param, operation, body) => {
      const res = await signedSend(env, 'PUT', '/bucket-a/keep.txt', `/bucket-a/keep.txt?${raw}`, { query: { [param]: '' }, headers: { 'x-amz-acl': 'public-read' }, body });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(env.calls.map((c) => c.operation)).toEqual([operation]);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('an allowed encoded sub-resource is forwarded in the decoded form that was authorized', async () => {
      const res = await signedSend(env, 'GET', '/bucket-a/keep.txt', '/bucket-a/keep.txt?%74agging', { query: { tagging: '' } });
      expect(res.status).toBe(200);
      expect(env.calls.map((c) => c.operation)).toEqual(['GetObjectTagging']);
      expect(env.relay.requests.map((r) => r.url)).toEqual([`/${env.realA}/keep.txt?tagging`]);
    });
    it('an unknown query name never downgrades the operation: it reaches authorize as Unknown', async () => {
      const res = await signedSend(env, 'POST', '/bucket-a', '/bucket-a?delet%65x', { query: { deletex: '' }, body: deleteXml });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(env.calls.map((c) => c.operation)).toEqual(['Unknown']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a query name given twice (two encodings of one name) is refused before anything runs', async () => {
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: '/bucket-a/keep.txt?versionId=1&version%49d=2' });
      expect([res.status, res.code]).toEqual([400, 'InvalidArgument']);
      expect(env.calls).toHaveLength(0);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('x-amz-copy-source in the query (a header in presigned form) is refused', async () => {
      const res = await signedSend(env, 'PUT', '/bucket-a/copy.txt', `/bucket-a/copy.txt?x-amz-copy-source=bucket-b%2Fsecret.txt`, { query: { 'x-amz-copy-source': 'bucket-b/secret.txt' } });
      expect([res.status, res.code]).toEqual([400, 'InvalidArgument']);
      expect(env.relay.requests).toHaveLength(0);
    });
  });

  describe('unsigned x-amz-* headers are refused, as S3 refuses them', () => {
    it('header-signed PUT + unsigned x-amz-acl: public-read → 403, nothing forwarded', async () => {
      const res = await signedSend(env, 'PUT', '/bucket-a/acl.txt', '/bucket-a/acl.txt', { unsigned: { 'x-amz-acl': 'public-read' }, body: 'x' });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(res.body).toContain('<HeadersNotSigned>x-amz-acl</HeadersNotSigned>');
      expect(env.relay.requests).toHaveLength(0);
      expect(await exists(name, env.realA, 'acl.txt')).toBe(false);
    });
    it.each([
      ['x-amz-copy-source', 'bucket-b/secret.txt'],
      ['x-amz-acl', 'public-read'],
      ['x-amz-meta-owner', 'attacker'],
      ['x-amz-tagging', 'a=b'],
      ['x-amz-server-side-encryption', 'AES256'],
      ['x-amz-storage-class', 'STANDARD_IA'],
      ['x-amz-object-lock-mode', 'GOVERNANCE'],
    ])('presigned PUT + unsigned %s → 403, nothing forwarded, the URL unused', async (header, value) => {
      const key = `presigned-${header}.txt`;
      const query = await presignQuery({ method: 'PUT', host: env.host, path: `/bucket-a/${key}`, ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'PUT', target: `/bucket-a/${key}?${query}`, headers: { [header]: value }, body: 'from-url' });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(res.body).toContain(`<HeadersNotSigned>${header}</HeadersNotSigned>`);
      expect(env.relay.requests).toHaveLength(0);
      expect(await exists(name, env.realA, key)).toBe(false);
      // The refused attempt did not use up the URL (limit 1): it still works as signed.
      const ok = await sendRaw(env.proxy.port, { method: 'PUT', target: `/bucket-a/${key}?${query}`, body: 'from-url' });
      expect(ok.status).toBe(200);
      expect(await objectText(name, env.realA, key)).toBe('from-url');
    });
    it('signed x-amz-* headers are forwarded, and only those', async () => {
      const res = await signedSend(env, 'PUT', '/bucket-a/meta.txt', '/bucket-a/meta.txt', {
        headers: { 'x-amz-meta-color': 'blue', 'x-amz-content-sha256': createHash('sha256').update('m').digest('hex') },
        body: 'm',
      });
      expect(res.status).toBe(200);
      const sent = env.relay.requests[0]!;
      const amz = Object.keys(sent.headers)
        .filter((h) => h.startsWith('x-amz-'))
        .sort();
      expect(amz).toEqual(['x-amz-content-sha256', 'x-amz-date', 'x-amz-meta-color']);
      const signedUpstream = /SignedHeaders=([^,]+)/.exec(String(sent.headers.authorization))![1]!.split(';');
      for (const h of amz) expect(signedUpstream).toContain(h);
    });
  });

  describe('two auth mechanisms at once', () => {
    it('presigned query + Authorization header → 400 InvalidArgument, nothing forwarded, the use not counted', async () => {
      const query = await presignQuery({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', ...CLIENT });
      const headers = await signHeaders({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}`, headers });
      expect([res.status, res.code]).toEqual([400, 'InvalidArgument']);
      expect(env.relay.requests).toHaveLength(0);
      const ok = await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}` });
      expect([ok.status, ok.body]).toEqual([200, 'A-KEEP']);
    });
  });

  describe('classic attacks', () => {
    it('a tampered signed header → 403 SignatureDoesNotMatch, nothing forwarded', async () => {
      const headers = await signHeaders({ method: 'PUT', host: env.host, path: '/bucket-a/t.txt', headers: { 'x-amz-meta-a': 'signed' }, ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'PUT', target: '/bucket-a/t.txt', headers: { ...headers, 'x-amz-meta-a': 'changed' }, body: 'x' });
      expect([res.status, res.code]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a tampered presigned query (an added parameter) → 403, nothing forwarded', async () => {
      const query = await presignQuery({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}&versionId=1` });
      expect([res.status, res.code]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('an expired presigned URL → 403 AccessDenied', async () => {
      const query = await presignQuery({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', expiresIn: 1, signingDate: new Date(Date.now() - 60_000), ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}` });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(res.body).toContain('Request has expired');
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a presigned URL past its use limit → 403', async () => {
      // expiresIn 301: a URL of its own (another test uses the 300 s one in the same second).
      const query = await presignQuery({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', expiresIn: 301, ...CLIENT });
      expect((await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}` })).status).toBe(200);
      const again = await sendRaw(env.proxy.port, { method: 'GET', target: `/bucket-a/keep.txt?${query}` });
      expect([again.status, again.code]).toEqual([403, 'AccessDenied']);
      expect(env.relay.requests).toHaveLength(1);
    });
    it('a skewed request date → 403 RequestTimeTooSkewed', async () => {
      const headers = await signHeaders({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', signingDate: new Date(Date.now() - 3_600_000), ...CLIENT });
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: '/bucket-a/keep.txt', headers });
      expect([res.status, res.code]).toEqual([403, 'RequestTimeTooSkewed']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a scope for another service → 400 AuthorizationHeaderMalformed', async () => {
      const headers = await signHeaders({ method: 'GET', host: env.host, path: '/bucket-a/keep.txt', ...CLIENT });
      headers.authorization = headers.authorization!.replace('/s3/aws4_request', '/iam/aws4_request');
      const res = await sendRaw(env.proxy.port, { method: 'GET', target: '/bucket-a/keep.txt', headers });
      expect([res.status, res.code]).toEqual([400, 'AuthorizationHeaderMalformed']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a forged aws-chunked chunk signature → 403, nothing stored', async () => {
      const zeros = '0'.repeat(64);
      const body = `5;chunk-signature=${zeros}\r\nhello\r\n0;chunk-signature=${zeros}\r\n\r\n`;
      const headers = await signHeaders({
        method: 'PUT',
        host: env.host,
        path: '/bucket-a/chunked.txt',
        headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'x-amz-decoded-content-length': '5', 'content-encoding': 'aws-chunked' },
        ...CLIENT,
      });
      const res = await sendRaw(env.proxy.port, { method: 'PUT', target: '/bucket-a/chunked.txt', headers: { ...headers, 'content-length': String(body.length) }, body });
      expect([res.status, res.code]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(env.relay.requests.every((r) => !r.complete || r.status >= 400)).toBe(true);
      expect(await exists(name, env.realA, 'chunked.txt')).toBe(false);
    });
    it('Content-Length with Transfer-Encoding (request smuggling) → refused by the HTTP parser, nothing forwarded', async () => {
      const res = await sendBytes(
        env.proxy.port,
        `PUT /bucket-a/smuggle.txt HTTP/1.1\r\nHost: ${env.host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /bucket-b/secret.txt HTTP/1.1\r\nHost: ${env.host}\r\n\r\n`,
      );
      expect(res.status).toBe(400);
      expect(res.body).not.toContain('B-SECRET');
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a bare LF / CR inside a header value → refused by the HTTP parser', async () => {
      const res = await sendBytes(env.proxy.port, `GET /bucket-a/keep.txt HTTP/1.1\r\nHost: ${env.host}\r\nX-Amz-Meta-A: x\rX-Amz-Acl: public-read\r\n\r\n`);
      expect(res.status).toBe(400);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('an encoded CRLF in a key stays inside the key upstream', async () => {
      const res = await signedSend(env, 'PUT', '/bucket-a/a%0D%0AX-Amz-Acl%3A%20public-read', '/bucket-a/a%0D%0AX-Amz-Acl:%20public-read', { body: 'crlf' });
      // RGW stores the key; moto answers 404 for it. Either way the key went up as one key.
      expect(res.status).toBe(name === 'rgw' ? 200 : 404);
      const sent = env.relay.requests[0]!;
      expect(sent.url).toBe(`/${env.realA}/a%0D%0AX-Amz-Acl%3A%20public-read`);
      expect(sent.headers['x-amz-acl']).toBeUndefined();
    });
    it('an absolute-form request target → 400 InvalidURI, nothing forwarded', async () => {
      const res = await sendBytes(env.proxy.port, `GET http://127.0.0.1:${env.relay.port}/${env.realB}/secret.txt HTTP/1.1\r\nHost: ${env.host}\r\n\r\n`);
      expect([res.status, res.code]).toEqual([400, 'InvalidURI']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a bucket that is not configured (an internal name) → 404 NoSuchBucket, nothing forwarded', async () => {
      for (const path of ['/metrics', '/healthz', '/admin/user']) {
        const res = await signedSend(env, 'GET', path, path);
        expect([res.status, res.code]).toEqual([404, 'NoSuchBucket']);
      }
      expect(env.relay.requests).toHaveLength(0);
    });
  });
});

describe.each(['rgw', 'swift', 'moto'] as BackendName[])('dot segments against %s', (name) => {
  describe('refused by default', () => {
    let env: Env;
    beforeAll(async () => {
      env = await startEnv(name);
    });
    afterAll(async () => env?.close());
    it.each([
      ['encoded', (b: string) => `x%2F..%2F..%2F${b}%2Fsecret.txt`],
      ['plain', (b: string) => `x/../../${b}/secret.txt`],
      ['encoded dots', (b: string) => `x/%2E%2E/%2e%2e/${b}/secret.txt`],
    ])('%s dot segments that climb into another bucket → 400 InvalidArgument, nothing forwarded', async (_how, keyOf) => {
      env.relay.clear();
      const key = keyOf(env.realB);
      const res = await signedSend(env, 'GET', `/bucket-a/${decodeURIComponent(key)}`, `/bucket-a/${key}`);
      expect([res.status, res.code]).toEqual([400, 'InvalidArgument']);
      expect(res.body).not.toContain('B-SECRET');
      expect(env.relay.requests).toHaveLength(0);
    });
  });
  describe('allowed (allowDotSegmentsInKeys: true)', () => {
    let env: Env;
    beforeAll(async () => {
      env = await startEnv(name, { allowDotSegmentsInKeys: true });
    });
    afterAll(async () => env?.close());
    it('a key that would climb out of its bucket is still refused', async () => {
      env.relay.clear();
      const res = await signedSend(env, 'GET', `/bucket-a/x/../../${env.realB}/secret.txt`, `/bucket-a/x%2F..%2F..%2F${env.realB}%2Fsecret.txt`);
      expect([res.status, res.code]).toEqual([400, 'InvalidArgument']);
      expect(env.relay.requests).toHaveLength(0);
    });
    it('a key with dot segments inside its bucket goes to that bucket, never another', async () => {
      env.relay.clear();
      const put = await signedSend(env, 'PUT', '/bucket-a/x/../y.txt', '/bucket-a/x/../y.txt', { body: 'A-DOTS' });
      const get = await signedSend(env, 'GET', '/bucket-a/x/../y.txt', '/bucket-a/x/../y.txt');
      // The backend may store the key literally or refuse it; it never answers from bucket B.
      expect(get.body).not.toContain('B-SECRET');
      for (const r of env.relay.requests) expect(r.url.startsWith(`/${env.realA}/`)).toBe(true);
      if (put.status === 200) expect([get.status, get.body]).toEqual([200, 'A-DOTS']);
      expect(await objectText(name, env.realB, 'secret.txt')).toBe('B-SECRET');
    });
  });
});
