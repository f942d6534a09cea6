/** Shared-state building blocks: option validation, the secret box, the in-memory shared store. */
import { randomBytes } from 'node:crypto';
import { resolveOptions, type OspOptions } from '../../../lib/options';
import { createSecretBox, parseEncryptionKey } from '../../../lib/cache/secret-box';
import { createMemorySharedStore } from '../../../lib/cache/shared-store';
import { decisionKeyOf, decisionsOfBucket, decisionsOfIdentity } from '../../../lib/cache/shared-keys';
import { redactRedisUrl } from '../../../lib/cache/redis-store';

const base: OspOptions = { buckets: { b: { host: 's3.example.com' } }, hmacKeystore: [{ accessKey: 'a', secretKey: 's' }] };
const hexKey = randomBytes(32).toString('hex');

describe('shared-state options', () => {
  it('accepts a redis URL or settings and fills defaults', () => {
    expect(resolveOptions({ ...base, redis: 'redis://127.0.0.1:6379' }).redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'osp:', commandTimeoutMs: 1000, connectTimeoutMs: 2000 });
    expect(resolveOptions({ ...base, redis: { url: 'rediss://u:p@r.example:6380/1', keyPrefix: 'x:', commandTimeoutMs: 200 } }).redis?.commandTimeoutMs).toBe(200);
    const o = resolveOptions(base);
    expect([o.redis, o.sharedCacheDecisions, o.sharedCacheSecrets, o.presignedOnStoreError]).toEqual([undefined, false, false, 'reject']);
  });
  it('rejects bad settings without echoing the URL', () => {
    expect(() => resolveOptions({ ...base, redis: 'http://u:secretpw@h' })).toThrow(/redis\.url/);
    try {
      resolveOptions({ ...base, redis: 'http://u:secretpw@h' });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('secretpw');
    }
    expect(() => resolveOptions({ ...base, redis: { url: 'redis://h', extra: 1 } as never })).toThrow(/redis\.extra/);
    expect(() => resolveOptions({ ...base, redis: { url: 'redis://h', keyPrefix: 'a b' } })).toThrow(/keyPrefix/);
    expect(() => resolveOptions({ ...base, presignedOnStoreError: 'maybe' as never })).toThrow(/presignedOnStoreError/);
    expect(() => resolveOptions({ ...base, sharedCache: { decisions: true } })).toThrow(/needs a shared store/);
    expect(() => resolveOptions({ ...base, redis: 'redis://h', sharedCache: { frontendSecrets: true } })).toThrow(/encryptionKey/);
    expect(() => resolveOptions({ ...base, redis: 'redis://h', sharedCache: { frontendSecrets: true, encryptionKey: 'short' } })).toThrow(/encryptionKey/);
    expect(() => resolveOptions({ ...base, redis: 'redis://h', sharedStore: createMemorySharedStore() })).toThrow(/either redis or sharedStore/);
    expect(resolveOptions({ ...base, redis: 'redis://h', sharedCache: { frontendSecrets: true, encryptionKey: hexKey } }).sharedCacheSecrets).toBe(true);
  });
  it('redacts credentials from redis URLs', () => {
    expect(redactRedisUrl('rediss://user:pw@r.example:6380/2')).toBe('rediss://r.example:6380/2');
  });
});

describe('secret box (AES-256-GCM)', () => {
  it('round-trips, binds the key as AAD, rejects tampering and other keys', () => {
    const box = createSecretBox(parseEncryptionKey(hexKey)!);
    const sealed = box.seal('top-secret', 'k1');
    expect(sealed).not.toContain('top-secret');
    expect(box.open(sealed, 'k1')).toBe('top-secret');
    expect(box.open(sealed, 'k2')).toBeUndefined();
    expect(box.open(`${sealed.slice(0, -2)}AA`, 'k1')).toBeUndefined();
    expect(createSecretBox(randomBytes(32)).open(sealed, 'k1')).toBeUndefined();
    expect(parseEncryptionKey(randomBytes(32).toString('base64'))?.length).toBe(32);
    expect(parseEncryptionKey(randomBytes(16).toString('hex'))).toBeUndefined();
  });
});

describe('in-memory shared store', () => {
  it('counts atomically with expiry, stores values with TTL, deletes by pattern, publishes to other handles only', async () => {
    let t = 1000;
    const a = createMemorySharedStore({ now: () => t });
    const b = a.connect();
    expect(await a.increment('u', 5000)).toBe(1);
    expect(await b.increment('u', 5000)).toBe(2);
    t = 6000;
    expect(await a.get('u')).toBe(0);
    await a.setValue(decisionKeyOf('ak', 'bkt', 'GetObject', 'GET', 'k'), '1', 10);
    await a.setValue(decisionKeyOf('ak2', 'bkt', 'GetObject', 'GET', 'k'), '1', 10);
    await a.setValue(decisionKeyOf('ak2', 'other', 'GetObject', 'GET', 'k'), '1', 10);
    await b.deleteMatching(decisionsOfIdentity('ak'));
    expect(await a.getValue(decisionKeyOf('ak', 'bkt', 'GetObject', 'GET', 'k'))).toBeUndefined();
    expect(await a.getValue(decisionKeyOf('ak2', 'bkt', 'GetObject', 'GET', 'k'))).toBe('1');
    await b.deleteMatching(decisionsOfBucket('bkt'));
    expect(await a.getValue(decisionKeyOf('ak2', 'bkt', 'GetObject', 'GET', 'k'))).toBeUndefined();
    expect(await a.getValue(decisionKeyOf('ak2', 'other', 'GetObject', 'GET', 'k'))).toBe('1');
    t += 11_000;
    expect(await a.getValue(decisionKeyOf('ak2', 'other', 'GetObject', 'GET', 'k'))).toBeUndefined();
    const gotA: string[] = [];
    const gotB: string[] = [];
    a.subscribe((m) => gotA.push(`${m.kind}:${m.value}`));
    b.subscribe((m) => gotB.push(`${m.kind}:${m.value}`));
    await a.publish({ kind: 'accessKey', value: 'x' });
    expect([gotA, gotB]).toEqual([[], ['accessKey:x']]);
    await a.close();
    await b.close();
  });
});
