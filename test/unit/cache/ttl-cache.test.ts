import { createTtlCache } from '../../../lib/cache/ttl-cache';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('createTtlCache', () => {
  test('get/set/expiry (fractional ttl, expiry exactly at ttl)', () => {
    const clock = fakeClock();
    const c = createTtlCache<string>({ maxEntries: 10, now: clock.now });
    c.set('a', 'A', 1.5);
    expect(c.get('a')).toBe('A');
    clock.advance(1499);
    expect(c.get('a')).toBe('A');
    clock.advance(1);
    expect(c.get('a')).toBeUndefined();
    expect(c.size()).toBe(0); // collected on access
  });

  test('values are stored by reference (no cloning)', () => {
    const c = createTtlCache<{ n: number }>({ maxEntries: 10 });
    const v = { n: 1 };
    c.set('k', v, 60);
    expect(c.get('k')).toBe(v);
  });

  test('ttl 0 (or negative) is not stored and drops an older value', () => {
    const c = createTtlCache<string>({ maxEntries: 10 });
    c.set('a', 'old', 60);
    c.set('a', 'new', 0);
    expect(c.get('a')).toBeUndefined();
    c.set('b', 'x', -1);
    c.set('c', 'x', Number.NaN);
    expect(c.size()).toBe(0);
  });

  test('cap: evicts the least recently used entry; re-set moves a key to the newest position', () => {
    const c = createTtlCache<number>({ maxEntries: 3 });
    c.set('a', 1, 60);
    c.set('b', 2, 60);
    c.set('c', 3, 60);
    c.set('a', 10, 60); // a is now newest; b is oldest
    c.set('d', 4, 60);
    expect(c.size()).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([10, 3, 4]);
    c.set('c', 30, 60); // update in place does not evict
    expect(c.size()).toBe(3);
    expect(c.get('a')).toBe(10);
  });

  test('cap: a get counts as a use (least recently used goes first)', () => {
    const c = createTtlCache<number>({ maxEntries: 2 });
    c.set('a', 1, 60);
    c.set('b', 2, 60);
    expect(c.get('a')).toBe(1); // b is now the least recently used
    c.set('c', 3, 60);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([1, undefined, 3]);
  });

  test('a full cache stays at its bound under a flood of new keys', () => {
    const c = createTtlCache<boolean>({ maxEntries: 1000 });
    for (let i = 0; i < 50_000; i++) c.set(`k${i}`, false, 60);
    expect(c.size()).toBe(1000);
    expect(c.get('k49999')).toBe(false);
    expect(c.get('k0')).toBeUndefined();
  });

  test('delete, deleteWhere, clear', () => {
    const c = createTtlCache<number>({ maxEntries: 10 });
    for (const k of ['u:1', 'u:2', 'b:1', 'b:2']) c.set(k, 1, 60);
    c.delete('u:1');
    expect(c.get('u:1')).toBeUndefined();
    c.deleteWhere((k) => k.startsWith('b:'));
    expect(c.size()).toBe(1);
    expect(c.get('u:2')).toBe(1);
    c.clear();
    expect(c.size()).toBe(0);
  });

  test('maxEntries must be a positive integer', () => {
    expect(() => createTtlCache({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createTtlCache({ maxEntries: 1.5 })).toThrow(/maxEntries/);
  });

  describe('getOrLoad', () => {
    test('single flight: concurrent misses share one loader call, then hits', async () => {
      const c = createTtlCache<string>({ maxEntries: 10 });
      let calls = 0;
      let release!: (v: string) => void;
      const loader = () => {
        calls++;
        return new Promise<string>((res) => (release = res));
      };
      const all = Array.from({ length: 100 }, () => c.getOrLoad('k', 60, loader));
      await Promise.resolve();
      await Promise.resolve();
      expect(calls).toBe(1);
      release('V');
      expect(new Set(await Promise.all(all))).toEqual(new Set(['V']));
      expect(await c.getOrLoad('k', 60, loader)).toBe('V');
      expect(calls).toBe(1);
      expect(c.get('k')).toBe('V');
    });

    test('a rejected load is shared by waiters but not cached', async () => {
      const c = createTtlCache<string>({ maxEntries: 10 });
      let calls = 0;
      const failing = async () => {
        calls++;
        throw new Error('boom');
      };
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.getOrLoad('k', 60, failing)));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      expect(calls).toBe(1);
      expect(c.size()).toBe(0);
      await expect(c.getOrLoad('k', 60, async () => 'ok')).resolves.toBe('ok');
    });

    test('a loader that throws synchronously becomes a rejection', async () => {
      const c = createTtlCache<string>({ maxEntries: 10 });
      await expect(
        c.getOrLoad('k', 60, () => {
          throw new Error('sync');
        }),
      ).rejects.toThrow('sync');
    });

    test('ttl 0 loads are shared but not stored', async () => {
      const c = createTtlCache<string>({ maxEntries: 10 });
      let calls = 0;
      const loader = async () => `v${++calls}`;
      const [a, b] = await Promise.all([c.getOrLoad('k', 0, loader), c.getOrLoad('k', 0, loader)]);
      expect([a, b]).toEqual(['v1', 'v1']);
      expect(await c.getOrLoad('k', 0, loader)).toBe('v2');
    });

    test('delete during an in-flight load: the stale result is not stored', async () => {
      const c = createTtlCache<string>({ maxEntries: 10 });
      let release!: (v: string) => void;
      const p = c.getOrLoad('k', 60, () => new Promise<string>((res) => (release = res)));
      await Promise.resolve();
      c.delete('k'); // e.g. the secret was rotated meanwhile
      release('stale');
      expect(await p).toBe('stale'); // the waiting caller still gets its answer
      expect(c.get('k')).toBeUndefined();
      expect(await c.getOrLoad('k', 60, async () => 'fresh')).toBe('fresh');
    });

    test('expired entries are reloaded', async () => {
      const clock = fakeClock();
      const c = createTtlCache<number>({ maxEntries: 10, now: clock.now });
      let n = 0;
      expect(await c.getOrLoad('k', 1, async () => ++n)).toBe(1);
      clock.advance(999);
      expect(await c.getOrLoad('k', 1, async () => ++n)).toBe(1);
      clock.advance(1);
      expect(await c.getOrLoad('k', 1, async () => ++n)).toBe(2);
    });
  });

  test('hot-path speed: get on a hit (reported, loose bound)', () => {
    const c = createTtlCache<{ ok: boolean }>({ maxEntries: 10_000 });
    const keys = Array.from({ length: 1000 }, (_, i) => `AKIA${i.toString().padStart(8, '0')}:bucket-${i % 7}`);
    for (const k of keys) c.set(k, { ok: true }, 3600);
    const N = 2_000_000;
    let sink = 0;
    for (let i = 0; i < 200_000; i++) if (c.get(keys[i % 1000])) sink++; // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (c.get(keys[i % 1000])) sink++;
    const hitNs = Number(process.hrtime.bigint() - t0) / N;
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (c.get(`missing-${i % 1000}`)) sink++;
    const missNs = Number(process.hrtime.bigint() - t1) / N;

    console.log(`ttl-cache get: hit ${hitNs.toFixed(1)} ns, miss ${missNs.toFixed(1)} ns (1000 keys, ${N} ops)`);
    expect(sink).toBeGreaterThan(0);
    expect(hitNs).toBeLessThan(2000); // generous: CI machines and coverage instrumentation vary
  });
});
