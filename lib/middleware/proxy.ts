import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Readable, type Transform } from 'node:stream';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { planUpstreamBody, type UpstreamBodyPlan } from '../body/upstream-body';
import { resolveProfile } from '../backends/profiles';
import { getContext, type OspRequestContext, type ResolvedBackend } from '../context';
import { OspError, s3Errors } from '../errors';
import { optionsOf, type OspOptions } from '../options';
import { UNSIGNED_PAYLOAD } from '../constants';
import { forwardsRequestHeader } from '../s3/forwarded-headers';
import { signRequest } from '../sigv4/sign-request';
import { answerListBuckets } from '../operations/list-buckets';
import type { BackendAgent } from '../upstream/agent';
import { upstreamFor } from '../upstream/upstream';
import { backendFailureToS3Error } from '../upstream/errors';
import { watchUpstream } from '../upstream/watch';
import { bearerRenewalOf, dropRejectedBearerToken } from '../backends/ibm-bearer';
import { forwardBearerWithRetry, hasNoRequestBody } from '../upstream/bearer-retry';
import { sendS3Error } from './s3-error-handler';
import { rejectHooksArgument } from '../guard-hooks';
import { forwardDeleteObjects, readsDeleteObjectsBody } from '../operations/delete-objects';

/** The s3Proxy middleware, with a way to close its backend connections. */
export interface S3ProxyHandler extends RequestHandler {
  /** Closes idle keep-alive connections to the backends (call on shutdown). */
  close(): void;
  /** The agent used for backend connections (the upstream module's, lib/upstream/upstream.ts). */
  readonly agent: BackendAgent;
}

/** The backend hooks of `options.on` as {@link watchUpstream} calls them. @internal */
export interface S3ProxyHooks {
  /** The backend answered with response headers after `latencyMs` (time to first byte). */
  onBackendResponse?(req: Request, status: number, latencyMs: number): void;
  /** The backend could not be reached or timed out. */
  onBackendFailure?(req: Request, error: OspError): void;
}

/**
 * Makes httpxy (http-proxy-middleware 4) stream the body through `stages` (or send `buffer`) instead of the raw request.
 * httpxy pipes `req` into the upstream request once it has a socket; we intercept that one
 * `pipe` call, so the stages start only once the upstream request exists and a failing stage (bad
 * chunk signature, checksum mismatch) can destroy it before the backend gets a complete body.
 */
function replaceBody(req: Request, stages: Transform[], buffer?: Buffer): void {
  Object.defineProperty(req, 'pipe', {
    configurable: true,
    value: (dest: ClientRequest) => {
      delete (req as { pipe?: unknown }).pipe; // back to Readable.prototype.pipe
      // Never write synchronously here: a write would send the upstream headers before the
      // proxyReq hook re-signs them (httpxy pipes right after that hook, on the 'socket' event).
      let source: Readable = buffer !== undefined ? Readable.from([buffer]) : req;
      for (const stage of stages) {
        stage.once('error', (err) => dest.destroy(err));
        source = source.pipe(stage);
      }
      return source.pipe(dest);
    },
  });
}

/**
 * `Expect: 100-continue`, the one expectation the proxy answers (after auth), or lets an unsigned
 * request's backend answer. Other values are ignored, as RGW and moto do directly (issue 10; Node
 * would answer 417 unless the server routes `checkExpectation` to the app) and not forwarded.
 */
function isExpectContinue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === '100-continue';
}

/** Headers we sign upstream: host, content-md5, content-type and every x-amz-* (as S3 expects). */
function isSignedUpstream(name: string): boolean {
  return name.startsWith('x-amz-') || name === 'host' || name === 'content-md5' || name === 'content-type';
}

/**
 * Sets path, Host and credentials on the outgoing request. Runs synchronously in httpxy's
 * `proxyReq` event, before any byte is written; everything async (credentials, IAM tokens) was
 * done by resolveBackend.
 *
 * @param source - the headers the upstream request was created with (the client's `req.headers`,
 *   which httpxy copies): read here instead of asking the ClientRequest, which would copy them.
 * @param signedByClient - whether the client's verified signature covers a header: vendor headers
 *   the backend's profile allows are forwarded only then (lib/s3/forwarded-headers.ts has the rules).
 */
