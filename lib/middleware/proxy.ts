import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { getContext, type OspRequestContext, type ResolvedBackend } from '../context';
import { OspError, s3Errors } from '../errors';
import { resolveOptions, type OspOptions } from '../options';
import { DROPPED_REQUEST_HEADERS, UNSIGNED_PAYLOAD } from '../constants';
import { signRequest } from '../sigv4/sign-request';
import { renderListBucketsXml } from '../s3/list-buckets-xml';
import { createBackendAgent, type BackendAgent } from './backend-agent';
import { sendS3Error } from './s3-error-handler';

/** The s3Proxy middleware, with a way to close its backend connections. */
export interface S3ProxyHandler extends RequestHandler {
  /** Closes idle keep-alive connections to the backends (call on shutdown). */
  close(): void;
  /** The agent used for backend connections. */
  readonly agent: BackendAgent;
}

/** Observation hooks of {@link s3Proxy} (used for metrics). Must not throw. */
export interface S3ProxyHooks {
  /** The backend answered with response headers after `latencyMs` (time to first byte). */
  onBackendResponse?(req: Request, status: number, latencyMs: number): void;
  /** The backend could not be reached or timed out. */
  onBackendFailure?(req: Request, error: OspError): void;
}

const TIMEOUT_CODE = 'OSP_UPSTREAM_TIMEOUT';

function upstreamTimeout(what: string): Error {
  return Object.assign(new Error(`backend ${what} timed out`), { code: TIMEOUT_CODE });
}

/** Maps a connection-level failure to the S3 error the client sees. Never leaks internals. */
export function backendFailureToS3Error(err: NodeJS.ErrnoException): OspError {
  const code = err.code ?? '';
  if (code === TIMEOUT_CODE || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') {
    return new OspError(504, 'BackendTimeout', 'The storage backend did not answer in time.');
  }
  if (err instanceof OspError) return err;
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'EPROTO') {
    return new OspError(502, 'BackendUnreachable', 'The storage backend could not be reached securely (TLS error).');
  }
  return new OspError(502, 'BackendUnreachable', 'The storage backend could not be reached.');
}

/**
 * Sets path, Host and credentials on the outgoing request. Runs synchronously in http-proxy's
 * `proxyReq` event, before any byte is written; everything async (credentials, IAM tokens) was
 * done by resolveBackend.
 */
export function prepareUpstreamRequest(proxyReq: ClientRequest, method: string, ctx: OspRequestContext, b: ResolvedBackend, now: Date): void {
  for (const name of proxyReq.getHeaderNames()) {
    if (DROPPED_REQUEST_HEADERS.has(name) || name.charCodeAt(0) === 0x3a /* HTTP/2 pseudo-header */) proxyReq.removeHeader(name);
  }
  proxyReq.path = b.query ? `${b.path}?${b.query}` : b.path;
  proxyReq.setHeader('host', b.hostHeader);
  const payloadHash = ctx.payloadHash ?? UNSIGNED_PAYLOAD;
  const creds = b.credentials;
  if (creds.kind === 'hmac') {
    // The client's payload hash goes through unchanged, so the backend still verifies the body.
    proxyReq.setHeader('x-amz-content-sha256', payloadHash);
    const signed = signRequest({
      method,
      canonicalUri: b.path,
      canonicalQuery: b.canonicalQuery,
      headers: proxyReq.getHeaders() as Record<string, string | string[] | number | undefined>,
      accessKeyId: creds.accessKeyId,
      secretKey: creds.secretKey,
      sessionToken: creds.sessionToken,
      region: b.region,
      now,
    });
    proxyReq.setHeader('x-amz-date', signed.amzDate);
    if (creds.sessionToken) proxyReq.setHeader('x-amz-security-token', creds.sessionToken);
    proxyReq.setHeader('authorization', signed.authorization);
  } else if (creds.kind === 'bearer') {
    proxyReq.setHeader('authorization', `Bearer ${creds.token}`);
  }
}

/**
 * Express middleware that forwards the request to the backend chosen by `resolveBackend`, through
 * one http-proxy-middleware instance: rewrites Host and path, re-signs with the backend
 * credentials and streams both bodies. Answers ListBuckets itself with the buckets `authorize`
 * found visible. Backend responses, errors included, pass through unchanged; connection failures
 * become 502 BackendUnreachable / 504 BackendTimeout S3 errors.
 *
 * `Expect: 100-continue` is answered here, after verification and authorization passed. For a
 * server of your own, route `checkContinue` to the app so Node does not send 100 before that:
 * `server.on('checkContinue', (req, res) => app(req, res))`.
 */
