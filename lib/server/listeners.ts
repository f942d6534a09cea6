/**
 * The listeners of one serving process (single mode or a cluster worker): HTTP, HTTPS with HTTP/2,
 * the metrics/health listener, socket timeouts, in-flight tracking and graceful drain, and live
 * configuration reload.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createApp, packageVersion, type OspApp } from './create-app';
import { createMetrics } from './metrics';
import { createMetricsApp } from './metrics-app';
import { createH2Bridge, type H2Bridge } from './h2-bridge';
import { createRequestCounter, type RequestCounter } from './request-counts';
import { readTlsFiles, type ResolvedServerSettings } from './options';
import { createConfigApplier, type ConfigApplier } from './config-reload';
import type { OspOptions } from '../options';
import { DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS } from '../constants';
import { startTracingFromEnv } from './tracing';
import { isLoopback, listen, type StartServerExtras } from './server-types';

export const WORKER_ENV = 'OSP_CLUSTER_WORKER';
/** How long startup waits for Redis before listening anyway (presigned requests get 503 until it is up). */
export const SHARED_STORE_STARTUP_WAIT_MS = 5000;

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

/** Listeners of one process (single mode or a worker). */
export interface Listeners {
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
export function reloadWith(l: Listeners, extras: StartServerExtras, logger: Logger): Promise<boolean> {
  if (!extras.loadConfig) {
    logger.warn({}, 'reloadConfig: no configuration loader was given to startServer (extras.loadConfig)');
    return Promise.resolve(false);
  }
  return l.config.reload(extras.loadConfig);
}

export async function startListeners(settings: ResolvedServerSettings, ospOptions: OspOptions, logger: Logger, usageStore: OspOptions['usageStore']): Promise<Listeners> {
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
      res.on('close', () => {
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

/**
 * Starts the metrics/health listener on `metricsHost` (loopback unless configured), with the bearer
 * token of the settings on `/metrics` and `/request-counts`. Warns when it is reachable from other
 * hosts without a token: bucket names and object paths are then open to anyone who can connect.
 */
export async function startMetricsListener(
  settings: ResolvedServerSettings,
  o: Omit<Parameters<typeof createMetricsApp>[0], 'bearerToken'>,
  logger: Logger,
): Promise<{ port?: number; close(): Promise<void> }> {
  if (settings.metricsPort === undefined) return { close: async () => {} };
  const server = http.createServer(createMetricsApp({ ...o, bearerToken: settings.metricsBearerToken }));
  server.keepAliveTimeout = 5_000;
  const port = await listen(server, settings.metricsPort, settings.metricsHost);
  if (settings.metricsBearerToken === undefined && !isLoopback(settings.metricsHost)) {
    logger.warn(
      { metricsHost: settings.metricsHost },
      'the metrics listener is reachable from other hosts without metricsBearerToken: /metrics and /request-counts show bucket names and object paths',
    );
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