export function prepareUpstreamRequest(
  proxyReq: ClientRequest,
  method: string,
  b: ResolvedBackend,
  body: Pick<UpstreamBodyPlan, 'setHeaders' | 'removeHeaders' | 'payloadHash'>,
  now: Date,
  source: IncomingHttpHeaders,
  signedByClient: (name: string) => boolean = () => false,
): void {
  const toSign: Record<string, string | string[]> = {};
  const vendorHeaders = resolveProfile(b.config.profile).forwardHeaders ?? [];
  for (const name in source) {
    if (body.removeHeaders.includes(name) || !forwardsRequestHeader(name, vendorHeaders, signedByClient)) {
      proxyReq.removeHeader(name);
      continue;
    }
    const value = source[name];
    if (value !== undefined && isSignedUpstream(name)) toSign[name] = value;
  }
  for (const name in body.setHeaders) {
    const value = body.setHeaders[name] as string;
    proxyReq.setHeader(name, value);
    if (isSignedUpstream(name)) toSign[name] = value;
  }
  proxyReq.path = b.query ? `${b.path}?${b.query}` : b.path;
  proxyReq.setHeader('host', b.hostHeader);
  toSign.host = b.hostHeader;
  if (b.copySource !== undefined) {
    proxyReq.setHeader('x-amz-copy-source', b.copySource);
    toSign['x-amz-copy-source'] = b.copySource;
  }
  if (b.config.serviceInstanceId !== undefined && proxyReq.getHeader('ibm-service-instance-id') === undefined) {
    proxyReq.setHeader('ibm-service-instance-id', b.config.serviceInstanceId);
  }
  const payloadHash = body.payloadHash;
  const creds = b.credentials;
  if (creds.kind === 'hmac') {
    // The client's payload hash goes through unchanged, so the backend still verifies the body.
    proxyReq.setHeader('x-amz-content-sha256', payloadHash);
    toSign['x-amz-content-sha256'] = payloadHash;
    const signed = signRequest({
      method,
      canonicalUri: b.path,
      canonicalQuery: b.canonicalQuery,
      headers: toSign,
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
    // As planned for the body: a decoded aws-chunked body must not keep the client's STREAMING-* value.
    proxyReq.setHeader('x-amz-content-sha256', payloadHash);
    proxyReq.setHeader('authorization', `Bearer ${creds.token}`);
  }
}

/** Whether the client's verified signature covers a header; with your own auth (`setOspIdentity`), every header counts as vouched for, as `x-amz-*` ones do. */
function signedByClientOf(ctx: OspRequestContext): (name: string) => boolean {
  if (ctx.authMethod === 'external') return () => true;
  const signed = ctx.signedHeaders;
  return signed ? (name) => signed.includes(name) : () => false;
}

/**
 * Express middleware that forwards the request to the backend chosen by `resolveBackend`, through
 * one http-proxy-middleware instance: rewrites Host and path, re-signs with the backend
 * credentials and streams both bodies. Answers ListBuckets itself with the buckets `authorize`
 * found visible. Backend responses, errors included, pass through unchanged; connection failures
 * become 502 BackendUnreachable / 504 BackendTimeout S3 errors.
 *
 * `Expect: 100-continue` is answered here, after verification and authorization passed; a request
 * going upstream unsigned (anonymous) carries it to the backend, which answers it. For a
 * server of your own, route `checkContinue` to the app so Node does not send 100 before that:
 * `server.on('checkContinue', (req, res) => app(req, res))`.
 */
export function s3Proxy(options: OspOptions): S3ProxyHandler {
  const o = optionsOf(options);
  rejectHooksArgument('s3Proxy', arguments.length);
  const hooks: S3ProxyHooks = { onBackendResponse: o.on.backendResponse, onBackendFailure: o.on.backendFailure };
  const upstream = upstreamFor(options, o);
  const agent = upstream.backends;

  /** Requests whose `Expect: 100-continue` goes to the backend (see the handler). */
  const backendAnswersContinue = new WeakSet<IncomingMessage>();
  const onProxyReq = (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse) => {
    const ctx = (req as Request).osp as OspRequestContext;
    const body = ctx.upstreamBody ?? { setHeaders: {}, removeHeaders: [], payloadHash: ctx.payloadHash ?? UNSIGNED_PAYLOAD };
    try {
      prepareUpstreamRequest(proxyReq, req.method ?? 'GET', ctx.backend as ResolvedBackend, body, new Date(), req.headers, signedByClientOf(ctx));
    } catch (err) {
      // Thrown inside a socket event this would crash the process: fail the request instead.
      proxyReq.destroy(s3Errors.internal(err));
      return;
    }
    watchUpstream(proxyReq, req as Request, hooks);
    if (backendAnswersContinue.has(req)) {
      // Added only now: with Expect among the constructor's headers, httpxy would skip this hook and
      // Node would freeze the headers before the rewrite above. Flushed at once, so the backend can
      // answer (100 is relayed, a final answer is the response) before the client sends its body.
      // https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1
      proxyReq.setHeader('expect', '100-continue');
      proxyReq.once('continue', () => {
        if (!res.headersSent) res.writeContinue();
      });
      proxyReq.flushHeaders();
    }
  };

  const onProxyRes = (proxyRes: IncomingMessage, req: IncomingMessage) => {
    if (o.serverName) proxyRes.headers['server'] = o.serverName;
    const status = proxyRes.statusCode ?? 0;
    if (status === 401 || status === 403) dropRejectedBearerToken((req as Request).osp?.backend?.credentials, status, proxyRes.headers);
  };

  // http-proxy-middleware 4 may report one failure twice: its 'error' event and a rejected
  // promise that it passes to next(err). Answer it once, here, as an S3 error.
  const answered = new WeakSet<IncomingMessage>();
  const onError = (err: Error, req: IncomingMessage, res: ServerResponse | unknown) => {
    const response = res as Response;
    if (typeof response?.setHeader !== 'function' || answered.has(req)) return;
    answered.add(req);
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
    if (ctx.bucket === undefined) return answerListBuckets(o, req, res, ctx, next);
    if (!ctx.backend) return next(new OspError(500, 'InternalError', 'No backend resolved (put resolveBackend before s3Proxy).'));
    // A browser POST upload: its operation sends the file (lib/operations/post-object.ts).
    if (ctx.postUpload) return ctx.postUpload.forward(ctx.backend, next);
    let plan: UpstreamBodyPlan;
    try {
      plan = planUpstreamBody({
        method: req.method,
        operation: ctx.operation,
        headers: req.headers,
        payloadHash: ctx.payloadHash ?? UNSIGNED_PAYLOAD,
        profile: resolveProfile(ctx.backend.config.profile),
        signing: ctx.chunkSigning,
      });
    } catch (err) {
      return next(err);
    }
    if (req.headers.expect !== undefined) {
      // Node sends 100 itself unless the server routes 'checkContinue' to us; never send it twice.
      if (isExpectContinue(req.headers.expect) && !(res as Response & { _sent100?: boolean })._sent100) {
        // Unsigned upstream (anonymous, issue [1/5]): the backend's ACLs decide, so the backend
        // answers the expectation (RGW: 403 before the body), unless the proxy must read the body first.
        const readsBody = readsDeleteObjectsBody(ctx, plan);
        if (ctx.backend.credentials.kind === 'none' && !readsBody) backendAnswersContinue.add(req);
        else res.writeContinue();
      }
      // Always removed here, not only in proxyReq: Node's ClientRequest writes its headers at
      // construction when they include Expect, before the proxyReq hook could re-sign them.
      delete req.headers.expect;
    }
    const stages = plan.createStages();
    const backend = ctx.backend;
    const forward = (bodyPlan: Pick<UpstreamBodyPlan, 'setHeaders' | 'removeHeaders' | 'payloadHash'>, source?: Buffer) => {
      if (bearerRenewalOf(backend.credentials) && (source !== undefined || (stages.length === 0 && hasNoRequestBody(req)))) {
        // IBM COS with a replayable body: retried once with a fresh token if COS rejects the token.
        return forwardBearerWithRetry(req, res, backend, source, {
          agent,
          prepare: (upstream, b) => prepareUpstreamRequest(upstream, req.method, b, bodyPlan, new Date(), req.headers, signedByClientOf(ctx)),
          watch: (upstream) => watchUpstream(upstream, req, hooks),
          fail: (err) => onError(err, req, res),
          reject: (err) => sendS3Error(req, res, err, o.serverName),
          serverName: o.serverName,
        });
      }
      ctx.upstreamBody = bodyPlan;
      if (source !== undefined) replaceBody(req, [], source);
      else if (stages.length > 0) replaceBody(req, stages);
      const after = (err?: unknown) => {
        if (err === undefined || !answered.has(req)) next(err);
      };
      proxy(req, res, after).catch((err: unknown) => after(err));
    };
    if (!readsDeleteObjectsBody(ctx, plan)) return forward(plan);
    // DeleteObjects for backends that require Content-MD5, or whose keys a policy must check (issue [13]).
    forwardDeleteObjects(req, ctx, plan, stages, forward, next);
  };
  return Object.assign(handler, { close: () => upstream.close(), agent });
}
