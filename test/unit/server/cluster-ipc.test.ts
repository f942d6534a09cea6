import { EventEmitter } from 'node:events';
import { answerUsageRequest, createIpcUsageStore, type IpcChannel } from '../../../lib/server/cluster-ipc';
import { createMemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import { OspError } from '../../../lib/errors';
import type { UsageCounterStore } from '../../../lib/cache/usage-store';

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
