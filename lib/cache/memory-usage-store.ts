/**
 * In-process {@link UsageCounterStore}: one counter per presigned URL, living until the URL's own
 * expiry.
 *
 * Storage: a plain `Map` rather than node-cache. node-cache would give per-entry TTLs and a sweep
 * timer, but (a) its TTL is relative seconds on `Date.now`, while we need an absolute expiry in ms
 * and an injectable clock for tests, (b) `maxKeys` makes `set` throw for updates too, so every
 * increment would need get+set with clone-free handling anyway, and (c) it maintains size stats on
 * every write. A Map with `{ count, expiresAtMs }` does exactly what is needed with O(1) operations.
 *
 * Atomicity: Node runs each method body to completion without awaiting, so read-modify-write on
 * the Map cannot interleave; the methods are `async` only to match the interface.
 *
 * Capacity: when `maxEntries` LIVE entries exist, a NEW key is refused with 503 SlowDown. We fail
 * closed instead of evicting, because evicting a live counter resets its limit: an attacker could
 * flood the store with fresh URLs to push out the counter of a single-use URL and then reuse it.
 * Expired entries are removed on access, by a periodic sweep (unref'd timer, so it never keeps
 * the process alive), and by an on-demand sweep (at most once a second) when the cap is reached.
 * A counter given back to 0 is removed at once (0 and absent mean the same).
 *
 * Fairness: each owner (the access key that presigned the URL, `increment`'s `owner`) may hold at
 * most `maxEntriesPerOwner` live entries. A NEW URL of an owner at its share is refused with
 * {@link UsageShareExhaustedError} (503 SlowDown) while every other owner keeps its room: one key
 * presigning URLs valid for a week cannot block the others. Nothing is evicted to make room (see
 * above), so the owner's own counters stay exact. Entries without an owner (callers that name
 * none) count against `maxEntries` only.
 */
import { OspConfigError, OspError } from '../errors';
import { UsageShareExhaustedError, type UsageCounterStore, type UsageIncrementOptions } from './usage-store';

export interface MemoryUsageStoreOptions {
  /** Maximum number of tracked (live) URLs, in entries. @default 100000 */
  maxEntries?: number;
  /**
   * Maximum number of live entries of one owner (access key), in entries: its share of
   * `maxEntries`. @default a tenth of `maxEntries` (at least 1), so that ten keys at their share
   * are needed to fill the store; size `maxEntries` as keys × share for a hard guarantee.
   */
  maxEntriesPerOwner?: number;
  /** Clock in ms, default `Date.now`. */
  now?: () => number;
  /** Period of the background sweep of expired entries, default 60 000 ms; 0 disables it. */
  sweepIntervalMs?: number;
}

export interface MemoryUsageStore extends UsageCounterStore {
  /** Number of stored entries (expired ones not yet swept included). */
  size(): number;
  /** Number of stored entries of `owner` (expired ones not yet swept included). */
  sizeOf(owner: string): number;
  /** Remove expired entries now; returns how many were removed. */
  sweep(): number;
  close(): Promise<void>;
}

interface Counter {
  count: number;
  expiresAtMs: number;
  owner: string | undefined;
}

/** Minimum time between two on-demand sweeps triggered by a full store. */
const FULL_SWEEP_MIN_INTERVAL_MS = 1000;

export function createMemoryUsageStore(options: MemoryUsageStoreOptions = {}): MemoryUsageStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'maxEntries', 'must be a positive integer', '{ maxEntries: 100000 }');
  }
  const maxEntriesPerOwner = options.maxEntriesPerOwner ?? Math.max(1, Math.floor(maxEntries / 10));
  if (!Number.isInteger(maxEntriesPerOwner) || maxEntriesPerOwner < 1 || maxEntriesPerOwner > maxEntries) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'maxEntriesPerOwner', 'must be an integer from 1 to maxEntries', '{ maxEntriesPerOwner: 10000 }');
  }
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'sweepIntervalMs', 'must be a number >= 0', '{ sweepIntervalMs: 60000 }');
  }
  const now = options.now ?? Date.now;
  const counters = new Map<string, Counter>();
  /** Entries per owner, kept in step with `counters`. */
  const owned = new Map<string, number>();
  let lastFullSweepAt = -Infinity;

  function remove(key: string, c: Counter): void {
    counters.delete(key);
    if (c.owner === undefined) return;
    const n = (owned.get(c.owner) ?? 1) - 1;
    if (n > 0) owned.set(c.owner, n);
    else owned.delete(c.owner);
  }

  function live(key: string, t: number): Counter | undefined {
    const c = counters.get(key);
    if (c === undefined) return undefined;
    if (t < c.expiresAtMs) return c;
    remove(key, c);
    return undefined;
  }

  function sweep(): number {
    const t = now();
    let removed = 0;
    for (const [key, c] of counters) {
      if (t >= c.expiresAtMs) {
        remove(key, c);
        removed++;
      }
    }
    return removed;
  }

  /** At most once a second, an O(n) sweep when a limit is reached: expired entries may be what fills it. */
  function sweepIfDue(t: number): void {
    if (t - lastFullSweepAt < FULL_SWEEP_MIN_INTERVAL_MS) return;
    lastFullSweepAt = t;
    sweep();
  }

  let timer: NodeJS.Timeout | undefined;
  if (sweepIntervalMs > 0) {
    timer = setInterval(sweep, sweepIntervalMs);
    timer.unref();
  }

  async function increment(key: string, expiresAtMs: number, incrementOptions: UsageIncrementOptions = {}): Promise<number> {
    if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
      throw new TypeError('increment: expiresAtMs must be a finite number of ms since the epoch');
    }
    const t = now();
    const c = live(key, t);
    if (c) return ++c.count;
    // A URL that is already expired cannot be used again; counting it would only occupy a slot.
    if (expiresAtMs <= t) return 1;
    const owner = incrementOptions.owner;
    const atShare = () => owner !== undefined && (owned.get(owner) ?? 0) >= maxEntriesPerOwner;
    if (counters.size >= maxEntries || atShare()) sweepIfDue(t);
    if (owner !== undefined && atShare()) throw new UsageShareExhaustedError(owner, maxEntriesPerOwner);
    if (counters.size >= maxEntries) {
      throw new OspError(503, 'SlowDown', 'Too many presigned URLs are being tracked; try again later');
    }
    counters.set(key, { count: 1, expiresAtMs, owner });
    if (owner !== undefined) owned.set(owner, (owned.get(owner) ?? 0) + 1);
    return 1;
  }

  async function decrement(key: string): Promise<void> {
    const c = live(key, now());
    if (!c) return;
    if (c.count > 1) c.count--;
    // Given back to 0: the same as never used, and its owner gets the room back.
    else remove(key, c);
  }

  async function get(key: string): Promise<number> {
    return live(key, now())?.count ?? 0;
  }

  async function close(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    counters.clear();
    owned.clear();
  }

  return { increment, decrement, get, close, sweep, size: () => counters.size, sizeOf: (owner) => owned.get(owner) ?? 0 };
}
