/**
 * A small TTL cache for the hot path (auth decisions, frontend secrets, backend credentials).
 *
 * Design:
 * - A plain `Map` of `{ value, expiresAtMs }`: a hit is one Map lookup, one clock read and one
 *   compare. Values are stored by reference (never cloned) — callers must treat them as immutable.
 * - Expired entries are removed lazily when touched (no timer). When `maxEntries` is reached, the
 *   oldest-inserted entry (first in Map order) is evicted — O(1), no scan; with similar TTLs that
 *   is also the entry closest to expiry. Re-setting a key moves it to the newest position.
 * - `getOrLoad` is single-flight per key: concurrent misses share one loader call. A rejected load
 *   is not cached. A `delete`/`deleteWhere`/`clear` that happens while a load is in flight
 *   prevents that load's result from being stored (the invalidation wins), although callers
 *   already waiting still receive it.
 *
 * node-cache was not used: it clones by default, keys TTLs in seconds on `Date.now` (no injectable
 * clock), keeps stats on every operation and has no single-flight loader.
 */
import { OspConfigError } from '../errors';

export interface TtlCacheOptions {
  /** Maximum number of entries (positive integer). */
  maxEntries: number;
  /** Clock in ms, default `Date.now` (tests inject a fake one). */
  now?: () => number;
}

export interface TtlCache<V> {
  /** The value if present and not expired. */
  get(key: string): V | undefined;
  /** Store `value` for `ttlSeconds` (fractions allowed). `ttlSeconds <= 0` stores nothing and drops any existing entry. */
  set(key: string, value: V, ttlSeconds: number): void;
  delete(key: string): void;
  /** Delete every entry (and in-flight load) whose key matches. Returns nothing; O(n). */
  deleteWhere(pred: (key: string) => boolean): void;
  clear(): void;
  /** Number of stored entries (expired ones not yet collected included). */
  size(): number;
  /**
   * Cached value, or the result of `loader()` stored for `ttlSeconds` (or for what
   * `ttlSeconds(value)` says, e.g. a shorter time for a negative answer). Concurrent misses on the
   * same key share one loader call. A rejected load is not cached (every waiter gets the rejection).
   */
  getOrLoad(key: string, ttlSeconds: number | ((value: V) => number), loader: () => Promise<V>): Promise<V>;
}

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const maxEntries = options?.maxEntries;
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'maxEntries', 'must be a positive integer', '{ maxEntries: 10000 }');
  }
  const now = options.now ?? Date.now;
  const map = new Map<string, Entry<V>>();
  /** In-flight loads; the token object identifies one load so a stale one cannot store its result. */
  const inflight = new Map<string, { promise: Promise<V> }>();

  function get(key: string): V | undefined {
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (now() < e.expiresAtMs) return e.value;
    map.delete(key);
    return undefined;
  }

  function set(key: string, value: V, ttlSeconds: number): void {
    if (!(ttlSeconds > 0)) {
      // ttl 0 (or negative/NaN): do not store; drop an older value so it cannot be served stale.
      map.delete(key);
      return;
    }
    const expiresAtMs = now() + ttlSeconds * 1000;
    if (map.has(key)) {
      map.delete(key); // re-insert at the newest position
    } else if (map.size >= maxEntries) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(key, { value, expiresAtMs });
  }

  function del(key: string): void {
    map.delete(key);
    inflight.delete(key);
  }

  function deleteWhere(pred: (key: string) => boolean): void {
    for (const key of [...map.keys()]) if (pred(key)) map.delete(key);
    for (const key of [...inflight.keys()]) if (pred(key)) inflight.delete(key);
  }

  function clear(): void {
    map.clear();
    inflight.clear();
  }

  function getOrLoad(key: string, ttlSeconds: number | ((value: V) => number), loader: () => Promise<V>): Promise<V> {
    const hit = get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const running = inflight.get(key);
    if (running) return running.promise;
    const record = {} as { promise: Promise<V> };
    // The loader runs in a microtask, after the record is registered: a synchronous throw in the
    // loader becomes a rejection, and the record is visible to anything the loader triggers.
    record.promise = Promise.resolve()
      .then(loader)
      .then(
        (value) => {
          if (inflight.get(key) === record) {
            inflight.delete(key);
            set(key, value, typeof ttlSeconds === 'function' ? ttlSeconds(value) : ttlSeconds);
          }
          return value;
        },
        (err: unknown) => {
          if (inflight.get(key) === record) inflight.delete(key);
          throw err;
        },
      );
    inflight.set(key, record);
    return record.promise;
  }

  return { get, set, delete: del, deleteWhere, clear, size: () => map.size, getOrLoad };
}
