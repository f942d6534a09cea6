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
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type pino from 'pino';
import { createApp, createLogger, packageVersion, type OspApp } from './create-app';
import { createMetrics } from './metrics';
import { createMetricsApp } from './metrics-app';
import { createH2Bridge, type H2Bridge } from './h2-bridge';
import { createRequestCounter, mergeRequestCounts, type RequestCounter } from './request-counts';
import { answerUsageRequest, createIpcUsageStore } from './cluster-ipc';
import { applyEnvironment, readTlsFiles, resolveServerOptions, type ResolvedServerSettings, type ServerOptions } from './options';
import { createMemoryUsageStore } from '../cache/memory-usage-store';
import { createConfigApplier, type ConfigApplier, type ConfigLoader } from './config-reload';
import type { OspOptions } from '../options';
import { DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS } from '../constants';
import { startTracingFromEnv, tracingSettingsFromEnv } from './tracing';

export type { ServerOptions } from './options';

/** Timeouts of the client-facing listeners (slow-loris defence without limiting long transfers). */
export const LISTENER_TIMEOUTS = {
  /** Whole request headers must arrive within this time. */
  headersTimeoutMs: 30_000,
  /** No limit on the whole request: a 5 GB upload may take long. Stalls are caught by the idle timeout. */
  requestTimeoutMs: 0,
  /** Idle keep-alive connections are closed after this time. */
  keepAliveTimeoutMs: 20_000,
  /**
   * A socket without any traffic for this long is destroyed (stalled bodies, slow readers). The
   * listeners use {@link clientSocketIdleTimeoutMs}: never less than the backend's idle timeout.
   */
  socketIdleTimeoutMs: 300_000,
} as const;

/** How much longer a client socket may stay silent than the backend request it waits for. */
const CLIENT_IDLE_MARGIN_MS = 10_000;

/**
 * The idle timeout of client sockets. While the proxy waits for a silent backend the client's
 * socket is silent too: it must outlive `upstreamIdleTimeoutMs`, so that the client gets the
 * proxy's 504 BackendTimeout rather than a reset connection (issue [9]: both were 300 s, and the
 * socket timer won).
 */
export function clientSocketIdleTimeoutMs(upstreamIdleTimeoutMs: number = DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS): number {
  return Math.max(LISTENER_TIMEOUTS.socketIdleTimeoutMs, upstreamIdleTimeoutMs + CLIENT_IDLE_MARGIN_MS);
}

/** A started server. */
export interface RunningServer {
  /** 'single' (threads: 1), 'primary' (cluster primary) or 'worker' (cluster worker). */
  readonly role: 'single' | 'primary' | 'worker';
  readonly httpPort: number;
  readonly httpsPort?: number;
  readonly metricsPort?: number;
  /** URLs of the listeners, e.g. `{ http: 'http://127.0.0.1:8080' }`. */
  readonly addresses: { http: string; https?: string; metrics?: string };
  readonly logger: Logger;
  /** Request counts per bucket + path (summed over workers); empty when counting is disabled. */
  requestCounts(): Promise<Record<string, number>>;
  /**
   * Drops everything cached about a frontend access key in every worker of this server, and with
   * `redis` in every instance sharing it (see `OspMiddleware.revokeAccessKey`). Resolves `false`
   * when the shared store could not be reached (this server's workers are invalidated anyway).
   */
  revokeAccessKey(accessKey: string): Promise<boolean>;
  /** Drops cached decisions and fetched backend credentials of a bucket, as {@link revokeAccessKey}. */
  invalidateBucket(bucket: string): Promise<boolean>;
  /** Re-reads the TLS certificate and key (also done on SIGHUP by the CLI). */
  reloadCertificates(): Promise<void>;
  /**
   * Re-reads the configuration with `extras.loadConfig` and applies it to new requests in every
   * serving process (in cluster mode each worker reloads itself). In-flight transfers finish on the
   * old configuration. Resolves `false` when the new configuration was refused (logged, counted in
   * `osp_config_reloads_total{result="error"}`; the old one stays). Done by the CLI on SIGHUP and
   * when the config file changes.
   */
  reloadConfig(): Promise<boolean>;
  /** Graceful stop: no new connections, in-flight requests finish (up to `shutdownTimeoutMs`). */
  close(): Promise<void>;
}

