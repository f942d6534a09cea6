import { createRequestCounter, mergeRequestCounts, OVERFLOW_KEY } from '../../../lib/server/request-counts';

test('counts per bucket + path and caps distinct paths', () => {
  const c = createRequestCounter({ maxEntries: 3 });
  c.increment('b', 'k1');
  c.increment('b', 'k1');
  c.increment('b', undefined);
  c.increment(undefined, undefined);
  c.increment('b', 'k2'); // over the cap
  c.increment('x', 'y'); // over the cap
  c.increment('b', 'k1'); // known: still counted exactly
  expect(c.snapshot()).toEqual({ '/b/k1': 3, '/b': 1, '/': 1, [OVERFLOW_KEY]: 2 });
  expect(c.size()).toBe(3);
  c.reset();
  expect(c.snapshot()).toEqual({});
});

test('merge sums worker snapshots', () => {
  expect(mergeRequestCounts([{ '/a': 1, '/b': 2 }, { '/a': 3 }])).toEqual({ '/a': 4, '/b': 2 });
});

test('rejects a bad cap', () => {
  expect(() => createRequestCounter({ maxEntries: 0 })).toThrow(RangeError);
});
