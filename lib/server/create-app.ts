/**
 * The standalone server's Express app: security headers suited to an S3 API, a JSON access log
 * without secrets, metrics, and `ospMiddleware` at '/'. Everything the app answers is S3 XML;
 * Express's own HTML 404/500 pages never appear.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import pino, { type Logger } from 'pino';
import { pinoHttp, type Options as PinoHttpOptions } from 'pino-http';
import { ospMiddleware, type OspMiddleware, type OspMiddlewareHooks } from '../osp-middleware';
import type { OspOptions } from '../options';
import { OspError } from '../errors';
import { sendS3Error, toOspError } from '../middleware/s3-error-handler';
import { newRequestId } from '../context';
import { redactHeaders, redactUrl } from './redact';
import { createMetrics, requestBytesRead, responseBytesWritten, countBodyBytes, type OspMetrics } from './metrics';
import type { RequestCounter } from './request-counts';

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

/** The server's JSON logger (pino) with secret redaction. */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const opts: pino.LoggerOptions = { level: options.level ?? 'info', redact: { paths: LOG_REDACT_PATHS, censor: '[REDACTED]' } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** Extra wiring of {@link createApp}. */
export interface CreateAppExtras {
  /** Access and error log. @default pino to stdout at `info` */
  logger?: Logger;
  /** Metrics to record into. @default a fresh set on a fresh registry (reachable as `app.metrics`) */
  metrics?: OspMetrics;
  /** Per-path request counting, when enabled. */
  requestCounter?: RequestCounter;
  /** More hooks, called after the metrics hooks. */
  hooks?: OspMiddlewareHooks;
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
  const headers = redactHeaders({ 'user-agent': req.headers['user-agent'], 'content-length': req.headers['content-length'], host: req.headers.host });
  return {
    method: req.method,
    url: redactUrl(r.originalUrl ?? req.url ?? ''),
    httpVersion: (req as Marked)[VIA_H2] ? '2.0' : req.httpVersion,
    remoteAddress: remoteAddress(req),
    tls: isTls(req),
    headers,
  };
}

function finalFields(req: IncomingMessage, res: ServerResponse, val: Record<string, unknown>): Record<string, unknown> {
  return { ...val, authMethod: (req as Request).osp?.authMethod, status: res.statusCode, bytesIn: requestBytesRead(req), bytesOut: responseBytesWritten(res) };
}

function combineHooks(a: OspMiddlewareHooks, b: OspMiddlewareHooks | undefined): OspMiddlewareHooks {
  if (!b) return a;
  return {
    onIamTokenRefresh(outcome) {
      a.onIamTokenRefresh?.(outcome);
      b.onIamTokenRefresh?.(outcome);
    },
    onError(req, err) {
      a.onError?.(req, err);
      b.onError?.(req, err);
    },
    onSharedStoreStatus(event) {
      a.onSharedStoreStatus?.(event);
      b.onSharedStoreStatus?.(event);
    },
    presigned: {
      onHit(bucket) {
        a.presigned?.onHit?.(bucket);
        b.presigned?.onHit?.(bucket);
      },
      onRejected(bucket) {
        a.presigned?.onRejected?.(bucket);
        b.presigned?.onRejected?.(bucket);
      },
    },
    proxy: {
      onBackendResponse(req, status, ms) {
        a.proxy?.onBackendResponse?.(req, status, ms);
        b.proxy?.onBackendResponse?.(req, status, ms);
      },
      onBackendFailure(req, err) {
        a.proxy?.onBackendFailure?.(req, err);
        b.proxy?.onBackendFailure?.(req, err);
      },
    },
  };
}

/** This package's version (for osp_build_info and logs). */
export const packageVersion = (): string => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

/**
 * Builds the proxy app: `helmet` (API profile), pino-http access log, metrics, `ospMiddleware`
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
    });
  const ospLogger = logger.child({ component: 'osp' });
  const middlewareOptions: OspOptions = { ...options, logger: options.logger ?? ospLogger };
  const osp = ospMiddleware(middlewareOptions, combineHooks(metrics.hooks, extras.hooks));
  const serverName = options.serverName;
  const counter = extras.requestCounter;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', false);

  app.use(metrics.middleware);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (serverName) res.setHeader('Server', serverName);
    if (counter) res.once('finish', () => counter.increment(req.osp?.bucket, req.osp?.rawKey));
    next();
  });
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
  app.use((req: Request, res: Response, next: NextFunction) => (isTls(req) ? hsts(req, res, next) : next()));

  // Build req.osp now, so the access log and the S3 responses share one request id.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    try {
      osp.contextOf(req);
    } catch {
      // Unparseable URL: the middleware answers it with an S3 error.
    }
    next();
  });
  app.use(
    pinoHttp({
      logger,
      wrapSerializers: false,
      quietReqLogger: true,
      genReqId: (req: IncomingMessage) => (req as Request).osp?.requestId ?? newRequestId(),
      serializers: {
        req: (req: IncomingMessage) => serializeRequest(req),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
      // Known when the request starts (the context is built below, before the log middleware).
      customProps: (req: IncomingMessage) => {
        const r = req as Request;
        return { requestId: r.osp?.requestId ?? (req as { id?: unknown }).id, bucket: r.osp?.bucket, operation: r.osp?.operation };
      },
      customSuccessObject: (req: IncomingMessage, res: ServerResponse, val: Record<string, unknown>) => finalFields(req, res, val),
      customErrorObject: (req: IncomingMessage, res: ServerResponse, _err: Error, val: Record<string, unknown>) => finalFields(req, res, val),
      customSuccessMessage: () => 'request completed',
      customErrorMessage: () => 'request failed',
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    } satisfies PinoHttpOptions),
  );

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

  const reload = (next: OspOptions) => osp.update({ ...next, logger: next.logger ?? ospLogger });
  return Object.assign(app, { osp, metrics, logger, reload });
}

export { countBodyBytes };
