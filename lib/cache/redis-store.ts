/**
 * A {@link SharedStateStore} on Redis (the `redis` npm client), shared by every worker and
 * instance that uses the same server and key prefix.
 *
 * - Usage counters: one Lua script does `INCR` and, on a key without expiry, `PEXPIREAT` with the
 *   presigned URL's own expiry — atomic on the server, so the limit is exact however many
 *   processes count. Decrement is a script too (never below 0, expiry kept).
 * - Values: `SET key value PX ttl`; `deleteMatching` walks `SCAN MATCH` and `UNLINK`s (only on
 *   invalidation, which is rare).
 * - Invalidations: `PUBLISH <prefix>invalidate {from, kind, value}` on one connection, a second
 *   (subscriber) connection receives them; messages from this store's own id are ignored.
 *
 * Failure behaviour: the offline queue is disabled and every command has a deadline
 * (`commandTimeoutMs`), so while Redis is down commands fail within that time instead of
 * queueing; they reject with a 503 ServiceUnavailable OspError. The client reconnects with
 * exponential backoff (50 ms doubling, at most 2 s, plus jitter). Up/down transitions are logged
 * once each (with the host and port, never credentials) and reported through `onStatus`.
 */
import { randomUUID } from 'node:crypto';
import { OspError } from '../errors';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_CONNECT_TIMEOUT_MS, DEFAULT_REDIS_KEY_PREFIX } from '../constants';
import type { OspLogger } from '../options';
import type { InvalidationMessage, SharedStateStore } from './shared-store';

/** Connection settings of the Redis store (the `redis` option). */
export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS (Node's CA store;
   * add CAs with `NODE_EXTRA_CA_CERTS`). Never logged with its credentials.
   */
  url: string;
  /** Prefix of every key and of the pub/sub channel; separate deployments sharing one Redis need different prefixes. @default 'osp:' */
  keyPrefix?: string;
  /** Milliseconds a command may take before it fails (503 for presigned requests). @default 1000 */
  commandTimeoutMs?: number;
  /** Milliseconds to establish a connection before the attempt counts as failed. @default 2000 */
  connectTimeoutMs?: number;
}

/** `redis://host:port/db` without user name or password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '[unparseable redis URL]';
  }
}

const INCREMENT_SCRIPT = `
local v = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return v`;

const DECREMENT_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

const unavailable = (cause?: unknown) => new OspError(503, 'ServiceUnavailable', 'The shared state store is unavailable; please retry.', {}, cause === undefined ? undefined : { cause });

type Listener = (message: InvalidationMessage) => void;
type StatusListener = (event: 'up' | 'down' | 'error') => void;

export interface RedisStore extends SharedStateStore {
  /** Whether the command connection is up right now. */
  isUp(): boolean;
}

