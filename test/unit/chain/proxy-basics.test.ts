/**
 * The whole chain (ospMiddleware) against the kit upstream: what the client signed is what the
 * upstream receives, re-signed with the bucket's keys (checked by an independent signer), and
 * what the upstream answers is what the client gets.
 */
import http from 'node:http';
import { signHeaders } from '../../helpers/independent-signer';
import { FRONTEND, kitBucket, s3Xml, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
let proxy: KitChain;
const failures: unknown[] = [];
const responses: number[] = [];

beforeAll(async () => {
  upstream = await startKitUpstream();
  proxy = await startChain({
    buckets: { photos: kitBucket(upstream), renamed: kitBucket(upstream, { backendBucket: 'real-name' }) },
    hmacKeystore: [FRONTEND],
    serverName: 'KitProxy',
    on: { backendFailure: (_req, e) => failures.push(e.s3Code), backendResponse: (_req, status) => responses.push(status) },
  });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});
beforeEach(() => upstream.clear());

describe('signed requests through the chain', () => {
  it('PUT: the body bytes, the path and the x-amz-* headers reach the upstream, re-signed validly with the backend key', async () => {
    upstream.reply({ status: 200, headers: { etag: '"abc"' } });
    const body = Buffer.from('hello kit');
    const answer = await proxy.send({ method: 'PUT', path: '/photos/dir/a%20b.txt', body, headers: { 'x-amz-meta-colour': 'blue', 'content-type': 'text/plain' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.etag).toBe('"abc"');
    expect(answer.headers.server).toBe('KitProxy');
    const got = upstream.last();
    expect(got).toMatchObject({ method: 'PUT', path: '/photos/dir/a%20b.txt', auth: { kind: 'sigv4', accessKeyId: 'UPSTREAM-AK', valid: true }, payloadValid: true });
    expect(got.body.equals(body)).toBe(true);
    expect(got.headers['x-amz-meta-colour']).toBe('blue');
    expect(got.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    if (got.auth.kind === 'sigv4') expect(got.auth.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-meta-colour', 'content-type']));
    expect(responses).toContain(200);
  });

  it('GET with a query: decoded parameters reach the upstream unchanged, the backend error passes through unchanged', async () => {
    upstream.reply({ status: 404, headers: { 'content-type': 'application/xml' }, body: s3Xml.error('NoSuchKey', 'gone') });
    const answer = await proxy.send({ path: '/photos/k', query: { versionId: 'v 1+2', 'response-content-type': 'text/x' } });
    expect([answer.status, answer.code]).toEqual([404, 'NoSuchKey']);
    expect(upstream.last()).toMatchObject({ method: 'GET', path: '/photos/k', query: { versionId: 'v 1+2', 'response-content-type': 'text/x' }, auth: { valid: true } });
  });

  it('backendBucket: the upstream sees the backend name, the client its own', async () => {
    upstream.reply({ status: 200, body: '<ListBucketResult/>' });
    const answer = await proxy.send({ path: '/renamed', query: { 'list-type': '2', prefix: 'a/' } });
    expect(answer.status).toBe(200);
    expect(upstream.last()).toMatchObject({ path: '/real-name', query: { 'list-type': '2', prefix: 'a/' }, auth: { valid: true } });
  });

  it('virtual-hosted backends get the bucket in Host', async () => {
    const vproxy = await startChain({
      buckets: { vhost: kitBucket(upstream, { addressingStyle: 'virtual', host: 'localhost' }) },
      hmacKeystore: [FRONTEND],
      upstreamLookup: ((_h: string, o: unknown, cb?: unknown) => {
        const callback = (typeof o === 'function' ? o : cb) as (e: null, a: string | { address: string; family: number }[], f?: number) => void;
        if (typeof o === 'object' && o !== null && (o as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      }) as never,
    });
    try {
      const answer = await vproxy.send({ path: '/vhost/obj' });
      expect(answer.status).toBe(200);
      expect(upstream.last()).toMatchObject({ path: '/obj', headers: { host: `vhost.localhost:${upstream.port}` }, auth: { valid: true } });
    } finally {
      await vproxy.close();
    }
  });

  it('presigned GET: the URL auth parameters are not forwarded, the upstream request is header-signed', async () => {
    const answer = await proxy.send({ path: '/photos/p.txt', sign: 'presign', query: { partNumber: '1' } });
    expect(answer.status).toBe(200);
    const got = upstream.last();
    expect(got.query).toEqual({ partNumber: '1' });
    expect(got.auth).toMatchObject({ kind: 'sigv4', valid: true });
  });

  it('a dead backend is 502 BackendUnreachable (reported through on.backendFailure), never a hang', async () => {
    upstream.reply('destroy');
    const answer = await proxy.send({ path: '/photos/x' });
    expect([answer.status, answer.code]).toEqual([502, 'BackendUnreachable']);
    expect(failures).toContain('BackendUnreachable');
  });

  it('a backend that does not answer within upstreamIdleTimeoutMs is 504 BackendTimeout', async () => {
    const impatient = await startChain({
      buckets: { photos: kitBucket(upstream) },
      hmacKeystore: [FRONTEND],
      upstreamIdleTimeoutMs: 100,
      on: { backendFailure: (_req, e) => failures.push(e.s3Code) },
    });
    try {
      upstream.reply('hang');
      const answer = await impatient.send({ path: '/photos/slow' });
      expect([answer.status, answer.code]).toEqual([504, 'BackendTimeout']);
      expect(failures).toContain('BackendTimeout');
    } finally {
      await impatient.close();
    }
  });

  it('a bad client signature never reaches the upstream: 403 SignatureDoesNotMatch', async () => {
    const answer = await proxy.send({ path: '/photos/x', key: { accessKey: FRONTEND.accessKey, secretKey: 'wrong' } });
    expect([answer.status, answer.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('an unsigned x-amz-* header is refused: 403 AccessDenied with HeadersNotSigned', async () => {
    const answer = await proxy.send({ method: 'PUT', path: '/photos/x', body: 'x', unsignedHeaders: { 'x-amz-acl': 'public-read' } });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(answer.body.toString()).toContain('<HeadersNotSigned>x-amz-acl</HeadersNotSigned>');
    expect(upstream.requests).toHaveLength(0);
  });

  it('an unknown bucket is 404 NoSuchBucket; an unknown key 403 InvalidAccessKeyId', async () => {
    expect((await proxy.send({ path: '/nope/x' })).code).toBe('NoSuchBucket');
    expect((await proxy.send({ path: '/photos/x', key: { accessKey: 'WHO', secretKey: 's' } })).code).toBe('InvalidAccessKeyId');
    expect(upstream.requests).toHaveLength(0);
  });
});

/** A PUT with `Expect: 100-continue` that sends its body only once the 100 arrives. */
function putExpectingContinue(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; continued: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path, headers: { ...headers, expect: '100-continue', 'content-length': String(body.length) } });
    let continued = false;
    req.once('continue', () => {
      continued = true;
      req.end(body);
    });
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, continued, text: Buffer.concat(parts).toString() });
        if (!continued) req.destroy();
      });
    });
    req.on('error', (err) => (continued ? reject(err) : undefined));
    req.flushHeaders();
  });
}

describe('Expect: 100-continue', () => {
  const body = Buffer.from('after the continue');

  it('signed: the proxy sends 100 after verification and authorization, then the body reaches the upstream', async () => {
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({
      method: 'PUT',
      host,
      path: '/photos/c',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      accessKeyId: FRONTEND.accessKey,
      secretAccessKey: FRONTEND.secretKey,
    });
    const answer = await putExpectingContinue(proxy.port, '/photos/c', headers, body);
    expect([answer.status, answer.continued]).toEqual([200, true]);
    expect(upstream.last()).toMatchObject({ method: 'PUT', path: '/photos/c', auth: { valid: true } });
    expect(upstream.last().headers.expect).toBeUndefined();
    expect(upstream.last().body.equals(body)).toBe(true);
  });

  it('a bad signature is answered without 100: the body is never asked for', async () => {
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({ method: 'PUT', host, path: '/photos/c', accessKeyId: FRONTEND.accessKey, secretAccessKey: 'wrong' });
    const answer = await putExpectingContinue(proxy.port, '/photos/c', headers, body);
    expect([answer.status, answer.continued]).toEqual([403, false]);
    expect(answer.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(upstream.requests).toHaveLength(0);
  });
});
