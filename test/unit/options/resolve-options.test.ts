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
