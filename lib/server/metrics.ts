/**
 * Prometheus metrics of the standalone server, on a registry of their own (never prom-client's
 * global default registry, so embedding apps keep theirs clean).
 *
 * Label cardinality: `bucket` is a configured bucket name (a key of the static `buckets` map) or
 * the fixed value `other`; `error`/`reason` are S3 error codes; `method` is one of a fixed set of
 * HTTP methods (anything else is `OTHER`).
 */
import type { Server as NetServer, Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OspEventHooks } from '../options';
import type { OspError } from '../errors';
import { countBodyBytesOfRequest, requestBytesRead, responseBytesWritten } from './body-bytes';

/** The fixed `bucket` label value for anything that is not a configured bucket. */
export const OTHER_BUCKET = 'other';

/** S3 codes that mean "the caller could not be authenticated" when raised before a verified identity exists. */
export const SIGNATURE_FAILURE_CODES: ReadonlySet<string> = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'RequestTimeTooSkewed',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'AccessDenied',
  'MissingSecurityHeader',
  'InvalidRequest',
  'XAmzContentSHA256Mismatch',
]);

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH']);

export interface OspMetricsOptions {
  /** Configured bucket names (static map keys); `null` when buckets come from a resolver (all become `other`). */
  bucketNames: ReadonlySet<string> | null;
  /** Value of the `version` label of `osp_build_info`. */
  version: string;
  /** Registry to register on. @default a new Registry */
  registry?: Registry;
  /** A shared store (Redis) is configured: export `osp_redis_up` and `osp_redis_errors_total`. @default false */
  sharedStore?: boolean;
  /**
   * Register `osp_request_duration_seconds` here. The standalone server passes `false`: there the
   * histogram comes from express-prom-bundle (see {@link ospPromBundle}). @default true
   */
  requestDuration?: boolean;
  /** Register `osp_active_connections` (only meaningful with {@link OspMetrics.trackConnections}). @default true */
  connections?: boolean;
}

export interface OspMetrics {
  readonly registry: Registry;
  /** Hooks that feed the metrics, for `ospMiddleware({ ...options, on: [metrics.on, ...] })`. */
  readonly on: Required<Omit<OspEventHooks, 'request'>>;
  /** Express middleware (mount first): request count, duration, sizes and transferred bytes. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  /**
   * Records a request that ended, without a middleware of its own: for hosts that already listen
   * for the end of each request (the standalone server) and count body bytes themselves.
   * `startedMs` (`performance.now()` at the start) feeds `osp_request_duration_seconds` when this
   * set has it.
   */
  observeRequest(req: Request, status: number, bytesIn: number, bytesOut: number, startedMs?: number): void;
  /** Counts the open client connections of `server` in `osp_active_connections`. */
  trackConnections(server: NetServer): void;
  /** Records an error answered outside the middleware (the app's fallback handlers). */
  recordError(req: Request, s3Code: string): void;
  /** Records an IBM IAM token refresh (not wired to the middleware yet: it has no hook for it). */
  bucketLabel(bucket: string | undefined): string;
}

export function methodLabel(method: string | undefined): string {
  const m = (method ?? '').toUpperCase();
  return METHODS.has(m) ? m : 'OTHER';
}