/** Extra, non-serialisable wiring (tests, embedding). */
export interface StartServerExtras {
  /** Where the JSON log goes. @default stdout */
  logDestination?: pino.DestinationStream;
  /** Reads the configuration again, for {@link RunningServer.reloadConfig} (the CLI passes its file loader). */
  loadConfig?: ConfigLoader;
}

const WORKER_ENV = 'OSP_CLUSTER_WORKER';
/** How long startup waits for Redis before listening anyway (presigned requests get 503 until it is up). */
const SHARED_STORE_STARTUP_WAIT_MS = 5000;

/** Cluster IPC: apply an invalidation (primary → worker), or fan one out (worker → primary). */
interface InvalidateMessage {
  type: 'osp:invalidate' | 'osp:invalidate:fwd';
  kind: 'accessKey' | 'bucket';
  value: string;
  /** Also clear the shared store and publish (one worker does it for the whole server). */
  propagate?: boolean;
}

function isInvalidateMessage(m: unknown, type: InvalidateMessage['type']): m is InvalidateMessage {
  const msg = m as Partial<InvalidateMessage> | null;
  return typeof msg === 'object' && msg !== null && msg.type === type && (msg.kind === 'accessKey' || msg.kind === 'bucket') && typeof msg.value === 'string';
}

function invalidate(osp: OspApp['osp'], kind: 'accessKey' | 'bucket', value: string, localOnly: boolean): Promise<boolean> {
  return kind === 'accessKey' ? osp.revokeAccessKey(value, { localOnly }) : osp.invalidateBucket(value, { localOnly });
}

