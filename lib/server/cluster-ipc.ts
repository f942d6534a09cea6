/**
 * Cluster IPC between the primary and the workers of a multi-threaded server:
 * - presigned-URL usage counters live in ONE store in the primary; workers use
 *   {@link createIpcUsageStore}, which forwards increment/decrement/get there, so the per-URL
 *   limit holds exactly whichever worker a request lands on;
 * - the primary collects request counts from all workers on demand.
 *
 * Messages are plain JSON objects with a `type` prefixed `osp:`; prom-client's own metrics
 * aggregation messages share the channel and are ignored here.
 *
 * The primary's store gives each access key (the increment's `owner`) a share, so one key's URLs
 * cannot fill it for every worker; a refusal for that reason crosses IPC as a
 * {@link UsageShareExhaustedError}. An increment carries its deadline (same host, same clock): the
 * primary refuses one it receives after the worker gave up, so a use answered 503 is not counted.
 */
import { OspError } from '../errors';
import { UsageShareExhaustedError, type UsageCounterStore } from '../cache/usage-store';

export type UsageOp = 'increment' | 'decrement' | 'get';

export interface UsageRequest {
  type: 'osp:usage:req';
  id: number;
  op: UsageOp;
  key: string;
  expiresAtMs?: number;
  /** Access key that presigned the URL (increment). */
  owner?: string;
  /** `Date.now()` after which the worker no longer waits (increment): the primary must not count it. */
  deadlineMs?: number;
}
export interface UsageResponse {
  type: 'osp:usage:res';
  id: number;
  value?: number;
  error?: { status: number; code: string; message: string; share?: { owner: string; share: number } };
}

/** A message channel: how a worker talks to the primary (`process.send` / `process.on('message')`). */
export interface IpcChannel {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  offMessage(listener: (message: unknown) => void): void;
}

/** The worker side of the channel: this process's IPC link to the cluster primary. */
export function processChannel(): IpcChannel {
  return {
    send(message) {
      if (!process.send || !process.connected) throw new Error('no IPC channel to the cluster primary');
      process.send(message);
    },
    onMessage: (l) => void process.on('message', l),
    offMessage: (l) => void process.off('message', l),
  };
}

function isObject(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null;
}

/**
 * A {@link UsageCounterStore} that keeps nothing locally and asks the primary for every operation.
 * Atomicity comes from the primary's store (one event loop). If the primary does not answer within
 * `timeoutMs` the operation fails with 503 SlowDown (fail closed: a presigned use is never granted
 * without being counted).
 */
export function createIpcUsageStore(options: { channel?: IpcChannel; timeoutMs?: number } = {}): UsageCounterStore {
  const channel = options.channel ?? processChannel();
  const timeoutMs = options.timeoutMs ?? 5000;
  let nextId = 1;
  const pending = new Map<number, { resolve(v: number): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();
  /** Timed-out increments, by request id: their late answers are given back. Bounded. */
  const abandoned = new Map<number, string>();
  const listener = (message: unknown) => {
    if (!isObject(message) || message.type !== 'osp:usage:res') return;
    const res = message as unknown as UsageResponse;
    const p = pending.get(res.id);
    if (!p) {
      // An increment the worker gave up on, counted anyway (it reached the primary just before its
      // deadline): give the use back, the client got 503.
      const key = abandoned.get(res.id);
      if (key === undefined) return;
      abandoned.delete(res.id);
      if (!res.error) void call('decrement', key).catch(() => undefined);
      return;
    }
    pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.error?.share) p.reject(new UsageShareExhaustedError(res.error.share.owner, res.error.share.share));
    else if (res.error) p.reject(new OspError(res.error.status, res.error.code as OspError['s3Code'], res.error.message));
    else p.resolve(res.value ?? 0);
  };
  channel.onMessage(listener);
  const call = (op: UsageOp, key: string, expiresAtMs?: number, owner?: string): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        if (op === 'increment') {
          if (abandoned.size >= 10_000) abandoned.clear();
          abandoned.set(id, key);
        }
        reject(new OspError(503, 'SlowDown', 'The usage counter store did not answer in time; retry.'));
      }, timeoutMs);
      timer.unref?.();
      pending.set(id, { resolve, reject, timer });
      const msg: UsageRequest = {
        type: 'osp:usage:req',
        id,
        op,
        key,
        ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(op === 'increment' ? { deadlineMs: Date.now() + timeoutMs } : {}),
      };
      try {
        channel.send(msg);
      } catch (err) {
        pending.delete(id);
        clearTimeout(timer);
        reject(new OspError(503, 'SlowDown', 'The usage counter store is unavailable; retry.', {}, { cause: err }));
      }
    });
  return {
    increment: (key, expiresAtMs, opts) => call('increment', key, expiresAtMs, opts?.owner),
    decrement: async (key) => {
      await call('decrement', key);
    },
    get: (key) => call('get', key),
    async close() {
      channel.offMessage(listener);
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new OspError(503, 'SlowDown', 'The usage counter store was closed.'));
        pending.delete(id);
      }
    },
  };
}

/**
 * Primary side: answers one usage request from a worker with `store`. Returns the response to send
 * back, or undefined when `message` is not a usage request.
 */
export async function answerUsageRequest(store: UsageCounterStore, message: unknown): Promise<UsageResponse | undefined> {
  if (!isObject(message) || message.type !== 'osp:usage:req') return undefined;
  const req = message as unknown as UsageRequest;
  try {
    let value: number | undefined;
    if (req.op === 'increment') {
      // The worker answered 503 at its deadline: counting the use now would consume it for nothing.
      if (typeof req.deadlineMs === 'number' && Date.now() > req.deadlineMs) throw new OspError(503, 'SlowDown', 'The usage counter store did not answer in time; retry.');
      value = await store.increment(req.key, Number(req.expiresAtMs), typeof req.owner === 'string' ? { owner: req.owner } : {});
    } else if (req.op === 'decrement') await store.decrement(req.key);
    else if (req.op === 'get') value = await store.get(req.key);
    else throw new OspError(500, 'InternalError', 'unknown usage store operation');
    return { type: 'osp:usage:res', id: req.id, value };
  } catch (err) {
    const e = err instanceof OspError ? err : new OspError(503, 'SlowDown', 'The usage counter store failed.');
    const share = err instanceof UsageShareExhaustedError ? { share: { owner: err.owner, share: err.share } } : {};
    return { type: 'osp:usage:res', id: req.id, error: { status: e.status, code: e.s3Code, message: e.message, ...share } };
  }
}