const SIZE_BUCKETS = [0, 1024, 16 * 1024, 256 * 1024, 1024 * 1024, 16 * 1024 * 1024, 128 * 1024 * 1024, 1024 * 1024 * 1024, 5 * 1024 * 1024 * 1024];
const DURATION_HELP = 'Time from request start to the end of the response.';
/** Buckets of the duration histograms (also of the express-prom-bundle one). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createMetrics(options: OspMetricsOptions): OspMetrics {
  const registry = options.registry ?? new Registry();
  const names = options.bucketNames;
  const bucketLabel = (bucket: string | undefined): string => (bucket !== undefined && names?.has(bucket) ? bucket : OTHER_BUCKET);
  const reqBucket = (req: Request): string => bucketLabel(req.osp?.bucket);

  const requests = new Counter({
    name: 'osp_requests_total',
    help: 'Requests answered, by method, bucket and HTTP status.',
    labelNames: ['method', 'bucket', 'status'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'osp_request_errors_total',
    help: 'Requests answered with an S3 error by the proxy itself (backend errors pass through and are not counted here), by S3 error code.',
    labelNames: ['method', 'bucket', 'error'] as const,
    registers: [registry],
  });
  const transfer = new Counter({
    name: 'osp_transfer_bytes_total',
    help: 'Body bytes received from clients (rx) and sent to clients (tx).',
    labelNames: ['direction', 'bucket'] as const,
    registers: [registry],
  });
  const presignedHits = new Counter({ name: 'osp_presigned_url_hits_total', help: 'Presigned URL uses accepted.', labelNames: ['bucket'] as const, registers: [registry] });
  const presignedShareExhausted = new Counter({
    name: 'osp_presigned_share_exhausted_total',
    help: 'New presigned URLs refused (503 SlowDown) because their access key holds its whole share of the presigned-use store.',
    registers: [registry],
  });
  const presignedRejected = new Counter({
    name: 'osp_presigned_url_rejected_total',
    help: 'Presigned URL uses rejected because the URL reached its usage limit.',
    labelNames: ['bucket'] as const,
    registers: [registry],
  });
  const active = options.connections === false ? undefined : new Gauge({ name: 'osp_active_connections', help: 'Open client connections.', registers: [registry] });
  new Gauge({
    name: 'osp_memory_bytes',
    help: 'Resident set size of the process(es), in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const buildInfo = new Gauge({ name: 'osp_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'] as const, registers: [registry], aggregator: 'first' });
  buildInfo.set({ version: options.version, node: process.version }, 1);
  const duration =
    options.requestDuration === false
      ? undefined
      : new Histogram({ name: 'osp_request_duration_seconds', help: DURATION_HELP, labelNames: ['method', 'bucket'] as const, buckets: DURATION_BUCKETS, registers: [registry] });
  const responseSize = new Histogram({
    name: 'osp_response_size_bytes',
    help: 'Response body size in bytes.',
    labelNames: ['method', 'bucket'] as const,
    buckets: SIZE_BUCKETS,
    registers: [registry],
  });
  const backendLatency = new Histogram({
    name: 'osp_backend_latency_seconds',
    help: 'Time until the backend answered with response headers.',
    labelNames: ['method', 'bucket'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'osp_signature_failures_total',
    help: 'Requests whose caller could not be authenticated, by S3 error code.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const iamRefreshes = new Counter({ name: 'osp_iam_token_refreshes_total', help: 'IBM IAM token refreshes, by outcome.', labelNames: ['outcome'] as const, registers: [registry] });

  // Summed over workers would hide one worker's lost connection: the cluster value is the minimum.
  const redisUp = options.sharedStore
    ? new Gauge({
        name: 'osp_redis_up',
        help: 'Whether the shared store (Redis) is up and answering (1) or not (0: disconnected, or a command timed out, until one succeeds); the minimum over workers.',
        registers: [registry],
        aggregator: 'min',
      })
    : undefined;
  const redisErrors = options.sharedStore ? new Counter({ name: 'osp_redis_errors_total', help: 'Failed shared store (Redis) commands and connection errors.', registers: [registry] }) : undefined;
  redisUp?.set(0);

  const recordError = (req: Request, s3Code: string) => {
    errors.inc({ method: methodLabel(req.method), bucket: reqBucket(req), error: s3Code });
  };

  const on: OspMetrics['on'] = {
    iamTokenRefresh: (outcome) => iamRefreshes.inc({ outcome }),
    sharedStoreStatus(event) {
      if (event === 'error') redisErrors?.inc();
      else redisUp?.set(event === 'up' ? 1 : 0);
    },
    error(req: Request, error: OspError) {
      recordError(req, error.s3Code);
      if (req.osp?.authMethod === undefined && SIGNATURE_FAILURE_CODES.has(error.s3Code)) signatureFailures.inc({ reason: error.s3Code });
    },
    presignedUse: (bucket) => presignedHits.inc({ bucket: bucketLabel(bucket) }),
    presignedRejected: (bucket) => presignedRejected.inc({ bucket: bucketLabel(bucket) }),
    presignedShareExhausted: () => presignedShareExhausted.inc(),
    backendResponse(req, _status, latencyMs) {
      backendLatency.observe({ method: methodLabel(req.method), bucket: reqBucket(req) }, latencyMs / 1000);
    },
    backendFailure(req, error) {
      recordError(req, error.s3Code);
    },
  };

  const observeRequest = (req: Request, status: number, rx: number, tx: number, startedMs?: number): void => {
    const method = methodLabel(req.method);
    const bucket = reqBucket(req);
    requests.inc({ method, bucket, status: String(status) });
    if (duration && startedMs !== undefined) duration.observe({ method, bucket }, (performance.now() - startedMs) / 1000);
    responseSize.observe({ method, bucket }, tx);
    if (rx > 0) transfer.inc({ direction: 'rx', bucket }, rx);
    if (tx > 0) transfer.inc({ direction: 'tx', bucket }, tx);
  };

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    countBodyBytesOfRequest(req, res);
    // 'close' alone: Node emits it once on every response, after 'finish' or on an early disconnect.
    res.on('close', () => observeRequest(req, res.statusCode, requestBytesRead(req), responseBytesWritten(res), started));
    next();
  };

  const trackConnections = (server: NetServer) => {
    if (!active) return;
    server.on('connection', (socket: Socket) => {
      active.inc();
      socket.once('close', () => active.dec());
    });
  };

  return {
    registry,
    on,
    middleware,
    observeRequest,
    trackConnections,
    recordError,
    bucketLabel,
  };
}