export function s3Proxy(options: OspOptions, hooks: S3ProxyHooks = {}): S3ProxyHandler {
  const o = resolveOptions(options);
  const agent = createBackendAgent({ rejectUnauthorized: o.verify, lookup: o.upstreamLookup });

  const onProxyReq = (proxyReq: ClientRequest, req: IncomingMessage) => {
    const ctx = (req as Request).osp as OspRequestContext;
    prepareUpstreamRequest(proxyReq, req.method ?? 'GET', ctx, ctx.backend as ResolvedBackend, new Date());
    if (hooks.onBackendResponse) {
      const started = performance.now();
      proxyReq.once('response', (r: IncomingMessage) => hooks.onBackendResponse?.(req as Request, r.statusCode ?? 0, performance.now() - started));
    }
    proxyReq.setTimeout(o.upstreamIdleTimeoutMs, () => proxyReq.destroy(upstreamTimeout('connection')));
    const socket = proxyReq.socket;
    if (socket?.connecting) {
      const timer = setTimeout(() => proxyReq.destroy(upstreamTimeout('connect')), o.upstreamConnectTimeoutMs);
      const clear = () => clearTimeout(timer);
      socket.once('connect', clear);
      socket.once('close', clear);
    }
  };

  const onProxyRes = (proxyRes: IncomingMessage) => {
    if (o.serverName) proxyRes.headers['server'] = o.serverName;
  };

  const onError = (err: Error, req: IncomingMessage, res: ServerResponse | unknown) => {
    const response = res as Response;
    if (typeof response?.setHeader !== 'function') return;
    const error = backendFailureToS3Error(err as NodeJS.ErrnoException);
    hooks.onBackendFailure?.(req as Request, error);
    o.logger.warn({ requestId: (req as Request).osp?.requestId, code: (err as NodeJS.ErrnoException).code, status: error.status }, 'object-storage-proxy: backend request failed');
    sendS3Error(req as Request, response, error, o.serverName);
  };

  const proxy = createProxyMiddleware<Request, Response>({
    // Replaced per request by the router; http-proxy-middleware requires a default.
    target: 'http://127.0.0.1',
    router: (req: Request) => {
      const b = (req.osp as OspRequestContext).backend as ResolvedBackend;
      // `host` feeds changeOrigin's Host header, which Node also uses as TLS SNI when it opens the socket.
      return { protocol: b.protocol, host: b.hostname, hostname: b.hostname, port: b.port } as unknown as string;
    },
    changeOrigin: true,
    xfwd: false,
    secure: o.verify,
    agent: agent as unknown as import('node:http').Agent,
    on: { proxyReq: onProxyReq, proxyRes: onProxyRes, error: onError },
  });

  const handler = function ospS3Proxy(req: Request, res: Response, next: NextFunction): void {
    let ctx: OspRequestContext;
    try {
      ctx = getContext(req, o);
    } catch (err) {
      return next(err);
    }
    if (ctx.bucket === undefined) {
      if (ctx.visibleBuckets === undefined) return next(s3Errors.accessDenied('Request not authorized (put authorize before s3Proxy).'));
      const body = renderListBucketsXml(ctx.visibleBuckets, ctx.identity ?? 'anonymous');
      res.status(200).set({ 'Content-Type': 'application/xml', 'x-amz-request-id': ctx.requestId });
      if (o.serverName) res.set('Server', o.serverName);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (!ctx.backend) return next(new OspError(500, 'InternalError', 'No backend resolved (put resolveBackend before s3Proxy).'));
    if (ctx.payloadHash?.startsWith('STREAMING-')) {
      return next(new OspError(501, 'NotImplemented', 'aws-chunked uploads are not supported by this proxy yet; upload with a plain body.'));
    }
    if (req.headers.expect !== undefined) {
      // Node sends 100 itself unless the server routes 'checkContinue' to us; never send it twice.
      if (!(res as Response & { _sent100?: boolean })._sent100) res.writeContinue();
      delete req.headers.expect;
    }
    proxy(req, res, next).catch?.((err: unknown) => next(err));
  };
  return Object.assign(handler, { close: () => agent.destroy(), agent });
}
