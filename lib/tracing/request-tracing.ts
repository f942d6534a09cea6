/**
 * OpenTelemetry spans of the proxy (issue [13] part 3), through `@opentelemetry/api` only.
 *
 * Per request: a SERVER span (INTERNAL when an HTTP instrumentation already made one), a child
 * span per stage (`osp.verifySignature`, `osp.authorize`, `osp.limitPresignedUrlUsage` for
 * presigned URLs, `osp.resolveBackend`) and a CLIENT span per upstream exchange, whose context
 * goes to the backend as W3C `traceparent` (through the global propagator). An incoming
 * `traceparent` is the parent of the server span.
 *
 * Without an SDK the API is a no-op: the first call sees a non-recording span with an invalid
 * context and nothing else happens for that request (one symbol lookup per later hook). Spans
 * that are sampled out still propagate their context upstream, as W3C Trace Context asks.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapSetter } from '@opentelemetry/api';
import { OspError } from '../errors';
import { ATTR, clientSpanAttributes, s3Route, serverSpanAttributes, spanMethod } from './attributes';

/** Instrumentation scope of every span the proxy makes. */
export const TRACER_NAME = 'object-storage-proxy';

const tracer = trace.getTracer(TRACER_NAME);

const TRACE = Symbol('osp.trace');

/** The tracing state of one request. */
interface RequestTrace {
  /** The request span (non-recording when sampled out: then only its context is propagated). */
  readonly span: Span;
  /** Context holding {@link span}: parent of the stage and upstream spans. */
  readonly ctx: Context;
  readonly recording: boolean;
  /** Stage spans not ended yet (a stage that answered itself): ended with the request. */
  readonly open: Set<Span>;
  /** S3 error code of the error the proxy answered with. */
  errorCode?: string;
}

type Traced = IncomingMessage & { [TRACE]?: RequestTrace };

const headerSetter: TextMapSetter<ClientRequest> = {
  set(carrier, key, value) {
    carrier.setHeader(key, value);
  },
};

function isError(err: unknown): boolean {
  return err !== undefined && err !== null && err !== 'route' && err !== 'router';
}

function codeOf(err: unknown): string {
  return err instanceof OspError ? err.s3Code : 'InternalError';
}

