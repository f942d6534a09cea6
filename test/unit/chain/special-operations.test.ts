/**
 * Special operations through the chain against the kit upstream: ListBuckets (the proxy's own
 * answer, pattern backends' fan-out and creation dates), CopyObject (the source's read check and
 * its rewrite to the backend name), DeleteObjects (per-key policy checks, Content-MD5), CORS
 * preflights and anonymous requests.
 */
import { createHash } from 'node:crypto';
import type { AuthorizeRequest } from '../../../lib/options';
import { FRONTEND, kitBucket, s3Xml, startChain, startKitUpstream, UPSTREAM_KEYS, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
let other: KitUpstream;
const calls: { token: string | null; bucket: string; req: AuthorizeRequest }[] = [];
const READER = { accessKey: 'READER', secretKey: 'READER-SK', policies: ['readAlpha'] };
const options = (up: KitUpstream, oth: KitUpstream) => ({
  buckets: {
    alpha: kitBucket(up),
    beta: kitBucket(up, { backendBucket: 'beta-real' }),
    elsewhere: kitBucket(oth),
    'tenant-*': kitBucket(up),
    cos: kitBucket(up, { profile: 'ibm-cos' as const }),
    public: kitBucket(up, { signAnonymousRequests: true }),
  },
  hmacKeystore: [FRONTEND, READER],
  policies: {
    readAlpha: {
      Version: '2012-10-17' as const,
      Statement: [
        { Effect: 'Allow' as const, Action: ['s3:ListAllMyBuckets', 's3:GetObject', 's3:ListBucket', 's3:DeleteObject'], Resource: ['arn:aws:s3:::*'] },
        { Effect: 'Deny' as const, Action: ['s3:DeleteObject'], Resource: ['arn:aws:s3:::alpha/keep/*'] },
      ],
    },
  },
  allowAnonymous: true,
  authorize: (token: string | null, bucket: string, req: AuthorizeRequest) => {
    calls.push({ token, bucket, req });
    if (token === null) return bucket === 'alpha' || bucket === 'public' || bucket === 'tenant-b';
    return !(bucket === 'beta' && req.operation === 'GetObject' && req.key === 'secret') && bucket !== 'tenant-hidden';
  },
});
let proxy: KitChain;

beforeAll(async () => {
  upstream = await startKitUpstream();
  other = await startKitUpstream();
  proxy = await startChain(options(upstream, other));
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await other.close();
});
beforeEach(() => {
  upstream.clear();
  other.clear();
  calls.length = 0;
});

describe('ListBuckets', () => {
  it('lists the allowed configured buckets plus what pattern backends report, with the backends’ dates', async () => {
    // The pattern backend's listing, then the date lookups (one per backend identity).
    const listing = s3Xml.listBuckets('backend-owner', [
      { name: 'tenant-a', date: '2025-01-02T03:04:05.000Z' },
      { name: 'tenant-hidden', date: '2025-01-02T03:04:05.000Z' },
      { name: 'unrelated', date: '2025-01-02T03:04:05.000Z' },
      { name: 'alpha', date: '2024-05-06T07:08:09.000Z' },
    ]);
    upstream.reply({ status: 200, body: listing }, { status: 200, body: listing });
    other.reply({ status: 200, body: s3Xml.listBuckets('other-owner', []) });
    const answer = await proxy.send({ path: '/' });
    expect(answer.status).toBe(200);
    const xml = answer.body.toString();
    const names = [...xml.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]).sort();
    expect(names).toEqual(['alpha', 'beta', 'cos', 'elsewhere', 'public', 'tenant-a']);
    expect(xml).toContain('<Name>alpha</Name><CreationDate>2024-05-06T07:08:09.000Z</CreationDate>');
    expect(xml).toContain('<DisplayName>backend-owner</DisplayName>');
    // Every upstream ListBuckets was signed with the backend keys, validly.
    expect(upstream.requests.length).toBeGreaterThanOrEqual(1);
    for (const r of [...upstream.requests, ...other.requests]) expect(r).toMatchObject({ method: 'GET', path: '/', auth: { kind: 'sigv4', accessKeyId: UPSTREAM_KEYS.accessKey, valid: true } });
    expect(calls.every((c) => c.req.operation === 'ListBuckets')).toBe(true);
  });

  it('a pattern backend that does not answer fails the listing: 503, not an incomplete list', async () => {
    upstream.reply({ status: 500, body: s3Xml.error('InternalError') });
    const answer = await proxy.send({ path: '/' });
    expect([answer.status, answer.code]).toEqual([503, 'ServiceUnavailable']);
  });

  it('a key with policies sees only the buckets its policies allow; anonymous ListBuckets is 403 before any callback', async () => {
    upstream.reply({ status: 200, body: s3Xml.listBuckets('o', []) });
    const answer = await proxy.send({ path: '/', key: READER });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toContain('<Name>alpha</Name>');
    const anon = await proxy.send({ path: '/', sign: 'none' });
    expect([anon.status, anon.code]).toEqual([403, 'AccessDenied']);
  });
});

