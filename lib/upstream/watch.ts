/**
 * The one hook every upstream request of a client's request passes through, right after it was
 * prepared (re-signed) and before its headers are sent: the agent's idle timeout becomes an error,
 * the CLIENT span starts (with `traceparent`, set after signing: not a signed header), and the
 * time to the backend's first byte goes to `onBackendResponse`.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { traceUpstream } from '../tracing/request-tracing';
import { watchSocketTimeout } from './agent';

/** The observation hook of an upstream request (metrics). Must not throw. */
export interface UpstreamObserver {
  /** The backend answered with response headers after `latencyMs` (time to first byte). */
  onBackendResponse?(req: Request, status: number, latencyMs: number): void;
}

/** Arms the backend timeouts, the CLIENT span and the response-time hook of one upstream request made for `req`. */
export function watchUpstream(proxyReq: ClientRequest, req: Request, hooks: UpstreamObserver): void {
  traceUpstream(proxyReq, req);
  if (hooks.onBackendResponse) {
    const started = performance.now();
    proxyReq.once('response', (r: IncomingMessage) => hooks.onBackendResponse?.(req, r.statusCode ?? 0, performance.now() - started));
  }
  watchSocketTimeout(proxyReq);
}
