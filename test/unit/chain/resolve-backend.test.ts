/**
 * resolveBackend through the chain against the kit upstream: bucket resolvers, fetched backend
 * credentials, IBM IAM bearer tokens (with the one retry of a replayable request whose token COS
 * rejected) and the failures of each, fail closed.
 */
import { createHash } from 'node:crypto';
import type { BucketConfig, OspOptions } from '../../../lib/options';
import { startIamStandIn, type IamStandIn } from '../../helpers/iam-stand-in';
import { FRONTEND, kitBucket, s3Xml, startChain, startKitUpstream, UPSTREAM_KEYS, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
const started: KitChain[] = [];
async function chain(options: Partial<OspOptions>): Promise<KitChain> {
  const c = await startChain({ hmacKeystore: [FRONTEND], buckets: {}, ...options } as OspOptions);
  started.push(c);
  return c;
}

beforeAll(async () => {
  upstream = await startKitUpstream({ keys: { [UPSTREAM_KEYS.accessKey]: UPSTREAM_KEYS.secretKey, FETCHED: 'FETCHED-SK' } });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.close()));
  upstream.clear();
});
afterAll(() => upstream.close());

describe('a buckets resolver', () => {
  it('is asked with the verified identity; its answer routes and signs the request', async () => {
    const asked: [string, string | null][] = [];
    const proxy = await chain({
      buckets: async (bucket, ctx) => {
        asked.push([bucket, ctx.token]);
        return bucket === 'dyn' ? kitBucket(upstream, { backendBucket: 'dyn-real' }) : undefined;
      },
    });
    expect((await proxy.send({ path: '/dyn/k' })).status).toBe(200);
    expect(upstream.last()).toMatchObject({ path: '/dyn-real/k', auth: { kind: 'sigv4', valid: true } });
    expect(asked).toEqual([['dyn', FRONTEND.accessKey]]);
    const unknown = await proxy.send({ path: '/other/k' });
    expect([unknown.status, unknown.code]).toEqual([404, 'NoSuchBucket']);
  });

  it('that throws is 503 ServiceUnavailable; that is too slow is 503 too; an invalid answer is 500', async () => {
    const throwing = await chain({
      buckets: () => {
        throw new Error('db down');
      },
    });
    const a = await throwing.send({ path: '/x/k' });
    expect([a.status, a.code]).toEqual([503, 'ServiceUnavailable']);
    expect(a.body.toString()).not.toContain('db down');
    const slow = await chain({ buckets: () => new Promise<BucketConfig>(() => undefined), bucketResolverTimeoutMs: 20 });
    expect((await slow.send({ path: '/x/k' })).message).toBe('Looking up the bucket timed out; please retry.');
    const invalid = await chain({ buckets: () => ({ host: '' }) as BucketConfig });
    expect((await invalid.send({ path: '/x/k' })).status).toBe(500);
    expect(upstream.requests).toHaveLength(0);
  });

  it('ListBuckets with a resolver lists nothing (the buckets are not enumerable)', async () => {
    const proxy = await chain({ buckets: () => kitBucket(upstream) });
    const answer = await proxy.send({ path: '/' });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).not.toContain('<Bucket>');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('bucketCredsFetcher', () => {
  it('signs with the fetched keys (and session token), asked once per caller and bucket', async () => {
    const asked: [string | null, string][] = [];
    const { accessKey: _a, secretKey: _s, ...noKeys } = kitBucket(upstream);
    const proxy = await chain({
      buckets: { fetched: noKeys },
      bucketCredsFetcher: (token, bucket) => {
        asked.push([token, bucket]);
        return { accessKey: 'FETCHED', secretKey: 'FETCHED-SK', sessionToken: 'session-1' };
      },
    });
    expect((await proxy.send({ path: '/fetched/a' })).status).toBe(200);
    expect((await proxy.send({ path: '/fetched/b' })).status).toBe(200);
    expect(upstream.last()).toMatchObject({ auth: { kind: 'sigv4', accessKeyId: 'FETCHED', valid: true }, headers: { 'x-amz-security-token': 'session-1' } });
    if (upstream.last().auth.kind === 'sigv4') expect((upstream.last().auth as { signedHeaders: string[] }).signedHeaders).toContain('x-amz-security-token');
    expect(asked).toEqual([[FRONTEND.accessKey, 'fetched']]);
  });

  it('that fails is 503 and nothing is sent; an anonymous caller is never looked up (unsigned upstream)', async () => {
    const { accessKey: _a, secretKey: _s, ...noKeys } = kitBucket(upstream);
    const tokens: (string | null)[] = [];
    const proxy = await chain({
      buckets: { fetched: noKeys },
      allowAnonymous: true,
      bucketCredsFetcher: (token) => {
        tokens.push(token);
        throw new Error('vault sealed');
      },
    });
    const a = await proxy.send({ path: '/fetched/a' });
    expect(a.status).toBe(503);
    expect(a.body.toString()).not.toContain('vault');
    expect(upstream.requests).toHaveLength(0);
    expect((await proxy.send({ path: '/fetched/a', sign: 'none' })).status).toBe(200);
    expect(upstream.last().auth).toEqual({ kind: 'none' });
    expect(tokens).toEqual([FRONTEND.accessKey]);
  });
});

describe('IBM IAM bearer tokens', () => {
  let iam: IamStandIn;
  beforeAll(async () => {
    iam = await startIamStandIn({ apiKeys: ['kit-api-key'] });
  });
  afterAll(() => iam.close());

  const cosOptions = (refreshes: string[]): Partial<OspOptions> => {
    const { accessKey: _a, secretKey: _s, ...base } = kitBucket(upstream);
    return { buckets: { cos: { ...base, apiKey: 'kit-api-key', profile: 'ibm-cos' } }, iamEndpoint: iam.url, on: { iamTokenRefresh: (o) => refreshes.push(o) } };
  };

  it('sends Authorization: Bearer with the IAM token; a rejected token is renewed and the request retried once', async () => {
    const refreshes: string[] = [];
    const proxy = await chain(cosOptions(refreshes));
    expect((await proxy.send({ path: '/cos/a' })).status).toBe(200);
    const first = iam.currentToken();
    expect(upstream.last().auth).toEqual({ kind: 'bearer', token: first });
    upstream.reply({ status: 403, headers: { 'content-type': 'application/xml' }, body: s3Xml.error('AccessDenied', 'The token has expired') }, { status: 200, body: 'fresh' });
    const answer = await proxy.send({ path: '/cos/b' });
    expect([answer.status, answer.body.toString()]).toEqual([200, 'fresh']);
    const [rejected, retried] = upstream.requests.slice(-2);
    expect(rejected?.auth).toEqual({ kind: 'bearer', token: first });
    expect(retried?.auth.kind).toBe('bearer');
    expect((retried?.auth as { token: string }).token).not.toBe(first);
    expect(retried?.path).toBe('/cos/b');
    expect(refreshes.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(2);
  });

  it('a DeleteObjects body is replayed on the retry: the same bytes and Content-MD5 under a fresh token', async () => {
    const proxy = await chain(cosOptions([]));
    expect((await proxy.send({ path: '/cos/warm' })).status).toBe(200);
    upstream.clear();
    upstream.reply({ status: 401, body: s3Xml.error('InvalidToken') }, { status: 200, body: '<DeleteResult/>' });
    const xml = '<Delete><Object><Key>a</Key></Object></Delete>';
    const answer = await proxy.send({ method: 'POST', path: '/cos', query: { delete: '' }, body: xml });
    expect([answer.status, answer.body.toString()]).toEqual([200, '<DeleteResult/>']);
    const [first, retry] = upstream.requests;
    expect(upstream.requests).toHaveLength(2);
    for (const r of [first, retry]) {
      expect(r).toMatchObject({ method: 'POST', path: '/cos', query: { delete: '' } });
      expect(r?.body.toString()).toBe(xml);
      expect(r?.headers['content-md5']).toBe(createHash('md5').update(xml).digest('base64'));
    }
    expect(retry?.auth).not.toEqual(first?.auth);
    expect(retry?.auth).toEqual({ kind: 'bearer', token: iam.currentToken() });
  });

  it('a 403 that is not about the token passes through unchanged, without a retry', async () => {
    const proxy = await chain(cosOptions([]));
    upstream.reply({ status: 403, headers: { 'content-type': 'application/xml' }, body: s3Xml.error('AccessDenied', 'bucket policy') });
    const answer = await proxy.send({ path: '/cos/c', headers: { 'x-amz-meta-a': '1' } });
    expect([answer.status, answer.code, answer.message]).toEqual([403, 'AccessDenied', 'bucket policy']);
    // A fresh token is young: the rejection is the backend's decision, not the token's.
    expect(upstream.requests.filter((r) => r.path === '/cos/c')).toHaveLength(1);
  });

  it('an IAM that fails is 503 and nothing reaches the backend', async () => {
    const refreshes: string[] = [];
    iam.setMode('error500');
    try {
      const proxy = await chain(cosOptions(refreshes));
      const answer = await proxy.send({ path: '/cos/d' });
      expect(answer.status).toBe(503);
      expect(upstream.requests).toHaveLength(0);
      expect(refreshes).toContain('error');
    } finally {
      iam.setMode('ok');
    }
  });
});
