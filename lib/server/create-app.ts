/**
 * The standalone server's Express app: security headers suited to an S3 API, a JSON access log
 * without secrets, metrics, and `ospMiddleware` at '/'. Everything the app answers is S3 XML;
 * Express's own HTML 404/500 pages never appear.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import pino, { type Logger } from 'pino';
import { ospMiddleware, type OspMiddleware } from '../osp-middleware';
import type { OspEventHooks, OspOptions } from '../options';
import { OspError } from '../errors';
import { sendS3Error, toOspError } from '../middleware/s3-error-handler';
import { createAccessLog } from './access-log';
import { redactUrl } from './redact';
import { createMetrics, type OspMetrics } from './metrics';
import { countBodyBytesOfApp } from './body-bytes';
import { requestEnd } from './request-end';
import type { RequestCounter } from './request-counts';
import { packageVersion } from '../package-version';
import { ospPromBundle, REQUEST_DURATION_METRIC } from './prom-bundle';
import { batchedDestination } from './log-destination';

/** Marks requests that reached the app over TLS (directly or through the HTTP/2 bridge). */
export const VIA_TLS = Symbol('osp.viaTls');
/** Client address of a request that came through the HTTP/2 bridge. */
export const BRIDGED_REMOTE = Symbol('osp.bridgedRemote');
/** Set on requests that came through the HTTP/2 bridge. */
export const VIA_H2 = Symbol('osp.viaH2');

type Marked = IncomingMessage & { [VIA_TLS]?: boolean; [BRIDGED_REMOTE]?: string; [VIA_H2]?: boolean };

/** Redaction paths of {@link createLogger}: a second line of defence behind the serializers. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-amz-security-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'secretKey',
  '*.secretKey',
  'apiKey',
  '*.apiKey',
  'sessionToken',
  '*.sessionToken',
];

/**
 * The server's JSON logger (pino) with secret redaction, to `destination` or else to stdout,
 * written asynchronously in batches ({@link batchedDestination}: a line waits at most 100 ms).
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const opts: pino.LoggerOptions = { level: options.level ?? 'info', redact: { paths: LOG_REDACT_PATHS, censor: '[REDACTED]' } };
  return pino(opts, options.destination ?? batchedDestination(1));
}

/** Resolves once the lines `logger` buffered have been written (at once for synchronous destinations). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Extra wiring of {@link createApp}. */
export interface CreateAppExtras {
  /** Access and error log. @default pino to stdout at `info` */
  logger?: Logger;
  /** Metrics to record into. @default a fresh set on a fresh registry (reachable as `app.metrics`) */
  metrics?: OspMetrics;
  /** Per-path request counting, when enabled. */
  requestCounter?: RequestCounter;
  /** `version` label of osp_build_info. */
  version?: string;
}

/** The app plus handles the server needs. */
export interface OspApp extends Express {
  readonly osp: OspMiddleware;
  readonly metrics: OspMetrics;
  readonly logger: Logger;
  /** Applies new middleware options to new requests (`OspMiddleware.update`), with the same defaults as at creation. */
  reload(options: OspOptions): void;
}

