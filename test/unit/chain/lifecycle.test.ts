/**
 * The middleware as a whole and its exported stages, through the public API (lib/index.ts):
 * composing the stages with your own auth, update(), revocation through a shared store, presigned
 * use limits on a shared store, contextOf, the error hook and s3ErrorHandler.
 */
import type { NextFunction, Request, Response } from 'express';
import {
  authorize,
  createMemorySharedStore,
  OspConfigError,
  resolveBackend,
  s3ErrorHandler,
  s3Proxy,
  setOspIdentity,
  OspError,
  type OspMiddleware,
  type OspOptions,
  type SharedStateStore,
} from '../../../lib';
import { presignQuery } from '../../helpers/independent-signer';
import { call } from '../../helpers/raw-http';
import { FRONTEND, kitBucket, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
const started: KitChain[] = [];
async function chain(options: OspOptions, extra: Parameters<typeof startChain>[1] = {}): Promise<KitChain> {
  const c = await startChain(options, extra);
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

describe('the exported stages composed with your own auth (setOspIdentity)', () => {
  const tokens: (string | null)[] = [];
  const opts = (): OspOptions => ({
    buckets: { b: kitBucket(upstream) },
    hmacKeystore: [FRONTEND],
    authorize: (token) => {
      tokens.push(token);
      return token !== 'user:blocked';
    },
  });
  const as = (identity: string | null) => (req: Request, _res: Response, next: NextFunction) => {
    setOspIdentity(req, identity);
    next();
  };
  beforeEach(() => (tokens.length = 0));

  it('authorize → resolveBackend → s3Proxy: the identity reaches authorize, the request goes upstream signed with the bucket keys', async () => {
    const o = opts();
    const proxy = await chain(o, { handler: [as('user:1'), authorize(o), resolveBackend(o), s3Proxy(o), s3ErrorHandler()] });
    const answer = await proxy.send({ method: 'PUT', path: '/b/k', sign: 'none', body: 'data' });
    expect(answer.status).toBe(200);
    expect(upstream.last()).toMatchObject({ method: 'PUT', path: '/b/k', auth: { kind: 'sigv4', valid: true } });
    expect(upstream.last().body.toString()).toBe('data');
    expect(tokens).toEqual(['user:1']);
  });

  it('a refused identity is 403; setOspIdentity(req, null) is anonymous: unsigned upstream', async () => {
    const o = opts();
    const blocked = await chain(o, { handler: [as('user:blocked'), authorize(o), resolveBackend(o), s3Proxy(o), s3ErrorHandler()] });
    expect((await blocked.send({ path: '/b/k', sign: 'none' })).code).toBe('AccessDenied');
    expect(upstream.requests).toHaveLength(0);
    const anon = await chain(o, { handler: [as(null), authorize(o), resolveBackend(o), s3Proxy(o), s3ErrorHandler()] });
    expect((await anon.send({ path: '/b/k', sign: 'none' })).status).toBe(200);
    expect(upstream.last().auth).toEqual({ kind: 'none' });
  });

  it('stages in the wrong order fail closed: authorize without authentication 403, s3Proxy without resolveBackend 500', async () => {
    const o = opts();
    const noAuth = await chain(o, { handler: [authorize(o), resolveBackend(o), s3Proxy(o), s3ErrorHandler()] });
    const a = await noAuth.send({ path: '/b/k', sign: 'none' });
    expect([a.status, a.code]).toEqual([403, 'AccessDenied']);
    const noResolve = await chain(o, { handler: [as('user:1'), authorize(o), s3Proxy(o), s3ErrorHandler()] });
    const b = await noResolve.send({ path: '/b/k', sign: 'none' });
    expect([b.status, b.code]).toEqual([500, 'InternalError']);
    const noAuthorize = await chain(o, { handler: [as('user:1'), s3Proxy(o), s3ErrorHandler()] });
    expect((await noAuthorize.send({ path: '/', sign: 'none' })).code).toBe('AccessDenied');
    expect(upstream.requests).toHaveLength(0);
  });

  it('s3ErrorHandler: an unknown error is 500 InternalError without its message; a 4xx error keeps its status', async () => {
    const boom = await chain(opts(), {
      handler: [
        (req: Request, _res: Response, next: NextFunction) => next(req.url.includes('client') ? Object.assign(new Error('bad json'), { status: 413 }) : new Error('secret internals')),
        s3ErrorHandler({ serverName: 'Kit' }),
      ],
    });
    const a = await boom.send({ path: '/b/k', sign: 'none' });
    expect([a.status, a.code, a.headers.server]).toEqual([500, 'InternalError', 'Kit']);
    expect(a.body.toString()).not.toContain('secret internals');
    const b = await boom.send({ path: '/b/client', sign: 'none' });
    expect([b.status, b.code]).toEqual([413, 'InvalidRequest']);
  });
});

describe('ospMiddleware', () => {
  it('update(): a new bucket works at once, a removed one is 404; invalid options throw and the current ones stay', async () => {
    const proxy = await chain({ buckets: { one: kitBucket(upstream) }, hmacKeystore: [FRONTEND] });
    expect((await proxy.send({ path: '/one/k' })).status).toBe(200);
    proxy.middleware.update({ buckets: { two: kitBucket(upstream) }, hmacKeystore: [FRONTEND] });
    expect((await proxy.send({ path: '/two/k' })).status).toBe(200);
    expect((await proxy.send({ path: '/one/k' })).code).toBe('NoSuchBucket');
    expect(() => proxy.middleware.update({ buckets: { two: { host: '' } }, hmacKeystore: [FRONTEND] })).toThrow(OspConfigError);
    expect(() => proxy.middleware.update({ buckets: { two: kitBucket(upstream) }, hmacKeystore: [FRONTEND], sharedStore: createMemorySharedStore() })).toThrow(/cannot be replaced in update/);
    expect((await proxy.send({ path: '/two/k' })).status).toBe(200);
    expect(upstream.requests.map((r) => r.path)).toEqual(['/one/k', '/two/k', '/two/k']);
  });

  it('contextOf() gives a stage-independent view before the chain; the error hook and the error body share its request id', async () => {
    const errors: OspError[] = [];
    let seen: { requestId: string; bucket?: string; operation: string } | undefined;
    const holder: { mw?: OspMiddleware } = {};
    const proxy = await chain(
      { buckets: { b: kitBucket(upstream) }, hmacKeystore: [FRONTEND], on: { error: (_req, e) => errors.push(e) } },
      {
        before: [
          (req: Request, _res: Response, next: NextFunction) => {
            const ctx = holder.mw!.contextOf(req);
            seen = { requestId: ctx.requestId, bucket: ctx.bucket, operation: ctx.operation };
            next();
          },
        ],
      },
    );
    holder.mw = proxy.middleware;
    const answer = await proxy.send({ method: 'DELETE', path: '/b/k', key: { accessKey: 'nobody', secretKey: 'x' } });
    expect(answer.code).toBe('InvalidAccessKeyId');
    expect(seen).toMatchObject({ bucket: 'b', operation: 'DeleteObject' });
    expect(answer.headers['x-amz-request-id']).toBe(seen?.requestId);
    expect(errors.map((e) => e.s3Code)).toEqual(['InvalidAccessKeyId']);
  });

  it('setOspIdentity after contextOf (your own auth before the middleware): the request skips signature checks and is authorized as that identity', async () => {
    const tokens: (string | null)[] = [];
    const holder: { mw?: OspMiddleware } = {};
    const proxy = await chain(
      { buckets: { b: kitBucket(upstream) }, hmacKeystore: [FRONTEND], authorize: (token) => (tokens.push(token), true) },
      {
        before: [
          (req: Request, _res: Response, next: NextFunction) => {
            holder.mw!.contextOf(req);
            setOspIdentity(req, 'session:42');
            next();
          },
        ],
      },
    );
    holder.mw = proxy.middleware;
    expect((await proxy.send({ path: '/b/k', sign: 'none' })).status).toBe(200);
    expect(tokens).toEqual(['session:42']);
    expect(upstream.last().auth).toMatchObject({ kind: 'sigv4', valid: true });
  });

  it('revokeAccessKey on one instance drops the cached secret in another sharing the store; invalidateBucket drops cached decisions', async () => {
    const store = createMemorySharedStore();
    const fetches: string[] = [];
    const decisions: string[] = [];
    const options = (shared: SharedStateStore): OspOptions => ({
      buckets: { b: kitBucket(upstream) },
      sharedStore: shared,
      hmacFetcher: (ak) => (fetches.push(ak), ak === 'F' ? 'F-SK' : null),
      authorize: (token, bucket) => (decisions.push(`${token}@${bucket}`), true),
    });
    const a = await chain(options(store));
    const b = await chain(options(store.connect()));
    const key = { accessKey: 'F', secretKey: 'F-SK' };
    expect((await b.send({ path: '/b/k', key })).status).toBe(200);
    expect((await b.send({ path: '/b/k', key })).status).toBe(200);
    expect([fetches.length, decisions.length]).toEqual([1, 1]);
    expect(await a.middleware.revokeAccessKey('F')).toBe(true);
    await new Promise((r) => setImmediate(r)); // the invalidation message is delivered asynchronously
    expect((await b.send({ path: '/b/k', key })).status).toBe(200);
    expect(fetches.length).toBe(2);
    const before = decisions.length;
    expect(await b.middleware.invalidateBucket('b', { localOnly: true })).toBe(true);
    expect((await b.send({ path: '/b/k', key })).status).toBe(200);
    expect(decisions.length).toBe(before + 1);
  });

  it('presigned URL use limits count on the shared store, across instances', async () => {
    const store = createMemorySharedStore();
    const options = (shared: SharedStateStore): OspOptions => ({ buckets: { b: kitBucket(upstream) }, hmacKeystore: [FRONTEND], sharedStore: shared, maxPresignUrlUsageAttempts: 1 });
    const a = await chain(options(store));
    const b = await chain(options(store.connect()));
    // One URL (signed for instance a's Host), used at a, then at b behind the same name.
    const host = `127.0.0.1:${a.port}`;
    const query = await presignQuery({ method: 'GET', host, path: '/b/once', accessKeyId: FRONTEND.accessKey, secretAccessKey: FRONTEND.secretKey });
    expect((await call(`http://${host}/b/once?${query}`)).status).toBe(200);
    const again = await call(`http://127.0.0.1:${b.port}/b/once?${query}`, 'GET', { host });
    expect([again.status, again.code]).toEqual([403, 'AccessDenied']);
    expect(again.message).toContain('usage limit');
    expect(upstream.requests).toHaveLength(1);
  });

  it("presignedOnStoreError 'allow': a failing store serves presigned URLs uncounted; 'reject' refuses them (503)", async () => {
    const broken = (): SharedStateStore => {
      const s = createMemorySharedStore();
      // As the Redis store fails: a 503 OspError (a custom store rejecting with a plain Error gives 500).
      return Object.assign(s, { increment: () => Promise.reject(new OspError(503, 'ServiceUnavailable', 'The shared state store is unavailable; please retry.')) });
    };
    const warn = jest.fn();
    const logger = { warn, error: jest.fn(), info: jest.fn(), debug: jest.fn() };
    const base = { buckets: { b: kitBucket(upstream) }, hmacKeystore: [FRONTEND], maxPresignUrlUsageAttempts: 1, logger } as OspOptions;
    const allow = await chain({ ...base, sharedStore: broken(), presignedOnStoreError: 'allow' });
    expect((await allow.send({ path: '/b/k', sign: 'presign' })).status).toBe(200);
    expect((await allow.send({ path: '/b/k', sign: 'presign' })).status).toBe(200);
    expect(warn).toHaveBeenCalledTimes(1);
    const reject = await chain({ ...base, sharedStore: broken() });
    const refused = await reject.send({ path: '/b/k', sign: 'presign' });
    expect([refused.status, refused.code]).toEqual([503, 'ServiceUnavailable']);
    expect(upstream.requests).toHaveLength(2);
  });
});