/** Creates the store and starts connecting in the background (see {@link SharedStateStore.ready}). */
export function createRedisStore(options: RedisStoreOptions, logger: OspLogger): RedisStore {
  const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  const where = redactRedisUrl(options.url);
  const channel = `${prefix}invalidate`;
  const id = randomUUID();
  const reconnectStrategy = (retries: number) => Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 100);
  // Loaded here, not at the top: importing the middleware must not load the redis client (648
  // files) for users who never configure Redis (issue 12).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createClient } = require('redis') as typeof import('redis');
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: { connectTimeout: options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS, reconnectStrategy },
  });
  const subscriber = client.duplicate();
  const listeners = new Set<Listener>();
  const statusListeners = new Set<StatusListener>();
  let closed = false;
  let up = false;
  let everUp = false;
  const readyWaiters = new Set<() => void>();

  const emitStatus = (event: 'up' | 'down' | 'error') => {
    for (const l of statusListeners) {
      try {
        l(event);
      } catch {
        // metrics hooks must not break the store
      }
    }
  };
  const setUp = (next: boolean, err?: unknown) => {
    if (next === up || closed) return;
    up = next;
    if (next) {
      everUp = true;
      logger.info({ redis: where }, 'object-storage-proxy: shared state store (Redis) connected');
      for (const w of readyWaiters) w();
      readyWaiters.clear();
    } else {
      const e = err as { code?: string; message?: string } | undefined;
      logger.warn({ redis: where, code: e?.code, error: e?.message }, 'object-storage-proxy: shared state store (Redis) unavailable; presigned requests fail until it is back, reconnecting');
    }
    emitStatus(next ? 'up' : 'down');
  };
  let lastError: unknown;
  client.on('ready', () => setUp(true));
  client.on('error', (err: unknown) => {
    lastError = err;
    emitStatus('error');
    if (!client.isReady) setUp(false, err);
    else if (!everUp) logger.debug({ redis: where }, 'redis error before first connection');
  });
  client.on('reconnecting', () => setUp(false, lastError));
  client.on('end', () => setUp(false, lastError));
  subscriber.on('error', () => {
    // The command connection reports availability; reconnection is automatic and resubscribes.
  });

  const onMessage = (raw: string) => {
    let msg: { from?: unknown; kind?: unknown; value?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      return;
    }
    if (msg.from === id || (msg.kind !== 'accessKey' && msg.kind !== 'bucket') || typeof msg.value !== 'string') return;
    const message: InvalidationMessage = { kind: msg.kind, value: msg.value };
    for (const l of listeners) {
      try {
        l(message);
      } catch (err) {
        logger.error({ err }, 'object-storage-proxy: an invalidation listener threw');
      }
    }
  };

  client.connect().catch(() => {
    // Rejects only when closed while connecting; failures are retried and reported via 'error'.
  });
  subscriber
    .connect()
    .then(() => subscriber.subscribe(channel, onMessage))
    .catch(() => {
      // as above
    });

  /** One command with a deadline; any failure is a 503. */
  const run = async <T>(args: string[]): Promise<T> => {
    if (closed) throw unavailable();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis command timed out after ${commandTimeoutMs} ms`)), commandTimeoutMs);
    });
    try {
      return (await Promise.race([client.sendCommand(args, { timeout: commandTimeoutMs }), deadline])) as T;
    } catch (err) {
      emitStatus('error');
      throw unavailable(err);
    } finally {
      clearTimeout(timer);
    }
  };

  const k = (kind: string, key: string) => `${prefix}${kind}:${key}`;

  return {
    distributed: true,
    isUp: () => up,
    async increment(key, expiresAtMs) {
      if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) throw new TypeError('increment: expiresAtMs must be a finite number');
      return Number(await run(['EVAL', INCREMENT_SCRIPT, '1', k('pu', key), String(Math.floor(expiresAtMs))]));
    },
    async decrement(key) {
      await run(['EVAL', DECREMENT_SCRIPT, '1', k('pu', key)]);
    },
    async get(key) {
      return Number((await run<string | null>(['GET', k('pu', key)])) ?? 0);
    },
    async getValue(key) {
      const v = await run<string | null>(['GET', k('v', key)]);
      return v ?? undefined;
    },
    async setValue(key, value, ttlSeconds) {
      const ms = Math.floor(ttlSeconds * 1000);
      if (ms > 0) await run(['SET', k('v', key), value, 'PX', String(ms)]);
    },
    async deleteValue(key) {
      await run(['UNLINK', k('v', key)]);
    },
    async deleteMatching(pattern) {
      let cursor = '0';
      do {
        const [next, keys] = await run<[string, string[]]>(['SCAN', cursor, 'MATCH', k('v', pattern), 'COUNT', '1000']);
        cursor = next;
        if (keys.length > 0) await run(['UNLINK', ...keys]);
      } while (cursor !== '0');
    },
    async publish(message) {
      await run(['PUBLISH', channel, JSON.stringify({ from: id, kind: message.kind, value: message.value })]);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    ready(timeoutMs) {
      if (up) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve(up);
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        timer.unref();
        readyWaiters.add(done);
      });
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => void statusListeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      statusListeners.clear();
      for (const w of readyWaiters) w();
      readyWaiters.clear();
      // destroy(): no waiting on a server that may be gone; in-flight commands reject.
      for (const c of [client, subscriber]) {
        try {
          c.destroy();
        } catch {
          // not connected
        }
      }
    },
  };
}
