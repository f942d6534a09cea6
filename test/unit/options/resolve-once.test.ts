/**
 * Issue [2/5] item 2: the options are resolved (validated, defaulted, compiled) once per
 * `ospMiddleware()` and once per `update()`, the stages sharing the result; the exported stage
 * factories still take plain options. And `update()` refuses a replaced store instead of keeping
 * the old one silently (it compared them with JSON.stringify, which sees `{}` for any store).
 */
import { ospMiddleware } from '../../../lib/osp-middleware';
import { authorize } from '../../../lib/middleware/authorize';
import { limitPresignedUrlUsage } from '../../../lib/middleware/limit-presigned-usage';
import { postObject } from '../../../lib/middleware/post-object';
import { resolveBackend } from '../../../lib/middleware/resolve-backend';
import { s3Proxy } from '../../../lib/middleware/proxy';
import { verifySignature } from '../../../lib/middleware/verify-signature';
import { createMemorySharedStore } from '../../../lib/cache/shared-store';
import { createMemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import { OspConfigError } from '../../../lib/errors';
import type { BucketConfig, OspOptions } from '../../../lib/options';

const BUCKETS: Record<string, BucketConfig> = { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } };
const KEYS = [{ accessKey: 'client1', secretKey: 'client1-secret' }];

/**
 * Options whose `buckets` map counts how often its entries are listed: resolveOptions lists them
 * exactly once (to validate and compile the bucket table), and a copy of the options (spread)
 * still holds the same map, so the count is the number of times the options were resolved.
 */
function countingOptions(extra: Partial<OspOptions> = {}): { options: OspOptions; resolutions: () => number } {
  let listings = 0;
  const buckets = new Proxy(BUCKETS, {
    ownKeys(target) {
      listings++;
      return Reflect.ownKeys(target);
    },
  });
  const options: OspOptions = { buckets, hmacKeystore: KEYS, ...extra };
  return { options, resolutions: () => listings };
}

describe('options resolved once', () => {
  it('once per ospMiddleware() and once per update(), for all the stages', async () => {
    const { options, resolutions } = countingOptions();
    const mw = ospMiddleware(options);
    try {
      expect(resolutions()).toBe(1);
      mw.update(options);
      expect(resolutions()).toBe(2);
      const next = countingOptions();
      mw.update(next.options);
      expect([resolutions(), next.resolutions()]).toEqual([2, 1]);
    } finally {
      await mw.close();
    }
  });

  it('a failed update() resolves once and leaves the current options in force', async () => {
    const mw = ospMiddleware({ buckets: BUCKETS, hmacKeystore: KEYS });
    try {
      const { options, resolutions } = countingOptions({ maxSkewSeconds: -1 });
      expect(() => mw.update(options)).toThrow(OspConfigError);
      expect(resolutions()).toBe(1);
      expect(mw.stages.verifySignature).toBeDefined();
    } finally {
      await mw.close();
    }
  });

  it('each exported stage factory still takes plain options, resolving them once', async () => {
    const factories = [verifySignature, authorize, limitPresignedUrlUsage, resolveBackend, s3Proxy, postObject] as const;
    for (const factory of factories) {
      const { options, resolutions } = countingOptions();
      const stage = (factory as (o: OspOptions) => { close?(): void })(options);
      expect([factory.name, resolutions()]).toEqual([factory.name, 1]);
      stage.close?.();
    }
  });

  it('an object shaped like resolved options is not taken for one: it is validated as user options', () => {
    // Only objects resolveOptions returned are used unvalidated (a module-private WeakSet), so a
    // look-alike cannot smuggle unvalidated settings into a stage.
    const lookalike = Object.freeze({ buckets: BUCKETS, hmacKeystore: KEYS, maxSkewMs: 10, keyPolicies: new Map() });
    expect(() => verifySignature(lookalike as unknown as OspOptions)).toThrow(/ERR_OSP_UNKNOWN_OPTION maxSkewMs/);
  });
});

describe('update() and the stores the middleware holds', () => {
  const base: OspOptions = { buckets: BUCKETS, hmacKeystore: KEYS };

  it('sharedStore: the same object is accepted; a replaced, added or removed one throws, naming the option', async () => {
    const store = createMemorySharedStore();
    const mw = ospMiddleware({ ...base, sharedStore: store });
    try {
      expect(() => mw.update({ ...base, sharedStore: store, maxSkewSeconds: 60 })).not.toThrow();
      expect(mw.sharedStore).toBe(store);
      const replaced = createMemorySharedStore();
      let error: unknown;
      try {
        mw.update({ ...base, sharedStore: replaced });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OspConfigError);
      expect(error).toMatchObject({ code: 'ERR_OSP_INVALID_OPTION', option: 'sharedStore' });
      expect((error as Error).message).toMatch(/cannot be replaced in update\(\).*pass the same store object again, or create a new middleware/);
      expect(() => mw.update(base)).toThrow(/sharedStore: cannot be replaced/);
      await replaced.close();
    } finally {
      await mw.close();
      await store.close();
    }
    const none = ospMiddleware(base);
    expect(() => none.update({ ...base, sharedStore: createMemorySharedStore() })).toThrow(/sharedStore: cannot be replaced/);
    await none.close();
  });

  it('usageStore: the same object is accepted and keeps counting; a replaced one throws', async () => {
    const store = createMemoryUsageStore({ sweepIntervalMs: 0 });
    const mw = ospMiddleware({ ...base, usageStore: store });
    try {
      mw.update({ ...base, usageStore: store });
      expect(mw.stages.limitPresignedUrlUsage.store).toBe(store);
      const replaced = createMemoryUsageStore({ sweepIntervalMs: 0 });
      expect(() => mw.update({ ...base, usageStore: replaced })).toThrow(expect.objectContaining({ code: 'ERR_OSP_INVALID_OPTION', option: 'usageStore' }));
      expect(() => mw.update(base)).toThrow(/usageStore: cannot be replaced/);
      // The refused updates changed nothing.
      expect(mw.stages.limitPresignedUrlUsage.store).toBe(store);
      replaced.close();
    } finally {
      await mw.close();
    }
  });

  it('redis: equal settings (as a URL or an object) are accepted; other settings throw', async () => {
    // Nothing listens there: the middleware's store retries in the background until close().
    const mw = ospMiddleware({ ...base, redis: 'redis://127.0.0.1:1/0', presignedOnStoreError: 'allow' });
    try {
      expect(() => mw.update({ ...base, redis: { url: 'redis://127.0.0.1:1/0' }, presignedOnStoreError: 'allow' })).not.toThrow();
      expect(() => mw.update({ ...base, redis: 'redis://127.0.0.1:2/0' })).toThrow(/redis: cannot be replaced/);
      expect(() => mw.update({ ...base, redis: { url: 'redis://127.0.0.1:1/0', keyPrefix: 'other:' } })).toThrow(/redis: cannot be replaced/);
    } finally {
      await mw.close();
    }
  });

  it('without a store of the user, the in-memory presigned counts carry over every update', async () => {
    const mw = ospMiddleware(base);
    try {
      const store = mw.stages.limitPresignedUrlUsage.store;
      mw.update({ ...base, maxPresignedUrlUses: 5 });
      expect(mw.stages.limitPresignedUrlUsage.store).toBe(store);
    } finally {
      await mw.close();
    }
  });
});
