/**
 * The retry path of `s3Proxy` for IBM COS bearer-token backends (part of the upstream module: its
 * requests go through the module's backend agent, tracing hook and error mapping).
 *
 * http-proxy writes the backend's answer to the client as soon as it arrives, so a request whose
 * token the backend rejected could not be retried there. For requests whose body can be sent again
 * (no body, or the small buffered DeleteObjects body), `s3Proxy` sends them through here instead:
 * the upstream request is built by the same `prepareUpstreamRequest` and watched by the same
 * timeouts, but its answer is inspected first. When COS rejects the token
 * ({@link isBearerTokenRejected}), the token is dropped (`invalidate(token)` — a no-op when another
 * request already replaced it), a fresh one is obtained through the provider's single in-flight
 * exchange, and the request is sent ONCE more; that answer goes to the client whatever it is.
 *
 * Streamed bodies never come here: they cannot be replayed, so they keep the normal proxy path; a
 * rejection there still drops the token (see `s3Proxy`'s proxyRes hook) so the next request gets a
 * fresh one.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import type { ResolvedBackend } from '../context';
import { OspError } from '../errors';
import { bearerRenewalOf, isBearerTokenRejected, type BearerRenewal } from '../backends/ibm-bearer';
import type { BackendAgent } from './agent';
import { openUpstream } from './request';
import { hasRequestBody } from '../s3/headers';

/** Largest error body read to recognise a token rejection (COS error documents are < 1 KiB). */
const MAX_INSPECTED_BODY = 64 * 1024;

/** Response headers that describe the backend connection, not the answer. */
const HOP_BY_HOP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);

export interface BearerRetryDeps {
  agent: BackendAgent;
  /** Applies path, Host, payload hash and `Authorization: Bearer` (prepareUpstreamRequest). */
  prepare(upstream: ClientRequest, backend: ResolvedBackend): void;
  /** Arms timeouts and metrics hooks on an upstream request. */
  watch(upstream: ClientRequest): void;
  /** A connection-level failure (maps to 502/504 S3 XML, logs, metrics). */
  fail(err: Error): void;
  /** An error the proxy answers itself (503 TokenServiceUnavailable). */
  reject(err: OspError): void;
  serverName?: string;
}

/** Whether the request carries no body (HTTP/1.1: neither Content-Length > 0 nor Transfer-Encoding). */
export function hasNoRequestBody(req: IncomingMessage): boolean {
  return !hasRequestBody(req.headers);
}

/**
 * Sends a replayable request to a bearer backend, retrying once with a fresh token when the token
 * was rejected. `body` is the whole request body (undefined: none).
 */
export function forwardBearerWithRetry(req: Request, res: Response, backend: ResolvedBackend, body: Buffer | undefined, deps: BearerRetryDeps): void {
  const renewal = bearerRenewalOf(backend.credentials) as BearerRenewal;
  let current: ClientRequest | undefined;
  let clientGone = false;
  res.once('close', () => {
    if (!res.writableFinished) {
      clientGone = true;
      current?.destroy();
    }
  });
  if (body === undefined) req.resume(); // nothing to read; let the request end

  const send = (b: ResolvedBackend, retried: boolean): void => {
    if (clientGone) return;
    const headers: OutgoingHttpHeaders = { ...req.headers };
    const upstream = openUpstream(deps.agent, b, { method: req.method, path: '/', headers });
    current = upstream;
    try {
      deps.prepare(upstream, b);
    } catch (err) {
      upstream.destroy();
      return deps.reject(err instanceof OspError ? err : new OspError(500, 'InternalError', 'Preparing the backend request failed.'));
    }
    deps.watch(upstream);
    upstream.once('error', (err) => {
      if (!clientGone) deps.fail(err);
    });
    upstream.once('response', (answer) => {
      const status = answer.statusCode ?? 0;
      const token = b.credentials.kind === 'bearer' ? b.credentials.token : '';
      if (retried || (status !== 401 && status !== 403 && status !== 400)) return relay(answer, []);
      readHead(answer, MAX_INSPECTED_BODY).then(
        ({ chunks, complete }) => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (!complete || !isBearerTokenRejected(status, answer.headers, text, renewal.tokenAgeMs(token))) return relay(answer, chunks);
          answer.resume();
          renewal.invalidate(token);
          renewal.getToken().then(
            (fresh) => send({ ...b, credentials: { kind: 'bearer', token: fresh, apiKeyHash: b.credentials.kind === 'bearer' ? b.credentials.apiKeyHash : '' } }, true),
            (err: unknown) => deps.reject(err instanceof OspError ? err : new OspError(503, 'TokenServiceUnavailable', 'Could not obtain an IAM token for the backend.')),
          );
        },
        (err: Error) => deps.fail(err),
      );
    });
    upstream.end(body);
  };

  const relay = (answer: IncomingMessage, head: Buffer[]): void => {
    if (clientGone) return void answer.resume();
    res.statusCode = answer.statusCode ?? 502;
    if (answer.statusMessage) res.statusMessage = answer.statusMessage;
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP_RESPONSE.has(name)) res.setHeader(name, value);
    }
    if (deps.serverName) res.setHeader('server', deps.serverName);
    for (const chunk of head) res.write(chunk);
    answer.on('error', (err) => res.destroy(err));
    answer.on('aborted', () => res.destroy(new Error('backend aborted the response')));
    answer.pipe(res);
  };

  // The retry path must survive a renewal object attached to the credentials (a bug otherwise).
  if (!renewal) {
    deps.reject(new OspError(500, 'InternalError', 'No token renewal for this backend.'));
    return;
  }
  send(backend, false);
}

/** Reads up to `limit` bytes of a response; `complete` when the whole body fit. */
function readHead(answer: IncomingMessage, limit: number): Promise<{ chunks: Buffer[]; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        answer.pause();
        resolve({ chunks, complete: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, complete: true });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      answer.off('data', onData);
      answer.off('end', onEnd);
      answer.off('error', onError);
    };
    answer.on('data', onData);
    answer.once('end', onEnd);
    answer.once('error', onError);
  });
}