describe('CopyObject', () => {
  it('the copy source is rewritten to the backend bucket name and signed; authorize saw the copy and the source read', async () => {
    upstream.reply({ status: 200, body: s3Xml.copyObjectResult('"c1"') });
    const answer = await proxy.send({ method: 'PUT', path: '/alpha/copy', headers: { 'x-amz-copy-source': '/beta/src%20key?versionId=v1' } });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toContain('<ETag>"c1"</ETag>');
    const got = upstream.last();
    expect(got).toMatchObject({ method: 'PUT', path: '/alpha/copy', auth: { valid: true } });
    expect(got.headers['x-amz-copy-source']).toBe('/beta-real/src%20key?versionId=v1');
    if (got.auth.kind === 'sigv4') expect(got.auth.signedHeaders).toContain('x-amz-copy-source');
    expect(calls.map((c) => [c.bucket, c.req.operation, c.req.key]).sort()).toEqual([
      ['alpha', 'CopyObject', 'copy'],
      ['beta', 'GetObject', 'src key'],
    ]);
  });

  it('a source the caller may not read is 403 and nothing is sent upstream', async () => {
    const answer = await proxy.send({ method: 'PUT', path: '/alpha/copy', headers: { 'x-amz-copy-source': '/beta/secret' } });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a source on another backend is 501 NotImplemented; an unknown source bucket 404 NoSuchBucket; a malformed source 400', async () => {
    const across = await proxy.send({ method: 'PUT', path: '/alpha/copy', headers: { 'x-amz-copy-source': '/elsewhere/k' } });
    expect([across.status, across.code]).toEqual([501, 'NotImplemented']);
    const unknown = await proxy.send({ method: 'PUT', path: '/alpha/copy', headers: { 'x-amz-copy-source': '/nope/k' } });
    expect([unknown.status, unknown.code]).toEqual([404, 'NoSuchBucket']);
    const bad = await proxy.send({ method: 'PUT', path: '/alpha/copy', headers: { 'x-amz-copy-source': '/alpha/%ZZ' } });
    expect(bad.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
    expect(other.requests).toHaveLength(0);
  });
});

describe('DeleteObjects', () => {
  const body = (...keys: string[]) => `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;

  it('a key with policies: every key of the body is checked; one denied key refuses the whole request, nothing deleted', async () => {
    const answer = await proxy.send({ method: 'POST', path: '/alpha', query: { delete: '' }, body: body('a', 'keep/b'), key: READER });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('allowed keys: the exact body goes upstream with a valid signature and payload hash', async () => {
    upstream.reply({ status: 200, body: s3Xml.deleteResult(['a', 'b']) });
    const xml = body('a', 'b');
    const answer = await proxy.send({ method: 'POST', path: '/alpha', query: { delete: '' }, body: xml, key: READER });
    expect(answer.status).toBe(200);
    expect(upstream.last()).toMatchObject({ method: 'POST', path: '/alpha', query: { delete: '' }, auth: { valid: true }, payloadValid: true });
    expect(upstream.last().body.toString()).toBe(xml);
  });

  it('a backend that requires Content-MD5 (IBM COS) gets it computed from the body', async () => {
    const xml = body('x');
    const answer = await proxy.send({ method: 'POST', path: '/cos', query: { delete: '' }, body: xml });
    expect(answer.status).toBe(200);
    const got = upstream.last();
    expect(got.headers['content-md5']).toBe(createHash('md5').update(xml).digest('base64'));
    expect(got.auth).toMatchObject({ valid: true });
  });

  it('a body that is not a Delete document is 400 MalformedXML when keys must be checked', async () => {
    const answer = await proxy.send({ method: 'POST', path: '/alpha', query: { delete: '' }, body: '<nope', key: READER });
    expect([answer.status, answer.code]).toEqual([400, 'MalformedXML']);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('CORS preflights and anonymous requests', () => {
  it('a preflight goes upstream unsigned, its answer passed through; authorize is not asked', async () => {
    upstream.reply({ status: 200, headers: { 'access-control-allow-origin': 'https://app.example', 'access-control-allow-methods': 'PUT' } });
    const answer = await proxy.send({ method: 'OPTIONS', path: '/alpha/obj', sign: 'none', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(upstream.last()).toMatchObject({ method: 'OPTIONS', path: '/alpha/obj', auth: { kind: 'none' } });
    expect(calls).toHaveLength(0);
  });

  it('an incomplete preflight is 400 InvalidArgument without reaching the upstream', async () => {
    const answer = await proxy.send({ method: 'OPTIONS', path: '/alpha/obj', sign: 'none', headers: { origin: 'https://app.example' } });
    expect([answer.status, answer.code]).toEqual([400, 'InvalidArgument']);
    expect(upstream.requests).toHaveLength(0);
  });

  it("the proxy's own errors carry the bucket's CORS headers (asked of the backend with a preflight)", async () => {
    upstream.reply({ status: 200, headers: { 'access-control-allow-origin': 'https://app.example', vary: 'Origin' } });
    const answer = await proxy.send({ method: 'PUT', path: '/alpha/x', body: 'x', key: { accessKey: FRONTEND.accessKey, secretKey: 'bad' }, headers: { origin: 'https://app.example' } });
    expect([answer.status, answer.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(upstream.last()).toMatchObject({ method: 'OPTIONS', path: '/alpha', auth: { kind: 'none' }, headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } });
  });

  it('anonymous GET goes upstream unsigned; with signAnonymousRequests it is signed with the bucket keys', async () => {
    expect((await proxy.send({ path: '/alpha/pub', sign: 'none' })).status).toBe(200);
    expect(upstream.last()).toMatchObject({ path: '/alpha/pub', auth: { kind: 'none' } });
    expect((await proxy.send({ path: '/public/pub', sign: 'none' })).status).toBe(200);
    expect(upstream.last()).toMatchObject({ path: '/public/pub', auth: { kind: 'sigv4', valid: true } });
    expect(calls.map((c) => c.token)).toEqual([null, null]);
  });

  it('anonymous response-* overrides are 400 InvalidRequest; an anonymous request authorize refuses is 403', async () => {
    const override = await proxy.send({ path: '/alpha/pub', sign: 'none', query: { 'response-content-type': 'text/html' } });
    expect([override.status, override.code]).toEqual([400, 'InvalidRequest']);
    const refused = await proxy.send({ path: '/beta/x', sign: 'none' });
    expect([refused.status, refused.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(0);
  });
});
