/**
 * authorize through the chain: the callback fails closed (throw, timeout, non-true answers), its
 * decisions are cached per request variant, and shared between instances with
 * `sharedCache.decisions`.
 */
import { createMemorySharedStore, type AuthorizeRequest, type OspOptions } from '../../../lib';
import { FRONTEND, kitBucket, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
const started: KitChain[] = [];
async function chain(options: Partial<OspOptions>): Promise<KitChain> {
  const c = await startChain({ buckets: { b: kitBucket(upstream) }, hmacKeystore: [FRONTEND], ...options } as OspOptions);
  started.push(c);
  return c;
}
beforeAll(async () => {
  upstream = await startKitUpstream();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.close()));
  upstream.clear();
});
afterAll(() => upstream.close());

describe('the authorize callback fails closed', () => {
  it('a throw is 500 InternalError (its message not shown), a timeout 503, a truthy non-true answer a denial', async () => {
    const logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const throwing = await chain({
      logger,
      authorize: () => {
        throw new Error('policy db exploded');
      },
    });
    const a = await throwing.send({ path: '/b/k' });
    expect([a.status, a.code]).toEqual([500, 'InternalError']);
    expect(a.body.toString()).not.toContain('exploded');
    expect(logger.error).toHaveBeenCalled();
    const slow = await chain({ authorize: () => new Promise<boolean>(() => undefined), authorizeTimeoutMs: 20 });
    const b = await slow.send({ path: '/b/k' });
    expect([b.status, b.code]).toEqual([503, 'ServiceUnavailable']);
    const truthy = await chain({ authorize: (() => 'yes') as unknown as OspOptions['authorize'] });
    expect((await truthy.send({ path: '/b/k' })).code).toBe('AccessDenied');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('cached decisions', () => {
  it('are per request variant: another x-amz-acl or query is asked again, the same request is not', async () => {
    const asked: AuthorizeRequest[] = [];
    const proxy = await chain({ authorize: (_t, _b, req) => (asked.push(req), req.headers['x-amz-acl'] !== 'public-read') });
    expect((await proxy.send({ method: 'PUT', path: '/b/k', body: 'x' })).status).toBe(200);
    expect((await proxy.send({ method: 'PUT', path: '/b/k', body: 'y' })).status).toBe(200);
    expect(asked).toHaveLength(1);
    const acl = await proxy.send({ method: 'PUT', path: '/b/k', body: 'x', headers: { 'x-amz-acl': 'public-read' } });
    expect(acl.code).toBe('AccessDenied');
    expect((await proxy.send({ method: 'PUT', path: '/b/k', body: 'x', headers: { 'x-amz-acl': 'public-read' } })).code).toBe('AccessDenied');
    expect((await proxy.send({ path: '/b/k', query: { versionId: '1' } })).status).toBe(200);
    expect(asked.map((r) => [r.operation, r.headers['x-amz-acl'], r.query])).toEqual([
      ['PutObject', undefined, {}],
      ['PutObject', 'public-read', {}],
      ['GetObject', undefined, { versionId: '1' }],
    ]);
    expect(upstream.requests.map((r) => r.method)).toEqual(['PUT', 'PUT', 'GET']);
  });

  it('with sharedCache.decisions, a decision made by one instance serves another', async () => {
    const store = createMemorySharedStore();
    let calls = 0;
    const authorize = () => (calls++, true);
    const a = await chain({ sharedStore: store, sharedCache: { decisions: true }, authorize });
    const b = await chain({ sharedStore: store.connect(), sharedCache: { decisions: true }, authorize });
    expect((await a.send({ path: '/b/shared' })).status).toBe(200);
    expect((await b.send({ path: '/b/shared' })).status).toBe(200);
    expect(calls).toBe(1);
    expect(upstream.requests).toHaveLength(2);
  });
});
