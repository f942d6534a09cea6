/** A cluster worker: serves the shared ports, counts presigned uses through the primary, follows its IPC messages. */
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { createIpcUsageStore } from './cluster-ipc';
import type { ResolvedServerSettings } from './options';
import type { OspOptions } from '../options';
import { urlOf, type RunningServer, type StartServerExtras } from './server-types';
import { reloadWith, startListeners } from './listeners';
import { flushLogger } from './create-app';
import { invalidate, isInvalidateMessage, type InvalidateMessage } from './cluster-messages';

export async function startWorker(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, extras: StartServerExtras): Promise<RunningServer> {
  // Counters shared across workers through the primary, unless a shared store (Redis) counts them.
  const hasSharedStore = ospOptions.redis !== undefined || ospOptions.sharedStore !== undefined;
  const usageStore = ospOptions.usageStore ?? (hasSharedStore ? undefined : createIpcUsageStore());
  const l = await startListeners(settings, ospOptions, logger, usageStore);
  AggregatorRegistry.setRegistries([l.registry]);
  new AggregatorRegistry(); // installs the worker's answer to the primary's metrics requests
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= l
      .drain(settings.shutdownTimeoutMs)
      .then(() => usageStore?.close?.())
      .then(() => flushLogger(logger)); // the worker exits right after
    return closing;
  };
  const exitAfterClose = () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message: unknown) => {
    const msg = message as { type?: string; id?: number } | null;
    if (msg?.type === 'osp:shutdown') exitAfterClose();
    else if (msg?.type === 'osp:counts:req') process.send?.({ type: 'osp:counts:res', id: msg.id, counts: l.counter?.snapshot() ?? {} });
    else if (msg?.type === 'osp:reload-certs') void l.reloadCertificates().catch((err: unknown) => logger.error({ err }, 'TLS reload failed'));
    else if (msg?.type === 'osp:reload-config') void reloadWith(l, extras, logger);
    else if (isInvalidateMessage(message, 'osp:invalidate')) void invalidate(l.osp, message.kind, message.value, message.propagate !== true);
  });
  /** With a distributed store the middleware reaches everyone (pub/sub); otherwise the primary fans out. */
  const invalidateEverywhere = async (kind: 'accessKey' | 'bucket', value: string): Promise<boolean> => {
    if (l.osp.sharedStore?.distributed) return invalidate(l.osp, kind, value, false);
    await invalidate(l.osp, kind, value, true);
    try {
      process.send?.({ type: 'osp:invalidate:fwd', kind, value } satisfies InvalidateMessage);
      return true;
    } catch (err) {
      logger.error({ error: (err as Error).message }, 'could not forward an invalidation to the cluster primary');
      return false;
    }
  };
  // Ctrl-C reaches the whole process group: the primary coordinates the shutdown.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', exitAfterClose);
  process.send?.({ type: 'osp:listening', httpPort: l.httpPort, httpsPort: l.httpsPort });
  const addresses = { http: urlOf('http', settings.host, l.httpPort), ...(l.httpsPort !== undefined ? { https: urlOf('https', settings.host, l.httpsPort) } : {}) };
  return {
    role: 'worker',
    httpPort: l.httpPort,
    httpsPort: l.httpsPort,
    addresses,
    logger,
    requestCounts: async () => l.counter?.snapshot() ?? {},
    revokeAccessKey: (accessKey) => invalidateEverywhere('accessKey', accessKey),
    invalidateBucket: (bucket) => invalidateEverywhere('bucket', bucket),
    reloadCertificates: l.reloadCertificates,
    reloadConfig: () => reloadWith(l, extras, logger),
    close,
  };
}
