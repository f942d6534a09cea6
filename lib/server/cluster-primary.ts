/** The cluster primary: forks and replaces workers, holds the presigned-use counters, serves summed metrics, coordinates shutdown. */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { mergeRequestCounts } from './request-counts';
import { answerUsageRequest } from './cluster-ipc';
import type { ResolvedServerSettings } from './options';
import { createMemoryUsageStore } from '../cache/memory-usage-store';
import { listenerSummary, urlOf, type RunningServer } from './server-types';
import { startMetricsListener, WORKER_ENV } from './listeners';
import { flushLogger } from './create-app';
import { isInvalidateMessage, type InvalidateMessage } from './cluster-messages';
import { workerExecArgv } from './node-flags';

export async function startPrimary(settings: ResolvedServerSettings, logger: Logger): Promise<RunningServer> {
  // Per-key shares (the store's default): one key's URLs cannot fill it for every worker.
  const store = createMemoryUsageStore();
  const aggregator = new AggregatorRegistry();
  let shuttingDown = false;
  let ready = false;
  const listening = new Set<number>();
  let ports: { httpPort: number; httpsPort?: number } | undefined;
  const restarts: number[] = [];
  let countsId = 0;
  const countsPending = new Map<number, { got: Record<string, number>[]; expected: number; resolve(v: Record<string, number>): void }>();

  const liveWorkers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  /** Every worker drops its caches; the first also clears the shared store and publishes (when there is one). */
  const broadcastInvalidation = async (kind: 'accessKey' | 'bucket', value: string): Promise<boolean> => {
    const workers = liveWorkers();
    workers.forEach((w, i) => w.send({ type: 'osp:invalidate', kind, value, propagate: i === 0 } satisfies InvalidateMessage));
    return workers.length > 0;
  };
  let startupFailure: ((err: Error) => void) | undefined;
  // Workers start with a capped young generation unless the user sized it (see node-flags.ts).
  cluster.setupPrimary({ execArgv: workerExecArgv() });
  const fork = (): Worker => {
    const w = cluster.fork({ [WORKER_ENV]: '1' });
    w.on('message', (message: unknown) => {
      const msg = message as { type?: string; id?: number; httpPort?: number; httpsPort?: number; counts?: Record<string, number> } | null;
      if (isInvalidateMessage(message, 'osp:invalidate:fwd')) {
        // A worker invalidated locally: every other worker follows (no shared store to carry it).
        for (const other of liveWorkers()) if (other !== w) other.send({ type: 'osp:invalidate', kind: message.kind, value: message.value, propagate: false } satisfies InvalidateMessage);
      } else if (msg?.type === 'osp:usage:req') {
        void answerUsageRequest(store, msg).then((res) => {
          if (res && w.isConnected()) w.send(res);
        });
      } else if (msg?.type === 'osp:listening') {
        listening.add(w.id);
        ports ??= { httpPort: msg.httpPort as number, httpsPort: msg.httpsPort };
        checkStarted?.();
      } else if (msg?.type === 'osp:counts:res') {
        const p = countsPending.get(msg.id as number);
        if (p) {
          p.got.push(msg.counts ?? {});
          if (p.got.length >= p.expected) {
            countsPending.delete(msg.id as number);
            p.resolve(mergeRequestCounts(p.got));
          }
        }
      }
    });
    return w;
  };
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (shuttingDown) return;
    if (!ready && code !== 0) {
      startupFailure?.(new Error(`worker ${worker.process.pid} exited during startup (code ${code}, signal ${signal})`));
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > 30) {
      logger.error({}, 'workers keep dying (more than 30 restarts per minute); not restarting');
      return;
    }
    logger.warn({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    setTimeout(() => {
      if (!shuttingDown) fork();
    }, 100).unref();
  });

  let checkStarted: (() => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('workers did not start listening within 60 s')), 60_000);
    startupFailure = (err) => {
      clearTimeout(timer);
      shuttingDown = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      reject(err);
    };
    checkStarted = () => {
      if (listening.size >= settings.threads) {
        clearTimeout(timer);
        checkStarted = undefined;
        resolve();
      }
    };
    for (let i = 0; i < settings.threads; i++) fork();
  });
  ready = true;

  const requestCounts = () =>
    new Promise<Record<string, number>>((resolve) => {
      const workers = liveWorkers();
      if (!settings.enableRequestCounting || workers.length === 0) return resolve({});
      const id = ++countsId;
      const entry = { got: [] as Record<string, number>[], expected: workers.length, resolve };
      countsPending.set(id, entry);
      for (const w of workers) w.send({ type: 'osp:counts:req', id });
      setTimeout(() => {
        if (countsPending.delete(id)) resolve(mergeRequestCounts(entry.got));
      }, 5000).unref();
    });
  const m = await startMetricsListener(
    settings,
    {
      metrics: () => aggregator.clusterMetrics(),
      contentType: aggregator.contentType,
      isReady: () => ready && !shuttingDown && listening.size > 0,
      requestCounts: settings.enableRequestCounting ? requestCounts : undefined,
    },
    logger,
  );
  const p = ports as { httpPort: number; httpsPort?: number };
  const addresses = {
    http: urlOf('http', settings.host, p.httpPort),
    ...(p.httpsPort !== undefined ? { https: urlOf('https', settings.host, p.httpsPort) } : {}),
    ...(m.port !== undefined ? { metrics: urlOf('http', settings.metricsHost, m.port) } : {}),
  };
  const listeners = listenerSummary(settings, { http: p.httpPort, https: p.httpsPort, metrics: m.port });
  logger.info({ addresses, listeners, role: 'primary', workers: settings.threads, pid: process.pid }, 'object-storage-proxy listening');

  let closing: Promise<void> | undefined;
  return {
    role: 'primary',
    httpPort: p.httpPort,
    httpsPort: p.httpsPort,
    metricsPort: m.port,
    addresses,
    logger,
    requestCounts,
    revokeAccessKey: (accessKey) => broadcastInvalidation('accessKey', accessKey),
    invalidateBucket: (bucket) => broadcastInvalidation('bucket', bucket),
    async reloadCertificates() {
      for (const w of liveWorkers()) w.send({ type: 'osp:reload-certs' });
    },
    /** Each worker re-reads and applies the configuration itself (options may hold functions: they do not cross IPC). */
    async reloadConfig() {
      const workers = liveWorkers();
      for (const w of workers) w.send({ type: 'osp:reload-config' });
      return workers.length > 0;
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((resolve) => {
                if (w.isDead()) return resolve();
                const kill = setTimeout(() => w.process.kill('SIGKILL'), settings.shutdownTimeoutMs + 5_000);
                w.once('exit', () => {
                  clearTimeout(kill);
                  resolve();
                });
                if (w.isConnected()) w.send({ type: 'osp:shutdown' });
                else w.process.kill('SIGTERM');
              }),
          ),
        );
        await m.close();
        await store.close();
        logger.info({}, 'object-storage-proxy stopped');
        await flushLogger(logger);
      })();
      return closing;
    },
  };
}
