import { resolveOptions, type BucketConfig, type OspOptions } from '../../../lib/options';
import type { BucketTable } from '../../../lib/s3/bucket-table';
import { OspConfigError } from '../../../lib/errors';
import { ospMiddleware } from '../../../lib/osp-middleware';

const valid: OspOptions = {
  buckets: { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } },
  hmacKeystore: [{ accessKey: 'client1', secretKey: 'secret1' }],
};

function configError(fn: () => unknown): OspConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OspConfigError);
    return e as OspConfigError;
  }
  throw new Error('expected an OspConfigError');
}

describe('resolveOptions', () => {
  it('applies documented defaults', () => {
    const o = resolveOptions(valid);
    const b = (o.buckets as BucketTable<BucketConfig>).lookup('photos')?.config;
    expect(b).toMatchObject({ port: 443, tls: true, ttl: 300, addressingStyle: 'virtual' });
    expect(o.maxSkewMs).toBe(900_000);
    expect(o.verify).toBe(true);
    expect(o.maxPresignUrlUsageAttempts).toBe(3);
  });
  it('tls defaults to false on other ports; ttl 0 is kept (caching off), not replaced by 300', () => {
    const o = resolveOptions({ ...valid, buckets: { b: { host: '127.0.0.1', port: 9000, ttl: 0 } } });
    expect((o.buckets as BucketTable<BucketConfig>).lookup('b')?.config).toMatchObject({ tls: false, ttl: 0 });
  });
  it('durations name their unit; the seed names stay accepted as aliases, not both at once', () => {
    const named = resolveOptions({ ...valid, hmacCacheTtlSeconds: 60, hmacNegativeCacheTtlSeconds: 5, maxPresignedUrlUses: 7, buckets: { p: { host: 'h', ttlSeconds: 9 } } });
    const aliased = resolveOptions({ ...valid, hmacCacheTtl: 60, hmacNegativeCacheTtl: 5, maxPresignUrlUsageAttempts: 7, buckets: { p: { host: 'h', ttl: 9 } } });
    for (const o of [named, aliased]) {
      expect([o.hmacCacheTtl, o.hmacNegativeCacheTtl, o.maxPresignUrlUsageAttempts]).toEqual([60, 5, 7]);
      expect((o.buckets as BucketTable<BucketConfig>).lookup('p')?.config).toMatchObject({ ttl: 9, ttlSeconds: 9 });
    }
    expect(configError(() => resolveOptions({ ...valid, hmacCacheTtl: 1, hmacCacheTtlSeconds: 2 })).option).toBe('hmacCacheTtl');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', ttl: 1, ttlSeconds: 2 } } })).option).toBe('buckets.p.ttl');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', ttlSeconds: -1 } } })).option).toBe('buckets.p.ttlSeconds');
  });
  it('validates the on hooks map', () => {
    expect(configError(() => resolveOptions({ ...valid, on: { nope: () => undefined } as never })).option).toBe('on.nope');
    expect(configError(() => resolveOptions({ ...valid, on: { error: 'x' } as never })).option).toBe('on.error');
    expect(Object.keys(resolveOptions({ ...valid, on: { error: () => undefined } }).on)).toEqual(['error']);
  });
  it('validates the issue [9] options', () => {
    expect(configError(() => resolveOptions({ ...valid, acceptedRegions: [] })).option).toBe('acceptedRegions');
    expect(configError(() => resolveOptions({ ...valid, hmacFetcherTimeoutMs: 0 })).option).toBe('hmacFetcherTimeoutMs');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', signAnonymousRequests: 'yes' as never } } })).option).toBe('buckets.p.signAnonymousRequests');
    const o = resolveOptions(valid);
    expect([o.hmacFetcherTimeoutMs, o.bucketCredsFetcherTimeoutMs, o.bucketResolverTimeoutMs, o.acceptedRegions, o.allowDotSegmentsInKeys]).toEqual([5000, 5000, 5000, undefined, false]);
  });
  it('does not modify the caller object', () => {
    const opts = JSON.parse(JSON.stringify(valid));
    resolveOptions(opts);
    expect(opts).toEqual(valid);
  });
  it('rejects unknown options with the name', () => {
    const e = configError(() => resolveOptions({ ...valid, hmacKeyStore: [] } as unknown as OspOptions));
    expect(e.code).toBe('ERR_OSP_UNKNOWN_OPTION');
    expect(e.option).toBe('hmacKeyStore');
  });
  it('rejects bad bucket fields with option path, rule and example', () => {
    const e = configError(() => resolveOptions({ ...valid, buckets: { photos: { host: 'https://s3.example.com' } } }));
    expect(e.option).toBe('buckets.photos.host');
    expect(e.message).toMatch(/example/);
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', port: 70000 } } })).option).toBe('buckets.p.port');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', accessKey: 'a' } } })).option).toBe('buckets.p.accessKey');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', addressingStyle: 'dns' as 'path' } } })).option).toBe('buckets.p.addressingStyle');
    expect(configError(() => resolveOptions({ ...valid, buckets: { p: { host: 'h', colour: 1 } as never } })).code).toBe('ERR_OSP_UNKNOWN_OPTION');
  });
  it('requires frontend keys unless anonymous or skipping signatures', () => {
    expect(configError(() => resolveOptions({ buckets: {} })).code).toBe('ERR_OSP_MISSING_OPTION');
    expect(() => resolveOptions({ buckets: {}, allowAnonymous: true })).not.toThrow();
  });
  it('accepts validator as an alias of authorize, not both', () => {
    const f = () => true;
    expect(resolveOptions({ ...valid, validator: f }).authorize).toBe(f);
    expect(configError(() => resolveOptions({ ...valid, validator: f, authorize: f })).option).toBe('validator');
  });
  it('rejects non-ASCII serverName', () => {
    expect(configError(() => resolveOptions({ ...valid, serverName: 'Prøxy' })).option).toBe('serverName');
  });
  it('catches app.use(ospMiddleware) without calling the factory', () => {
    const fakeReq = { method: 'GET', headers: {}, url: '/' };
    expect(configError(() => (ospMiddleware as unknown as (r: unknown) => void)(fakeReq)).code).toBe('ERR_OSP_FACTORY_NOT_CALLED');
  });
});
