/**
 * State shared between proxy processes (cluster workers, several instances behind a load balancer):
 * presigned-URL usage counters, optional cached values (authorization decisions, frontend
 * secrets) and invalidation messages.
 *
 * Two implementations: {@link createMemorySharedStore} (one process; several middlewares in it
 * may share one) and `createRedisStore` (any number of processes and hosts).
 *
 * Contract:
 * - every method is async; counter operations are atomic per key on the store's side;
 * - keys passed to `getValue`/`setValue`/`deleteValue` use only `[0-9A-Za-z:._-]`, so that
 *   `deleteMatching` can use `*` as its only wildcard;
 * - a store that cannot answer rejects (a Redis store within its command timeout); it never hangs.
 */
import { EventEmitter } from 'node:events';
import type { UsageCounterStore } from './usage-store';
import { createMemoryUsageStore } from './memory-usage-store';

/** Drop what is cached about a frontend access key, or about a bucket, everywhere. */
export interface InvalidationMessage {
  kind: 'accessKey' | 'bucket';
  value: string;
}

export interface SharedStateStore extends UsageCounterStore {
  /** `true` when other processes see this store (Redis), `false` for the in-process one. */
  readonly distributed: boolean;
  /** The cached value, or undefined when absent or expired. */
  getValue(key: string): Promise<string | undefined>;
  /** Store `value` for `ttlSeconds` (> 0). */
  setValue(key: string, value: string, ttlSeconds: number): Promise<void>;
  deleteValue(key: string): Promise<void>;
  /** Delete every value whose key matches `pattern`, where `*` matches any run of characters. */
  deleteMatching(pattern: string): Promise<void>;
  /** Send an invalidation to every subscriber of this store, in every process, except this store's own. */
  publish(message: InvalidationMessage): Promise<void>;
  /** Receive invalidations published by other processes (or other store handles). Returns an unsubscribe function. */
  subscribe(listener: (message: InvalidationMessage) => void): () => void;
  /** Resolves true once the store can answer, false after `timeoutMs` without it. */
  ready?(timeoutMs: number): Promise<boolean>;
  /** Availability changes (Redis connection up/down) and command errors, for metrics. */
  onStatus?(listener: (event: 'up' | 'down' | 'error') => void): () => void;
  close(): Promise<void>;
}

/** Characters allowed in value keys (so `*` is the only pattern character). */
export const VALUE_KEY_PATTERN = /^[0-9A-Za-z:._-]+$/;

function globToRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Handles on one in-process hub; each handle is one "process" as far as pub/sub is concerned. */
interface MemoryHub {
  emitter: EventEmitter;
  values: Map<string, { value: string; expiresAtMs: number }>;
  counters: UsageCounterStore;
}

export interface MemorySharedStore extends SharedStateStore {
  /** Another handle on the same state, whose publications reach this one (and vice versa). */
  connect(): MemorySharedStore;
}

/**
 * An in-process {@link SharedStateStore}. `connect()` returns further handles on the same state:
 * what one handle publishes reaches the subscribers of the others, as Redis pub/sub would.
 */
export function createMemorySharedStore(options: { now?: () => number } = {}): MemorySharedStore {
  const now = options.now ?? Date.now;
  const hub: MemoryHub = { emitter: new EventEmitter(), values: new Map(), counters: createMemoryUsageStore({ now }) };
  hub.emitter.setMaxListeners(0);
  let handles = 0;
  const handle = (): MemorySharedStore => {
    handles++;
    const id = Symbol('handle');
    const listeners = new Set<(e: { from: symbol; message: InvalidationMessage }) => void>();
    let closed = false;
    const live = (key: string) => {
      const e = hub.values.get(key);
      if (!e) return undefined;
      if (now() < e.expiresAtMs) return e.value;
      hub.values.delete(key);
      return undefined;
    };
    return {
      distributed: false,
      increment: (key, expiresAtMs, opts) => hub.counters.increment(key, expiresAtMs, opts),
      decrement: (key) => hub.counters.decrement(key),
      get: (key) => hub.counters.get(key),
      getValue: async (key) => live(key),
      async setValue(key, value, ttlSeconds) {
        if (ttlSeconds > 0) hub.values.set(key, { value, expiresAtMs: now() + ttlSeconds * 1000 });
      },
      deleteValue: async (key) => void hub.values.delete(key),
      async deleteMatching(pattern) {
        const re = globToRegExp(pattern);
        for (const key of [...hub.values.keys()]) if (re.test(key)) hub.values.delete(key);
      },
      async publish(message) {
        hub.emitter.emit('invalidate', { from: id, message: { kind: message.kind, value: message.value } });
      },
      subscribe(listener) {
        const l = (e: { from: symbol; message: InvalidationMessage }) => {
          if (e.from !== id) listener(e.message);
        };
        listeners.add(l);
        hub.emitter.on('invalidate', l);
        return () => {
          listeners.delete(l);
          hub.emitter.off('invalidate', l);
        };
      },
      ready: async () => true,
      connect: handle,
      async close() {
        if (closed) return;
        closed = true;
        for (const l of listeners) hub.emitter.off('invalidate', l);
        listeners.clear();
        if (--handles === 0) {
          hub.values.clear();
          await hub.counters.close?.();
        }
      },
    };
  };
  return handle();
}