function urlOf(scheme: string, host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

function listen(server: { listen(port: number, host: string, cb: () => void): unknown; once(e: 'error', l: (err: Error) => void): unknown; off(e: 'error', l: (err: Error) => void): unknown; address(): AddressInfo | string | null }, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

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

/** Listeners of one process (single mode or a worker). */
interface Listeners {
  httpPort: number;
  httpsPort?: number;
  counter?: RequestCounter;
  registry: Registry;
  osp: OspApp['osp'];
  config: ConfigApplier;
  reloadCertificates(): Promise<void>;
  drain(timeoutMs: number): Promise<void>;
}

/** Reloads with the extras' loader; without one, says so and keeps the configuration. */
function reloadWith(l: Listeners, extras: StartServerExtras, logger: Logger): Promise<boolean> {
  if (!extras.loadConfig) {
    logger.warn({}, 'reloadConfig: no configuration loader was given to startServer (extras.loadConfig)');
    return Promise.resolve(false);
  }
  return l.config.reload(extras.loadConfig);
}

async function startListeners(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, usageStore: OspOptions['usageStore']): Promise<Listeners> {
  const tracing = await startTracingFromEnv(logger); // OTEL_* environment: off unless an OTLP exporter is set
  const metrics = createMetrics({
    bucketNames: typeof ospOptions.buckets === 'function' ? null : new Set(Object.keys(ospOptions.buckets)),
    version: packageVersion(),
    sharedStore: ospOptions.redis !== undefined || ospOptions.sharedStore !== undefined,
    requestDuration: false, // from express-prom-bundle (createApp)
  });
  const counter = settings.enableRequestCounting ? createRequestCounter({ maxEntries: settings.requestCountingMaxEntries }) : undefined;
  const app = createApp(usageStore ? { ...ospOptions, usageStore } : ospOptions, { logger, metrics, requestCounter: counter });
  const shared = app.osp.sharedStore;
  if (shared?.ready && !(await shared.ready(SHARED_STORE_STARTUP_WAIT_MS))) {
    logger.warn({}, 'the shared store (Redis) is not reachable yet; listening anyway (presigned requests get 503 until it is)');
  }

  // In-flight tracking for graceful shutdown: sockets are closed as soon as they are idle.
  let draining = false;
  const inflight = new Map<Socket, number>();
  const socketIdleTimeoutMs = clientSocketIdleTimeoutMs(ospOptions.upstreamIdleTimeoutMs);
  const trackSocket = (socket: Socket) => {
    inflight.set(socket, 0);
    socket.setTimeout(socketIdleTimeoutMs, () => socket.destroy());
    socket.once('close', () => inflight.delete(socket));
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (inflight.has(socket)) {
      inflight.set(socket, (inflight.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const n = (inflight.get(socket) ?? 1) - 1;
        if (inflight.has(socket)) inflight.set(socket, n);
        if (draining && n === 0) socket.end();
      });
    }
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  };

  const httpServer = http.createServer(
    { headersTimeout: LISTENER_TIMEOUTS.headersTimeoutMs, requestTimeout: LISTENER_TIMEOUTS.requestTimeoutMs, keepAliveTimeout: LISTENER_TIMEOUTS.keepAliveTimeoutMs },
    handler,
  );
  httpServer.on('checkContinue', handler); // 100 Continue only after authentication (the middleware sends it)
  httpServer.on('checkExpectation', handler); // other Expect values: after authentication, the backend answers (not Node's 417)
  httpServer.on('connection', trackSocket);
  metrics.trackConnections(httpServer);
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
    logger.debug({ code: err.code }, 'client error');
  });
  const httpPort = await listen(httpServer, settings.httpPort, settings.host);

  let httpsServer: http2.Http2SecureServer | undefined;
  let bridge: H2Bridge | undefined;
  let httpsPort: number | undefined;
  const sessions = new Set<http2.ServerHttp2Session>();
  if (settings.httpsPort !== undefined && settings.tls) {
    bridge = createH2Bridge(handler); // its private sockets are not client connections: not tracked
    await bridge.listen();
    httpsServer = http2.createSecureServer({ cert: settings.tls.cert, key: settings.tls.key, allowHTTP1: true, settings: { enableConnectProtocol: false } });
    const b = bridge;
    const h2Handler = (req: http2.Http2ServerRequest | IncomingMessage, res: http2.Http2ServerResponse | ServerResponse) => {
      if (req.httpVersionMajor === 2) b.handle(req, res);
      else handler(req as IncomingMessage, res as ServerResponse); // HTTP/1.1 over TLS: straight to the app
    };
    httpsServer.on('request', h2Handler);
    httpsServer.on('checkContinue', h2Handler);
    httpsServer.on('checkExpectation', h2Handler);
    httpsServer.on('secureConnection', (s: TLSSocket) => trackSocket(s));
    httpsServer.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    // HTTP/1.1 on this listener uses Node's http parser, which reads these from the server object.
    Object.assign(httpsServer, { headersTimeout: LISTENER_TIMEOUTS.headersTimeoutMs, requestTimeout: 0, keepAliveTimeout: LISTENER_TIMEOUTS.keepAliveTimeoutMs });
    metrics.trackConnections(httpsServer as unknown as import('node:net').Server);
    httpsPort = await listen(httpsServer, settings.httpsPort, settings.host);
  }

  const reloadCertificates = async () => {
    if (!httpsServer || !settings.tls) return;
    const { cert, key } = readTlsFiles(settings.tls.certPath, settings.tls.keyPath);
    httpsServer.setSecureContext({ cert, key });
    logger.info({}, 'TLS certificate reloaded');
  };

  const drain = async (timeoutMs: number) => {
    draining = true;
    const closed: Promise<void>[] = [];
    closed.push(new Promise((resolve) => httpServer.close(() => resolve())));
    httpServer.closeIdleConnections();
    if (httpsServer) {
      const s = httpsServer;
      closed.push(new Promise((resolve) => s.close(() => resolve())));
      for (const session of sessions) session.close();
    }
    // Idle HTTP/1.1 connections end now, busy ones after their response; h2 sessions close gracefully (GOAWAY) above.
    for (const [socket, n] of inflight) if (n === 0 && (socket as TLSSocket).alpnProtocol !== 'h2') socket.end();
    const idleSweep = setInterval(() => httpServer.closeIdleConnections(), 200);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(closed).then(() => 'done' as const), deadline]);
    if (outcome === 'timeout') {
      logger.warn({ open: inflight.size }, 'shutdown deadline reached; closing remaining connections');
      httpServer.closeAllConnections();
      for (const session of sessions) session.destroy();
      for (const socket of inflight.keys()) socket.destroy();
      bridge?.closeAllConnections();
      await Promise.all(closed);
    }
    clearInterval(idleSweep);
    clearTimeout(timer);
    await bridge?.close();
    await app.osp.close();
    await tracing?.flush();
  };

  // What startup injected (the workers' IPC usage store) stays injected after a reload.
  const config = createConfigApplier({ apply: (next) => app.reload(usageStore ? { ...next, usageStore } : next), settings, registry: metrics.registry, logger });
  return { httpPort, httpsPort, counter, registry: metrics.registry, osp: app.osp, config, reloadCertificates, drain };
}

