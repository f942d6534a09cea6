/**
 * A {@link SharedStateStore} on Redis (the `redis` npm client), shared by every worker and
 * instance that uses the same server and key prefix.
 *
 * - Usage counters: one Lua script does `INCR` and, on a key without expiry, `PEXPIREAT` with the
 *   presigned URL's own expiry — atomic on the server, so the limit is exact however many
 *   processes count. Decrement is a script too (never below 0, expiry kept).
 * - A use is counted only if it is granted: the proxy answers 503 at `commandTimeoutMs`, but the
 *   command stays queued on the connection and would run whenever a stalled Redis resumes. So the
 *   increment carries its deadline, in Redis's clock (ours plus an offset measured from Redis
 *   `TIME`), and the script compares it with `TIME` and refuses a late one without counting. An
 *   answer that still arrives after our deadline (offset error) is given back with a decrement.
 * - Values: `SET key value PX ttl`; `deleteMatching` walks `SCAN MATCH` and `UNLINK`s (only on
 *   invalidation, which is rare).
 * - Invalidations: `PUBLISH <prefix>invalidate {from, kind, value}` on one connection, a second
 *   (subscriber) connection receives them; messages from this store's own id are ignored.
 *
 * Failure behaviour: the offline queue is disabled and every command has a deadline
 * (`commandTimeoutMs`), so while Redis is down commands fail within that time instead of
 * queueing; they reject with a 503 ServiceUnavailable OspError. The client reconnects with
 * exponential backoff (50 ms doubling, at most 2 s, plus jitter). A command that times out marks
 * the store down too (a hung Redis keeps its socket open), until a command succeeds again (a
 * `PING` every second while down). Up/down transitions are logged once each (with the host and
 * port, never credentials) and reported through `onStatus`.
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

/**
 * ARGV: expiry (ms), deadline (ms, Redis clock). Returns {count, now} or {-1, now} when past the
 * deadline, without counting. (`TIME` before a write: Redis >= 5 replicates a script's effects.)
 */
const INCREMENT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[2]) then return {-1, now} end
local v = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return {v, now}`;

/** Samples of Redis's clock taken over a slower round trip say little about the offset. */
const CLOCK_SAMPLE_MAX_RTT_MS = 100;
/** Period of the probe while the store is down but connected (stalled). */
const PROBE_INTERVAL_MS = 1000;

const DECREMENT_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/** Our deadline passed: Redis may be stalled rather than gone. */
class TimeoutError extends Error {}

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
  const { createClient, TimeoutError: RedisTimeoutError } = require('redis') as typeof import('redis');
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
  client.on('ready', () => {
    setUp(true);
    // Calibrate the clock offset the increment deadlines need before the first increment.
    const sentAt = Date.now();
    (client.sendCommand(['TIME'], { timeout: commandTimeoutMs }) as Promise<[string, string]>).then(
      ([seconds, micros]) => sampleClock(sentAt, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)),
      () => undefined,
    );
  });
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

  /** A command answered: Redis is responsive (after a stall, the store is up again). */
  const answered = () => {
    if (!up && client.isReady) setUp(true);
  };
  const timedOut = () => new TimeoutError(`redis command timed out after ${commandTimeoutMs} ms`);
  const failed = (err: unknown) => {
    emitStatus('error');
    // A hung Redis keeps its socket: without this the store would look up while nothing answers.
    if (err instanceof TimeoutError || err instanceof RedisTimeoutError) setUp(false, err);
    return unavailable(err);
  };

  /** One command with a deadline; any failure is a 503. */
  const run = async <T>(args: string[]): Promise<T> => {
    if (closed) throw unavailable();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut()), commandTimeoutMs);
    });
    try {
      const value = (await Promise.race([client.sendCommand(args, { timeout: commandTimeoutMs }), deadline])) as T;
      answered();
      return value;
    } catch (err) {
      throw failed(err);
    } finally {
      clearTimeout(timer);
    }
  };

  /** Redis's clock minus ours, in ms, from the latest round trip under CLOCK_SAMPLE_MAX_RTT_MS. */
  let clockOffsetMs = 0;
  let clockSampled = false;
  const sampleClock = (sentAt: number, redisNowMs: number) => {
    const receivedAt = Date.now();
    if (receivedAt - sentAt > CLOCK_SAMPLE_MAX_RTT_MS) return;
    clockOffsetMs = redisNowMs - Math.round((sentAt + receivedAt) / 2);
    clockSampled = true;
  };

  /** INCREMENT_SCRIPT once, with a deadline Redis enforces; undefined when Redis refused it as late. */
  const incrementOnce = async (redisKey: string, expiresAtMs: number): Promise<number | undefined> => {
    if (closed) throw unavailable();
    const sentAt = Date.now();
    const deadlineAt = sentAt + commandTimeoutMs;
    let gaveUp = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gaveUp = true;
        reject(timedOut());
      }, commandTimeoutMs);
    });
    // No client-side timeout on this command: its answer must be seen even when late, to give back
    // a use counted after we answered 503.
    const reply = client.sendCommand(['EVAL', INCREMENT_SCRIPT, '1', redisKey, String(Math.floor(expiresAtMs)), String(deadlineAt + clockOffsetMs)]) as Promise<unknown>;
    const settled = reply.then((r) => {
      const [count, redisNow] = (Array.isArray(r) ? r : []).map(Number) as [number, number];
      if (Number.isFinite(redisNow)) sampleClock(sentAt, redisNow);
      if (gaveUp && count > 0) {
        void run(['EVAL', DECREMENT_SCRIPT, '1', redisKey]).catch((err: unknown) => logger.warn({ err }, 'object-storage-proxy: could not give back a presigned URL use counted after its deadline'));
      }
      if (!Number.isFinite(count)) throw new Error('unexpected reply of the increment script');
      return count > 0 ? count : undefined;
    });
    settled.catch(() => undefined); // a late failure has no one waiting for it
    try {
      const count = await Promise.race([settled, deadline]);
      answered();
      return count;
    } catch (err) {
      throw failed(err);
    } finally {
      clearTimeout(timer);
    }
  };

  // While down but connected (a stalled Redis), probe so that the store comes back up without
  // waiting for traffic.
  let probing = false;
  const probe = setInterval(() => {
    if (up || closed || probing || !client.isReady) return;
    probing = true;
    run(['PING'])
      .catch(() => undefined)
      .finally(() => (probing = false));
  }, PROBE_INTERVAL_MS);
  probe.unref();

  const k = (kind: string, key: string) => `${prefix}${kind}:${key}`;

  return {
    distributed: true,
    isUp: () => up,
    async increment(key, expiresAtMs) {
      if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) throw new TypeError('increment: expiresAtMs must be a finite number');
      const redisKey = k('pu', key);
      const count = await incrementOnce(redisKey, expiresAtMs);
      if (count !== undefined) return count;
      // Refused as late although we were still waiting: our clock offset was off (the first
      // increment before any sample, or a clock step). The reply corrected it; retry once.
      if (clockSampled) {
        const again = await incrementOnce(redisKey, expiresAtMs);
        if (again !== undefined) return again;
      }
      throw unavailable(new Error('the increment reached Redis after its deadline'));
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
      clearInterval(probe);
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
