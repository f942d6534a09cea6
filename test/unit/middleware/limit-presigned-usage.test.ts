import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { limitPresignedUrlUsage } from '../../../lib/middleware/limit-presigned-usage';
import { createMemoryUsageStore, type MemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import type { UsageCounterStore } from '../../../lib/cache/usage-store';
import type { OspEventHooks, OspOptions } from '../../../lib/options';
import { OspError } from '../../../lib/errors';

const T0 = 1_700_000_000_000;

function fakeClock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

type FakeRes = Response & EventEmitter & { statusCode: number; headersSent: boolean; closed: boolean; finishWith(status: number, headersSent?: boolean): void };

function fakeRes(): FakeRes {
  const res = new EventEmitter() as FakeRes;
  res.statusCode = 200;
  res.headersSent = false;
  res.closed = false;
  res.finishWith = (status: number, headersSent = true) => {
    res.statusCode = status;
    res.headersSent = headersSent;
    res.closed = true;
    res.emit('close');
  };
  return res;
}

function presignedReq(signature: string, expiresAtMs: number, bucket = 'photos'): Request {
  return { osp: { bucket, presigned: { signature, expiresAtMs } } } as unknown as Request;
}

/** Runs the middleware once; resolves with what it passed to next (undefined = continue). */
function runOnce(handler: ReturnType<typeof limitPresignedUrlUsage>, req: Request, res: FakeRes): Promise<unknown> {
  return new Promise((resolve) => {
    const next: NextFunction = (err?: unknown) => resolve(err);
    handler(req, res, next);
  });
}

/** Lets pending promise callbacks (store refunds) run. */
const flush = () => new Promise((r) => setImmediate(r));

const BASE: OspOptions = { buckets: { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }, hmacKeystore: [{ accessKey: 'c', secretKey: 's' }] };

describe('limitPresignedUrlUsage', () => {
  const stores: MemoryUsageStore[] = [];
  function setup(limit?: number, on?: OspEventHooks, storeOptions: Parameters<typeof createMemoryUsageStore>[0] = {}) {
    const clock = fakeClock();
    const store = createMemoryUsageStore({ now: clock.now, sweepIntervalMs: 0, ...storeOptions });
    stores.push(store);
    const handler = limitPresignedUrlUsage({ ...BASE, usageStore: store, ...(limit === undefined ? {} : { maxPresignUrlUsageAttempts: limit }), ...(on ? { on } : {}) });
    return { clock, store, handler };
  }
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  test('requests that are not presigned pass untouched and are not counted', async () => {
    const { store, handler } = setup(1);
    for (let i = 0; i < 3; i++) {
      expect(await runOnce(handler, { osp: { bucket: 'photos' } } as unknown as Request, fakeRes())).toBeUndefined();
    }
    expect(store.size()).toBe(0);
  });

  test('default limit 3: three successful uses, the fourth → 403 AccessDenied naming the usage limit', async () => {
    const { handler, store } = setup();
    const exp = T0 + 60_000;
    for (let i = 0; i < 3; i++) {
      const res = fakeRes();
      expect(await runOnce(handler, presignedReq('sig', exp), res)).toBeUndefined();
      res.finishWith(200);
    }
    const err = (await runOnce(handler, presignedReq('sig', exp), fakeRes())) as OspError;
    expect(err).toBeInstanceOf(OspError);
    expect([err.status, err.s3Code]).toEqual([403, 'AccessDenied']);
    expect(err.message).toMatch(/usage limit \(3 uses\)/);
    await flush();
    // The refused attempt was given back: the counter stays at the limit.
    expect(await store.get('sig')).toBe(3);
    // Another URL has its own counter.
    expect(await runOnce(handler, presignedReq('other', exp), fakeRes())).toBeUndefined();
  });

  test.each([
    ['404', 404, true],
    ['403 from the backend', 403, true],
    ['500', 500, true],
    ['503', 503, true],
    ['200 whose headers never went out (client aborted)', 200, false],
  ])('a use answered %s is given back', async (_label, status, headersSent) => {
    const { handler, store } = setup(1);
    for (let i = 0; i < 4; i++) {
      const res = fakeRes();
      expect(await runOnce(handler, presignedReq('sig', T0 + 60_000), res)).toBeUndefined();
      res.finishWith(status, headersSent);
      await flush();
      expect(await store.get('sig')).toBe(0);
    }
  });

  test.each([
    [200, 1],
    [204, 1],
    [206, 1],
    [304, 1],
    [302, 0],
    [412, 0],
  ])('status %i counts %i use', async (status, counted) => {
    const { handler, store } = setup(5);
    const res = fakeRes();
    await runOnce(handler, presignedReq('sig', T0 + 60_000), res);
    res.finishWith(status);
    await flush();
    expect(await store.get('sig')).toBe(counted);
  });

  test('a use is counted on arrival: while it is in flight it occupies the slot', async () => {
    const { handler } = setup(1);
    const inFlight = fakeRes();
    expect(await runOnce(handler, presignedReq('sig', T0 + 60_000), inFlight)).toBeUndefined();
    expect(await runOnce(handler, presignedReq('sig', T0 + 60_000), fakeRes())).toMatchObject({ s3Code: 'AccessDenied' });
    inFlight.finishWith(500);
    await flush();
    expect(await runOnce(handler, presignedReq('sig', T0 + 60_000), fakeRes())).toBeUndefined();
  });

  test('10 concurrent uses with limit 3 → exactly 3 continue', async () => {
    const { handler, store } = setup(3);
    const results = await Promise.all(Array.from({ length: 10 }, () => runOnce(handler, presignedReq('sig', T0 + 60_000), fakeRes())));
    expect(results.filter((r) => r === undefined)).toHaveLength(3);
    expect(results.filter((r) => (r as OspError)?.s3Code === 'AccessDenied')).toHaveLength(7);
    await flush();
    expect(await store.get('sig')).toBe(3);
  });

  test('entries expire with the URL (fake clock): the counter is gone after X-Amz-Date + X-Amz-Expires', async () => {
    const { handler, store, clock } = setup(1);
    const exp = T0 + 5_000;
    const res = fakeRes();
    await runOnce(handler, presignedReq('sig', exp), res);
    res.finishWith(200);
    expect(await runOnce(handler, presignedReq('sig', exp), fakeRes())).toMatchObject({ s3Code: 'AccessDenied' });
    expect(store.size()).toBe(1);
    clock.advance(4_999);
    expect(await store.get('sig')).toBe(1);
    clock.advance(1);
    expect(await store.get('sig')).toBe(0);
    expect(store.size()).toBe(0);
    // A sweep also drops it without an access.
    await runOnce(handler, presignedReq('sig2', clock.now() + 1_000), fakeRes());
    clock.advance(1_000);
    expect(store.sweep()).toBe(1);
    expect(store.size()).toBe(0);
  });

  test('cap policy: a full store refuses NEW URLs with 503 SlowDown (never evicts a live counter), accepts again once entries expire', async () => {
    const { handler, store, clock } = setup(1, {}, { maxEntries: 2 });
    const first = fakeRes();
    await runOnce(handler, presignedReq('a', T0 + 10_000), first);
    first.finishWith(200);
    await runOnce(handler, presignedReq('b', T0 + 60_000), fakeRes());
    const refused = (await runOnce(handler, presignedReq('c', T0 + 60_000), fakeRes())) as OspError;
    expect([refused.status, refused.s3Code]).toEqual([503, 'SlowDown']);
    // The exhausted single-use URL was not pushed out by the flood.
    expect(await runOnce(handler, presignedReq('a', T0 + 10_000), fakeRes())).toMatchObject({ s3Code: 'AccessDenied' });
    clock.advance(10_000); // 'a' expires
    expect(await runOnce(handler, presignedReq('c', T0 + 60_000), fakeRes())).toBeUndefined();
    expect(store.size()).toBe(2);
  });

  test('on: presignedUse for a counted use, presignedRejected at the limit, with the bucket; a throwing hook does not break the request', async () => {
    const calls: string[] = [];
    const { handler } = setup(1, { presignedUse: (b) => void calls.push(`hit:${b}`), presignedRejected: (b) => void calls.push(`rejected:${b}`) });
    await runOnce(handler, presignedReq('sig', T0 + 60_000, 'photos'), fakeRes());
    await runOnce(handler, presignedReq('sig', T0 + 60_000, 'photos'), fakeRes());
    expect(calls).toEqual(['hit:photos', 'rejected:photos']);

    const throwing = setup(1, {
      presignedUse: () => {
        throw new Error('metrics down');
      },
      presignedRejected: () => {
        throw new Error('metrics down');
      },
    });
    expect(await runOnce(throwing.handler, presignedReq('x', T0 + 60_000), fakeRes())).toBeUndefined();
    expect(await runOnce(throwing.handler, presignedReq('x', T0 + 60_000), fakeRes())).toMatchObject({ s3Code: 'AccessDenied' });
  });

  test('a client gone while the use was counted: the use is given back and nothing is forwarded', async () => {
    const { handler, store } = setup(1);
    const res = fakeRes();
    res.closed = true;
    let called = false;
    handler(presignedReq('sig', T0 + 60_000), res, () => {
      called = true;
    });
    await flush();
    await flush();
    expect(called).toBe(false);
    expect(await store.get('sig')).toBe(0);
  });

  test('store failures go to next(err); a failing refund is only logged', async () => {
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, warn: (o: unknown) => warnings.push(o), error() {} };
    const broken: UsageCounterStore = {
      increment: () => Promise.reject(new OspError(503, 'SlowDown', 'store down')),
      decrement: () => Promise.reject(new Error('store down')),
      get: async () => 0,
    };
    const h1 = limitPresignedUrlUsage({ ...BASE, usageStore: broken, logger });
    expect(await runOnce(h1, presignedReq('sig', T0 + 60_000), fakeRes())).toMatchObject({ s3Code: 'SlowDown' });

    let n = 0;
    const refundFails: UsageCounterStore = { increment: async () => ++n, decrement: () => Promise.reject(new Error('down')), get: async () => n };
    const h2 = limitPresignedUrlUsage({ ...BASE, usageStore: refundFails, logger });
    const res = fakeRes();
    expect(await runOnce(h2, presignedReq('sig', T0 + 60_000), res)).toBeUndefined();
    res.finishWith(500);
    await flush();
    expect(warnings).toHaveLength(1);
  });

  test('a key at its share of the store: 503 SlowDown for its new URLs, on.presignedShareExhausted and one warning (with the access key, not the URL); other keys pass', async () => {
    const clock = fakeClock();
    const store = createMemoryUsageStore({ now: clock.now, sweepIntervalMs: 0, maxEntries: 50 });
    stores.push(store);
    const warnings: { obj: unknown; msg?: string }[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: unknown, msg?: string) => void warnings.push({ obj, msg }) };
    const exhausted: string[] = [];
    const handler = limitPresignedUrlUsage({ ...BASE, usageStore: store, logger, on: { presignedShareExhausted: (ak) => void exhausted.push(ak) } });
    const req = (signature: string, identity: string) => ({ osp: { bucket: 'photos', identity, presigned: { signature, expiresAtMs: T0 + 3_600_000 } } }) as unknown as Request;
    for (let i = 0; i < 5; i++) expect(await runOnce(handler, req(`flood-${i}`, 'flooder'), fakeRes())).toBeUndefined();
    for (let i = 5; i < 8; i++) {
      const err = await runOnce(handler, req(`flood-${i}`, 'flooder'), fakeRes());
      expect(err).toMatchObject({ status: 503, s3Code: 'SlowDown' });
    }
    expect(exhausted).toEqual(['flooder', 'flooder', 'flooder']);
    const logged = warnings.filter((w) => w.msg?.includes('share of the presigned-use store'));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.obj).toEqual({ accessKey: 'flooder', share: 5 });
    expect(JSON.stringify(warnings)).not.toContain('flood-');
    expect(await runOnce(handler, req('fresh', 'victim'), fakeRes())).toBeUndefined();
  });
});
