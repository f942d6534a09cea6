/**
 * The bounded TTL cache of the hot path (auth decisions, frontend secrets, backend credentials),
 * on `lru-cache` (issue [12]: a well-kept bounded cache instead of hand-written eviction).
 *
 * Design:
 * - `lru-cache` holds the entries: a size bound (`maxEntries`, least recently used out first) and a
 *   TTL per entry. Values are stored by reference (never cloned): treat them as immutable.
 *   Expired entries are dropped when touched; no timer runs.
 * - `getOrLoad` is single-flight per key (our own small in-flight map: lru-cache's `fetch` would
 *   serve stale values and abort loaders, which this cache must not). A rejected load is not
 *   cached. A `delete`/`deleteWhere`/`clear` that happens while a load is in flight prevents that
 *   load's result from being stored (the invalidation wins), although callers already waiting
 *   still receive it.
 *
 * node-cache was not used: it cannot evict (its `maxKeys` throws when full), clones by default and
 * keys TTLs in seconds on `Date.now`. Measured on the hit path: lru-cache `get` 0.24 µs against
 * 0.27 µs for the former Map-based cache (2-core machine, idle); both far below the ~100 µs of a
 * proxied request.
 */
import { LRUCache } from 'lru-cache';
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

/** lru-cache stores objects; a box lets the cache hold any value, `false` and `''` included. */
interface Box<V> {
  readonly value: V;
}

/**
 * lru-cache takes whole milliseconds and serves an entry while its age is at most `ttl`; this
 * cache's contract is "expired once `ttlSeconds` have passed". So: whole ms, minus one.
 */
function lruTtl(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds * 1000 - 1e-6) - 1);
}

export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const maxEntries = options?.maxEntries;
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'maxEntries', 'must be a positive integer', '{ maxEntries: 10000 }');
  }
  const now = options.now ?? Date.now;
  const lru = new LRUCache<string, Box<V>>({
    max: maxEntries,
    // TTLs are set per entry; a clock read per check (no cached clock) keeps fake clocks exact.
    ttlResolution: 0,
    perf: { now },
  });
  /** In-flight loads; the record object identifies one load so a stale one cannot store its result. */
  const inflight = new Map<string, { promise: Promise<V> }>();

  function get(key: string): V | undefined {
    return lru.get(key)?.value;
  }

  function set(key: string, value: V, ttlSeconds: number): void {
    if (!(ttlSeconds > 0)) {
      // ttl 0 (or negative/NaN): do not store; drop an older value so it cannot be served stale.
      lru.delete(key);
      return;
    }
    lru.set(key, { value }, { ttl: lruTtl(ttlSeconds) });
  }

  function del(key: string): void {
    lru.delete(key);
    inflight.delete(key);
  }

  function deleteWhere(pred: (key: string) => boolean): void {
    for (const key of [...lru.keys()]) if (pred(key)) lru.delete(key);
    for (const key of [...inflight.keys()]) if (pred(key)) inflight.delete(key);
  }

  function clear(): void {
    lru.clear();
    inflight.clear();
  }

  function getOrLoad(key: string, ttlSeconds: number | ((value: V) => number), loader: () => Promise<V>): Promise<V> {
    const hit = lru.get(key);
    if (hit !== undefined) return Promise.resolve(hit.value);
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

  return { get, set, delete: del, deleteWhere, clear, size: () => lru.size, getOrLoad };
}
