/**
 * A fake wall clock for unit tests: jest's modern fake timers with only `Date` faked. Signature
 * times, skew windows and presigned expiries are then set, not slept for, while sockets, timers
 * and promises keep running for real (faking setTimeout/setImmediate would stall HTTP).
 */
const ALL_BUT_DATE = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

export interface FakeWallClock {
  /** Moves `Date.now()` forward (or back, with a negative value). */
  advance(ms: number): void;
  /** Sets `Date.now()`. */
  set(ms: number | Date): void;
  /** Back to the real clock (also call it in `afterEach`). */
  restore(): void;
}

/** Fakes `Date` from `start` on. */
export function fakeWallClock(start: number | Date): FakeWallClock {
  jest.useFakeTimers({ now: start, doNotFake: [...ALL_BUT_DATE] });
  return {
    advance: (ms) => jest.setSystemTime(Date.now() + ms),
    set: (ms) => jest.setSystemTime(ms),
    restore: () => jest.useRealTimers(),
  };
}