async function startMetricsListener(settings: ResolvedServerSettings, o: Parameters<typeof createMetricsApp>[0]): Promise<{ port?: number; close(): Promise<void> }> {
  if (settings.metricsPort === undefined) return { close: async () => {} };
  const server = http.createServer(createMetricsApp(o));
  server.keepAliveTimeout = 5_000;
  const port = await listen(server, settings.metricsPort, settings.host);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startSingle(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, role: 'single', extras: StartServerExtras): Promise<RunningServer> {
  const l = await startListeners(settings, ospOptions, logger, ospOptions.usageStore);
  let ready = true;
  const requestCounts = async () => l.counter?.snapshot() ?? {};
  const m = await startMetricsListener(settings, {
    metrics: () => l.registry.metrics(),
    contentType: l.registry.contentType,
    isReady: () => ready,
    requestCounts: l.counter ? requestCounts : undefined,
  });
  const addresses = {
    http: urlOf('http', settings.host, l.httpPort),
    ...(l.httpsPort !== undefined ? { https: urlOf('https', settings.host, l.httpsPort) } : {}),
    ...(m.port !== undefined ? { metrics: urlOf('http', settings.host, m.port) } : {}),
  };
  logger.info({ addresses, role, pid: process.pid }, 'object-storage-proxy listening');
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
      })();
      return closing;
    },
  };
}

async function startWorker(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, extras: StartServerExtras): Promise<RunningServer> {
  // Counters shared across workers through the primary, unless a shared store (Redis) counts them.
  const hasSharedStore = ospOptions.redis !== undefined || ospOptions.sharedStore !== undefined;
  const usageStore = ospOptions.usageStore ?? (hasSharedStore ? undefined : createIpcUsageStore());
  const l = await startListeners(settings, ospOptions, logger, usageStore);
  AggregatorRegistry.setRegistries([l.registry]);
  new AggregatorRegistry(); // installs the worker's answer to the primary's metrics requests
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= l.drain(settings.shutdownTimeoutMs).then(() => usageStore?.close?.());
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

async function startPrimary(settings: ResolvedServerSettings, logger: Logger): Promise<RunningServer> {
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
  const m = await startMetricsListener(settings, {
    metrics: () => aggregator.clusterMetrics(),
    contentType: aggregator.contentType,
    isReady: () => ready && !shuttingDown && listening.size > 0,
    requestCounts: settings.enableRequestCounting ? requestCounts : undefined,
  });
  const p = ports as { httpPort: number; httpsPort?: number };
  const addresses = {
    http: urlOf('http', settings.host, p.httpPort),
    ...(p.httpsPort !== undefined ? { https: urlOf('https', settings.host, p.httpsPort) } : {}),
    ...(m.port !== undefined ? { metrics: urlOf('http', settings.host, m.port) } : {}),
  };
  logger.info({ addresses, role: 'primary', workers: settings.threads, pid: process.pid }, 'object-storage-proxy listening');

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
      })();
      return closing;
    },
  };
}
