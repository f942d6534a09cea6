/** `startServer` with `threads: 1`: one process serves everything. */
import type { Logger } from 'pino';
import type { ResolvedServerSettings } from './options';
import type { OspOptions } from '../options';
import { listenerSummary, urlOf, type RunningServer, type StartServerExtras } from './server-types';
import { reloadWith, startListeners, startMetricsListener } from './listeners';
import { flushLogger } from './create-app';

export async function startSingle(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, role: 'single', extras: StartServerExtras): Promise<RunningServer> {
  const l = await startListeners(settings, ospOptions, logger, ospOptions.usageStore);
  let ready = true;
  const requestCounts = async () => l.counter?.snapshot() ?? {};
  const m = await startMetricsListener(
    settings,
    {
      metrics: () => l.registry.metrics(),
      contentType: l.registry.contentType,
      isReady: () => ready,
      requestCounts: l.counter ? requestCounts : undefined,
    },
    logger,
  );
  const addresses = {
    http: urlOf('http', settings.host, l.httpPort),
    ...(l.httpsPort !== undefined ? { https: urlOf('https', settings.host, l.httpsPort) } : {}),
    ...(m.port !== undefined ? { metrics: urlOf('http', settings.metricsHost, m.port) } : {}),
  };
  const listeners = listenerSummary(settings, { http: l.httpPort, https: l.httpsPort, metrics: m.port });
  logger.info({ addresses, listeners, role, pid: process.pid }, 'object-storage-proxy listening');
  let closing: Promise<void> | undefined;
  return {
    role,
    httpPort: l.httpPort,
    httpsPort: l.httpsPort,
    metricsPort: m.port,
    addresses,
    logger,
    requestCounts,
    revokeAccessKey: (accessKey) => l.osp.revokeAccessKey(accessKey),
    invalidateBucket: (bucket) => l.osp.invalidateBucket(bucket),
    reloadCertificates: l.reloadCertificates,
    reloadConfig: () => reloadWith(l, extras, logger),
    close() {
      closing ??= (async () => {
        ready = false;
        await l.drain(settings.shutdownTimeoutMs);
        await m.close();
        logger.info({}, 'object-storage-proxy stopped');
        await flushLogger(logger); // every line out before close() resolves (callers often exit next)
      })();
      return closing;
    },
  };
}