function markError(span: Span, code: string): void {
  span.setAttribute(ATTR.errorType, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/**
 * Starts the request span; call once when the request enters the middleware. Ends it when the
 * response closes (finished or cut), with the status code, bucket, operation, backend host and
 * the S3 error code when the proxy answered with an error.
 */
export function traceRequest(req: Request, res: Response): void {
  const active = context.active();
  const outer = trace.getSpan(active);
  // An HTTP instrumentation (e.g. @opentelemetry/instrumentation-http) already made the server
  // span and extracted the client's context: nest under it instead of making a second one.
  const nested = outer !== undefined && isSpanContextValid(outer.spanContext());
  const parent = nested ? active : propagation.extract(active, req.headers);
  const span = tracer.startSpan(spanMethod(req.method), { kind: nested ? SpanKind.INTERNAL : SpanKind.SERVER }, parent);
  const recording = span.isRecording();
  if (!recording && !isSpanContextValid(span.spanContext())) return; // no SDK: nothing more to do
  if (recording) {
    const fwd = req.headers['x-forwarded-host'];
    span.setAttributes(
      serverSpanAttributes({
        method: req.method,
        target: req.originalUrl ?? req.url,
        host: (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim() || req.headers.host || (req.headers[':authority'] as string | undefined),
        tls: (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
        httpVersion: req.httpVersion,
        remoteAddress: req.socket?.remoteAddress,
        userAgent: req.headers['user-agent'],
      }),
    );
  }
  const state: RequestTrace = { span, ctx: trace.setSpan(parent, span), recording, open: new Set() };
  (req as Traced)[TRACE] = state;
  res.once('close', () => endRequest(req, res, state));
}

function endRequest(req: Request, res: Response, t: RequestTrace): void {
  for (const s of t.open) s.end();
  t.open.clear();
  if (!t.recording) return;
  const span = t.span;
  const o = req.osp;
  span.updateName(`${spanMethod(req.method)} ${s3Route(req.baseUrl ?? '', o?.style, o?.bucket !== undefined, o?.key !== undefined && o.key !== '')}`);
  if (res.headersSent) span.setAttribute(ATTR.statusCode, res.statusCode);
  if (o) {
    span.setAttribute(ATTR.operation, o.operation);
    span.setAttribute(ATTR.requestId, o.requestId);
    if (o.bucket !== undefined) span.setAttribute(ATTR.bucket, o.bucket);
    if (o.authMethod !== undefined) span.setAttribute(ATTR.authMethod, o.authMethod);
    if (o.backend) span.setAttribute(ATTR.backendHost, o.backend.hostname);
  }
  // The proxy's own refusals (401/403/400 S3 errors) are marked as errors too, unlike the
  // conventions' "4xx is not a server error": they are the decisions an operator looks for.
  if (t.errorCode !== undefined) markError(span, t.errorCode);
  else if (res.headersSent && res.statusCode >= 500) markError(span, String(res.statusCode));
  else if (!res.writableFinished) markError(span, 'aborted');
  span.end();
}

/**
 * Records the S3 error the proxy answers a request with (every S3 XML error goes through
 * `sendS3Error`). Only the code is recorded, never the message's details.
 */
export function recordS3Error(req: IncomingMessage, error: OspError): void {
  const t = (req as Traced)[TRACE];
  if (t?.recording) t.errorCode = error.s3Code;
}

/** Runs `stage` inside a child span named `name`, ended when the stage calls `next`. */
function traceStage(name: string, stage: RequestHandler, onlyPresigned: boolean): RequestHandler {
  return function tracedStage(req: Request, res: Response, next: NextFunction) {
    const t = (req as Traced)[TRACE];
    if (t === undefined || !t.recording || (onlyPresigned && req.osp?.presigned === undefined)) return stage(req, res, next);
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL }, t.ctx);
    t.open.add(span);
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      t.open.delete(span);
      if (isError(err)) markError(span, codeOf(err));
      span.end();
    };
    try {
      // The stage's callbacks (authorize, hmacFetcher, …) see this span as the active one.
      return context.with(trace.setSpan(t.ctx, span), stage, undefined, req, res, (err?: unknown) => {
        end(err);
        next(err);
      });
    } catch (err) {
      end(err ?? new Error('stage threw'));
      throw err;
    }
  };
}

/** Runs the proxy stage with the request span active (its upstream spans are made explicitly). */
function withRequestContext(stage: RequestHandler): RequestHandler {
  return function tracedProxy(req: Request, res: Response, next: NextFunction) {
    const t = (req as Traced)[TRACE];
    if (t === undefined || !t.recording) return stage(req, res, next);
    return context.with(t.ctx, stage, undefined, req, res, next);
  };
}

/**
 * The chain with each stage traced: a handler found in `stages` gets a span named
 * `osp.<its name>`; `s3Proxy` gets none (the upstream CLIENT span stands for it) and
 * `limitPresignedUrlUsage` one only for presigned requests. Others get `osp.<function name>`.
 */
export function traceChain(stages: Readonly<Record<string, RequestHandler>>, chain: readonly RequestHandler[]): RequestHandler[] {
  const names = new Map<RequestHandler, string>(Object.entries(stages).map(([name, h]) => [h, name]));
  return chain.map((h) => {
    const name = names.get(h) ?? (h.name || 'stage');
    if (name === 's3Proxy') return withRequestContext(h);
    return traceStage(`osp.${name}`, h, name === 'limitPresignedUrlUsage');
  });
}

/**
 * Starts the CLIENT span of one upstream exchange and sends its context upstream (`traceparent`).
 * Call synchronously after the upstream request was prepared (re-signed) and before its headers
 * are sent: `traceparent` is not among the signed headers, so setting it keeps the signature valid.
 * The span ends when the backend's answer has been read (or the exchange failed).
 */
export function traceUpstream(proxyReq: ClientRequest, req: IncomingMessage): void {
  const t = (req as Traced)[TRACE];
  if (t === undefined) return;
  if (!t.recording) {
    propagation.inject(t.ctx, proxyReq, headerSetter);
    return;
  }
  const o = (req as Request).osp;
  const b = o?.backend;
  const span = tracer.startSpan(
    spanMethod(req.method),
    {
      kind: SpanKind.CLIENT,
      attributes: b
        ? clientSpanAttributes({
            method: req.method,
            protocol: b.protocol,
            hostname: b.hostname,
            port: b.port,
            hostHeader: b.hostHeader,
            path: b.path,
            query: b.query,
            operation: o?.operation,
            bucket: o?.bucket,
          })
        : {},
    },
    t.ctx,
  );
  propagation.inject(trace.setSpan(t.ctx, span), proxyReq, headerSetter);
  let answered = false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    span.end();
  };
  proxyReq.once('response', (answer: IncomingMessage) => {
    answered = true;
    const status = answer.statusCode ?? 0;
    span.setAttribute(ATTR.statusCode, status);
    if (status >= 400) markError(span, String(status));
    answer.once('close', end);
  });
  proxyReq.once('error', (err: NodeJS.ErrnoException) => {
    if (!ended) markError(span, err instanceof OspError ? err.s3Code : (err.code ?? err.name));
    if (!answered) end();
  });
  proxyReq.once('close', () => {
    if (!answered) end();
  });
}
