import { EventEmitter } from 'node:events';
import { answerUsageRequest, createIpcUsageStore, type IpcChannel } from '../../../lib/server/cluster-ipc';
import { createMemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import { OspError } from '../../../lib/errors';
import { UsageShareExhaustedError, type UsageCounterStore } from '../../../lib/cache/usage-store';

/** Two workers and a primary, wired like cluster IPC (asynchronous delivery). */
function wire(primaryStore: UsageCounterStore, opts: { drop?: boolean } = {}): IpcChannel {
  const toWorker = new EventEmitter();
  return {
    send(message) {
      if (opts.drop) return;
      setImmediate(async () => {
        const res = await answerUsageRequest(primaryStore, JSON.parse(JSON.stringify(message)));
        if (res) setImmediate(() => toWorker.emit('message', JSON.parse(JSON.stringify(res))));
      });
    },
    onMessage: (l) => void toWorker.on('message', l),
    offMessage: (l) => void toWorker.off('message', l),
  };
}

/** Waits, turn by turn of the event loop (no wall-clock sleep), until `done()`. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 100_000) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

test('counts stay exact across workers sharing the primary store', async () => {
  const primary = createMemoryUsageStore({ sweepIntervalMs: 0 });
  const w1 = createIpcUsageStore({ channel: wire(primary) });
  const w2 = createIpcUsageStore({ channel: wire(primary) });
  const exp = Date.now() + 60_000;
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? w1 : w2).increment('sig', exp)));
  expect(results.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await w1.decrement('sig');
  expect(await w2.get('sig')).toBe(9);
  expect(await primary.get('sig')).toBe(9);
  await w1.close?.();
  await w2.close?.();
  await primary.close();
});

test('errors of the primary store arrive as OspErrors', async () => {
  const full = createMemoryUsageStore({ maxEntries: 1, sweepIntervalMs: 0 });
  const w = createIpcUsageStore({ channel: wire(full) });
  await w.increment('a', Date.now() + 60_000);
  await expect(w.increment('b', Date.now() + 60_000)).rejects.toMatchObject({ status: 503, s3Code: 'SlowDown' });
  await w.close?.();
  await full.close();
});

test('no answer from the primary fails closed with 503 SlowDown', async () => {
  const w = createIpcUsageStore({ channel: wire(createMemoryUsageStore({ sweepIntervalMs: 0 }), { drop: true }), timeoutMs: 50 });
  const err = await w.increment('x', Date.now() + 1000).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OspError);
  expect(err).toMatchObject({ status: 503, s3Code: 'SlowDown' });
  await w.close?.();
});

test('answerUsageRequest ignores foreign messages', async () => {
  expect(await answerUsageRequest(createMemoryUsageStore({ sweepIntervalMs: 0 }), { type: 'prom-client:getMetricsReq' })).toBeUndefined();
});

test("the primary's per-key shares hold across workers; the refusal arrives as UsageShareExhaustedError", async () => {
  const primary = createMemoryUsageStore({ maxEntries: 50, sweepIntervalMs: 0 });
  const w1 = createIpcUsageStore({ channel: wire(primary) });
  const w2 = createIpcUsageStore({ channel: wire(primary) });
  const exp = Date.now() + 60_000;
  for (let i = 0; i < 5; i++) await (i % 2 ? w1 : w2).increment(`flood-${i}`, exp, { owner: 'flooder' });
  const err = await w1.increment('flood-5', exp, { owner: 'flooder' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UsageShareExhaustedError);
  expect(err).toMatchObject({ status: 503, s3Code: 'SlowDown', owner: 'flooder', share: 5 });
  expect(await w2.increment('fresh', exp, { owner: 'victim' })).toBe(1);
  await w1.close?.();
  await w2.close?.();
  await primary.close();
});

test('an increment the worker gave up on is not counted: refused past its deadline, or given back when answered late', async () => {
  const primary = createMemoryUsageStore({ sweepIntervalMs: 0 });
  const toWorker = new EventEmitter();
  const held: unknown[] = [];
  let hold = true;
  /** Ops the primary has answered, in order: the events the test waits for (no wall-clock sleeps). */
  const answered: string[] = [];
  const replies: { error?: unknown }[] = [];
  const deliver = (message: unknown) =>
    setImmediate(async () => {
      const res = await answerUsageRequest(primary, JSON.parse(JSON.stringify(message)));
      answered.push((message as { op: string }).op);
      if (res)
        setImmediate(() => {
          replies.push(res as { error?: unknown });
          toWorker.emit('message', JSON.parse(JSON.stringify(res)));
        });
    });
  const channel: IpcChannel = {
    send: (message) => (hold ? held.push(message) : deliver(message)),
    onMessage: (l) => void toWorker.on('message', l),
    offMessage: (l) => void toWorker.off('message', l),
  };
  const w = createIpcUsageStore({ channel, timeoutMs: 50 });
  const exp = Date.now() + 60_000;
  // A busy primary: the request reaches it after the worker's deadline.
  await expect(w.increment('sig', exp)).rejects.toMatchObject({ status: 503 });
  hold = false;
  held.splice(0).forEach(deliver);
  // The primary either refuses the late increment (past its deadline) or counts it, and then the
  // worker, which gave up on it, gives it back: wait for whichever happened.
  await until(() => replies.length === 1);
  const counted = replies[0]?.error === undefined;
  await until(() => answered.length === (counted ? 2 : 1));
  expect(answered).toEqual(counted ? ['increment', 'decrement'] : ['increment']);
  expect(await primary.get('sig')).toBe(0);
  // An answer that comes back late (the request arrived in time): the use is given back.
  const late = new EventEmitter();
  /** The increment's answer, held until the worker has given up (released by the test, not by a timer). */
  const lateAnswers: (() => void)[] = [];
  const slowAnswered: string[] = [];
  const slow: IpcChannel = {
    send: (message) =>
      setImmediate(async () => {
        const res = await answerUsageRequest(primary, JSON.parse(JSON.stringify(message)));
        const op = (message as { op: string }).op;
        slowAnswered.push(op);
        const emit = () => late.emit('message', JSON.parse(JSON.stringify(res)));
        if (res && op === 'increment') lateAnswers.push(emit);
        else if (res) setImmediate(emit);
      }),
    onMessage: (l) => void late.on('message', l),
    offMessage: (l) => void late.off('message', l),
  };
  const w2 = createIpcUsageStore({ channel: slow, timeoutMs: 50 });
  await expect(w2.increment('sig2', exp)).rejects.toMatchObject({ status: 503 });
  expect(await primary.get('sig2')).toBe(1);
  lateAnswers.splice(0).forEach((emit) => emit()); // the answer arrives after the deadline
  await until(() => slowAnswered.includes('decrement'));
  expect(await primary.get('sig2')).toBe(0);
  await w.close?.();
  await w2.close?.();
  await primary.close();
});