function isTls(req: IncomingMessage): boolean {
  return (req as Marked)[VIA_TLS] === true || (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
}

function remoteAddress(req: IncomingMessage): string | undefined {
  return (req as Marked)[BRIDGED_REMOTE] ?? req.socket?.remoteAddress;
}

/** Redacted view of a request for logs: no headers except harmless ones, URL without secrets. */
export function serializeRequest(req: IncomingMessage): Record<string, unknown> {
  const r = req as Request;
  const h = req.headers;
  return {
    method: req.method,
    url: redactUrl(r.originalUrl ?? req.url ?? ''),
    httpVersion: (req as Marked)[VIA_H2] ? '2.0' : req.httpVersion,
    remoteAddress: remoteAddress(req),
    tls: isTls(req),
    // A fixed list of headers that never carry secrets (none is in SECRET_HEADERS), so no other
    // header can reach the log; built directly rather than filtered (redactHeaders) per request.
    headers: { 'user-agent': h['user-agent'], 'content-length': h['content-length'], host: h.host },
  };
}

export { packageVersion };

/**
 * Builds the proxy app: `helmet` (API profile), access log (one JSON line per request, lib/server/access-log.ts), metrics, `ospMiddleware`
 * mounted at '/', and S3 XML for anything else. Does not listen; see `startServer`.
 *
 * @example
 * const app = createApp({ buckets: {…}, hmacKeystore: […] });
 * http.createServer(app).on('checkContinue', (req, res) => app(req, res)).listen(8080);
 */
export function createApp(options: OspOptions, extras: CreateAppExtras = {}): OspApp {
  const logger = extras.logger ?? createLogger();
  const metrics =
    extras.metrics ??
    createMetrics({
      bucketNames: typeof options.buckets === 'function' ? null : new Set(Object.keys(options.buckets ?? {})),
      version: extras.version ?? packageVersion(),
      sharedStore: options.redis !== undefined || options.sharedStore !== undefined,
      requestDuration: false,
    });
  const ospLogger = logger.child({ component: 'osp' });
  /** The metrics' hooks first, then the options' own `on` (a set or several): at creation and on every reload. */
  const withServerDefaults = (o: OspOptions): OspOptions => ({ ...o, logger: o.logger ?? ospLogger, on: ([metrics.on] as OspEventHooks[]).concat(o.on ?? []) });
  const middlewareOptions = withServerDefaults(options);
  const osp = ospMiddleware(middlewareOptions);
  const serverName = options.serverName;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', false);

  // Body bytes for the access log and the metrics, counted by the prototypes Express gives req/res.
  countBodyBytesOfApp(app);
  // The request histogram from the stock bundle, unless the caller's metrics already have one.
  if (!metrics.registry.getSingleMetric(REQUEST_DURATION_METRIC)) app.use(ospPromBundle(metrics.registry, metrics.bucketLabel));
  // An API, not pages: only the headers that cannot break presigned-URL use from browsers.
  app.use(
    helmet({
      contentSecurityPolicy: false,
      crossOriginEmbedderPolicy: false,
      crossOriginOpenerPolicy: false,
      crossOriginResourcePolicy: false,
      originAgentCluster: false,
      referrerPolicy: false,
      strictTransportSecurity: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xFrameOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xContentTypeOptions: true,
      xPoweredBy: true,
    }),
  );
  const hsts = helmet.strictTransportSecurity({ maxAge: 31_536_000, includeSubDomains: false });
  const noop = () => {};

  // The server's own per-request steps in one layer (each Express layer costs a little per request).
  const onEnd = requestEnd({ metrics, accessLog: createAccessLog(logger), serializeRequest, requestCounter: extras.requestCounter });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (isTls(req)) hsts(req, res, noop); // helmet's HSTS only on HTTPS (it sets the header and returns)
    if (serverName) res.setHeader('Server', serverName);
    // Build req.osp now, so the access log and the S3 responses share one request id.
    try {
      osp.contextOf(req);
    } catch {
      // Unparseable URL: the middleware answers it with an S3 error.
    }
    onEnd(req, res, next);
  });

  app.use('/', osp);

  // ospMiddleware answers everything; these only run if a stage ever calls next() without an error.
  app.use((req: Request, res: Response) => {
    const error = new OspError(400, 'InvalidRequest', 'The request could not be routed.');
    metrics.recordError(req, error.s3Code);
    sendS3Error(req, res, error, serverName);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toOspError(err, middlewareOptions.logger);
    metrics.recordError(req, error.s3Code);
    sendS3Error(req, res, error, serverName);
  });

  const reload = (next: OspOptions) => osp.update(withServerDefaults(next));
  return Object.assign(app, { osp, metrics, logger, reload });
}
