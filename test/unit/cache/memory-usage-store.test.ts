import { OspError } from '../../../lib/errors';
import { createMemoryUsageStore, type MemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import { UsageShareExhaustedError, type UsageCounterStore } from '../../../lib/cache/usage-store';

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('createMemoryUsageStore', () => {
  const stores: MemoryUsageStore[] = [];
  const make = (...args: Parameters<typeof createMemoryUsageStore>) => {
    const s = createMemoryUsageStore(...args);
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  test('satisfies UsageCounterStore', () => {
    const s: UsageCounterStore = make();
    expect(typeof s.increment).toBe('function');
  });

  test('increment / get / decrement (never below 0)', async () => {
    const clock = fakeClock();
    const s = make({ now: clock.now });
    const exp = clock.now() + 60_000;
    expect(await s.get('u')).toBe(0);
    expect(await s.increment('u', exp)).toBe(1);
    expect(await s.increment('u', exp)).toBe(2);
    expect(await s.get('u')).toBe(2);
    await s.decrement('u');
    expect(await s.get('u')).toBe(1);
    await s.decrement('u');
    await s.decrement('u');
    expect(await s.get('u')).toBe(0);
    expect(await s.increment('u', exp)).toBe(1);
    await s.decrement('never-seen'); // no-op
    expect(await s.get('never-seen')).toBe(0);
  });

  test('1000 concurrent increments are atomic', async () => {
    const s = make();
    const exp = Date.now() + 60_000;
    const values = await Promise.all(Array.from({ length: 1000 }, () => s.increment('url', exp)));
    expect(new Set(values).size).toBe(1000);
    expect(Math.min(...values)).toBe(1);
    expect(Math.max(...values)).toBe(1000);
    expect(await s.get('url')).toBe(1000);
    // interleaved increments and decrements
    await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? s.decrement('url') : s.increment('url', exp))));
    expect(await s.get('url')).toBe(1000);
  });

  test("the entry expires at the URL's expiry, set on first increment and not extended", async () => {
    const clock = fakeClock();
    const s = make({ now: clock.now });
    const exp = clock.now() + 10_000;
    await s.increment('u', exp);
    clock.advance(5_000);
    expect(await s.increment('u', exp + 1_000_000)).toBe(2); // later expiry ignored
    clock.advance(4_999);
    expect(await s.get('u')).toBe(2);
    clock.advance(1); // == exp
    expect(await s.get('u')).toBe(0);
    expect(s.size()).toBe(0);
    // after expiry a new counter starts (the URL itself is expired by then: the caller refuses it)
    expect(await s.increment('u', clock.now() + 10_000)).toBe(1);
  });

  test('an already expired URL is not stored', async () => {
    const clock = fakeClock();
    const s = make({ now: clock.now });
    expect(await s.increment('old', clock.now() - 1)).toBe(1);
    expect(s.size()).toBe(0);
    await expect(s.increment('bad', Number.NaN)).rejects.toThrow(TypeError);
  });

  test('cap: a NEW key is refused with 503 SlowDown; existing keys keep counting; expired slots are reclaimed', async () => {
    const clock = fakeClock();
    const s = make({ maxEntries: 3, now: clock.now });
    const shortExp = clock.now() + 1_000;
    const longExp = clock.now() + 60_000;
    await s.increment('a', shortExp);
    await s.increment('b', longExp);
    await s.increment('c', longExp);
    let err: unknown;
    try {
      await s.increment('d', longExp);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OspError);
    expect((err as OspError).status).toBe(503);
    expect((err as OspError).s3Code).toBe('SlowDown');
    expect((err as OspError).message).toBe('Too many presigned URLs are being tracked; try again later');
    expect(await s.increment('b', longExp)).toBe(2); // live counters are never evicted
    expect(await s.get('a')).toBe(1);

    clock.advance(1_000); // 'a' expired: its slot is reclaimed by the on-demand sweep
    expect(await s.increment('d', longExp)).toBe(1);
    expect(await s.get('b')).toBe(2);
  });

  test("periodic sweep removes expired entries (timer is unref'd)", async () => {
    // Jest's fake timers drive both the sweep interval and Date.now: no waiting.
    jest.useFakeTimers();
    try {
      const s = make({ sweepIntervalMs: 20 });
      await s.increment('x', Date.now() + 10);
      await s.increment('y', Date.now() + 60_000);
      expect(s.size()).toBe(2);
      jest.advanceTimersByTime(19); // before the first sweep (and 'x' not yet expired)
      expect(s.size()).toBe(2);
      jest.advanceTimersByTime(1);
      expect(s.size()).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  test('sweep() returns the number removed; close() clears', async () => {
    const clock = fakeClock();
    const s = make({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 5; i++) await s.increment(`k${i}`, clock.now() + (i + 1) * 1000);
    clock.advance(2_000);
    expect(s.sweep()).toBe(2);
    await s.close();
    expect(s.size()).toBe(0);
  });

  test('invalid options', () => {
    expect(() => createMemoryUsageStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createMemoryUsageStore({ sweepIntervalMs: -1 })).toThrow(/sweepIntervalMs/);
  });

  describe('per-owner shares (issue 1: one key filled the store for every tenant)', () => {
    test('an owner at its share gets UsageShareExhaustedError for NEW URLs; its counters keep counting; other owners are unaffected', async () => {
      const clock = fakeClock();
      const s = make({ now: clock.now, maxEntries: 50, sweepIntervalMs: 0 });
      const exp = clock.now() + 3_600_000;
      // Default share: a tenth of maxEntries.
      for (let i = 0; i < 5; i++) expect(await s.increment(`flood-${i}`, exp, { owner: 'flooder' })).toBe(1);
      const err = await s.increment('flood-5', exp, { owner: 'flooder' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageShareExhaustedError);
      expect(err).toMatchObject({ status: 503, s3Code: 'SlowDown', owner: 'flooder', share: 5 });
      expect(s.sizeOf('flooder')).toBe(5);
      // The flooder's existing URLs still count exactly (nothing was evicted).
      expect(await s.increment('flood-0', exp, { owner: 'flooder' })).toBe(2);
      // Another key's fresh URL works.
      expect(await s.increment('fresh', exp, { owner: 'victim' })).toBe(1);
      expect(s.size()).toBe(6);
    });

    test('room comes back when the owner’s URLs expire or their uses are given back to 0', async () => {
      const clock = fakeClock();
      const s = make({ now: clock.now, maxEntries: 10, maxEntriesPerOwner: 2, sweepIntervalMs: 0 });
      const soon = clock.now() + 10_000;
      const later = clock.now() + 3_600_000;
      await s.increment('a', soon, { owner: 'k' });
      await s.increment('b', later, { owner: 'k' });
      await expect(s.increment('c', later, { owner: 'k' })).rejects.toBeInstanceOf(UsageShareExhaustedError);
      // Given back to 0: the same as unused, the room is free again.
      await s.decrement('b');
      expect(s.sizeOf('k')).toBe(1);
      expect(await s.increment('c', later, { owner: 'k' })).toBe(1);
      await expect(s.increment('d', later, { owner: 'k' })).rejects.toBeInstanceOf(UsageShareExhaustedError);
      clock.advance(10_000); // 'a' expired: the on-demand sweep reclaims it
      expect(await s.increment('d', later, { owner: 'k' })).toBe(1);
      expect(s.sizeOf('k')).toBe(2);
    });

    test('shares bound each owner, the total stays bounded by maxEntries; entries without an owner count only there', async () => {
      const clock = fakeClock();
      const s = make({ now: clock.now, maxEntries: 4, maxEntriesPerOwner: 2, sweepIntervalMs: 0 });
      const exp = clock.now() + 60_000;
      await s.increment('x1', exp, { owner: 'x' });
      await s.increment('x2', exp, { owner: 'x' });
      await s.increment('n1', exp);
      await s.increment('n2', exp);
      const full = await s.increment('y1', exp, { owner: 'y' }).catch((e: unknown) => e);
      expect(full).toBeInstanceOf(OspError);
      expect(full).not.toBeInstanceOf(UsageShareExhaustedError);
      expect(full).toMatchObject({ status: 503, s3Code: 'SlowDown' });
    });

    test('maxEntriesPerOwner is validated', () => {
      expect(() => createMemoryUsageStore({ maxEntries: 10, maxEntriesPerOwner: 0 })).toThrow(/maxEntriesPerOwner/);
      expect(() => createMemoryUsageStore({ maxEntries: 10, maxEntriesPerOwner: 11 })).toThrow(/maxEntriesPerOwner/);
      expect(() => createMemoryUsageStore({ maxEntries: 10, maxEntriesPerOwner: 1.5 })).toThrow(/maxEntriesPerOwner/);
    });
  });
});
