/**
 * `startServer`: the proxy as a standalone server — HTTP, HTTPS with HTTP/2, a metrics/health
 * listener, graceful shutdown and optional multi-process mode (node:cluster).
 *
 * With `threads > 1` this follows node:cluster semantics: the primary forks N workers that
 * re-run the same entry script (the `osp` CLI, or your script), and `startServer` called in a
 * worker serves the shared ports. The primary holds the presigned-URL usage counters (workers
 * reach them over IPC) and serves the metrics port with the sum over all workers.
 *
 * With `redis` (or `OSP_REDIS_URL`), every worker talks to Redis itself: counters are exact across
 * workers AND instances, and invalidations travel by Redis pub/sub. Without it, invalidations
 * travel worker → primary → all workers over cluster IPC.
 */
import cluster from 'node:cluster';
import { createLogger } from './create-app';
import { applyEnvironment, resolveServerOptions, type ServerOptions } from './options';
import { tracingSettingsFromEnv } from './tracing';

import { startSingle } from './single';
import { startWorker } from './cluster-worker';
import { startPrimary } from './cluster-primary';
import { WORKER_ENV } from './listeners';
import type { RunningServer, StartServerExtras } from './server-types';

export type { ServerOptions } from './options';
export type { RunningServer, StartServerExtras } from './server-types';
export { LISTENER_TIMEOUTS, clientSocketIdleTimeoutMs } from './listeners';

/**
 * Starts the proxy. Resolves once every listener accepts connections (in cluster mode: once every
 * worker does). Throws OspConfigError on bad options, before anything listens.
 */
export async function startServer(options: ServerOptions, extras: StartServerExtras = {}): Promise<RunningServer> {
  const { settings, ospOptions } = resolveServerOptions(applyEnvironment(options));
  tracingSettingsFromEnv(process.env); // a bad OTEL_* value fails here, before any worker is forked
  const logger = createLogger({ level: settings.logLevel, destination: extras.logDestination });
  if (cluster.isWorker && process.env[WORKER_ENV] === '1') return startWorker(settings, ospOptions, logger, extras);
  if (settings.threads > 1) return startPrimary(settings, logger);
  return startSingle(settings, ospOptions, logger, 'single', extras);
}
