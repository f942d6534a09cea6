/**
 * The upstream module's request functions, for the exchanges http-proxy does not carry: the IBM
 * bearer retry and browser POST uploads ({@link openUpstream}: a streamed request whose answer the
 * caller reads), and the small buffered exchanges ({@link upstreamRequest}): ListBuckets fan-out,
 * IAM token requests, CORS lookups. Both go through an agent of the module (timeouts, TLS
 * verification, `upstreamLookup`, keep-alive).
 */
import http, { type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { upstreamTimeout, watchSocketTimeout, type BackendAgent } from './agent';

/** Where an upstream request goes. */
export interface UpstreamTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
}

export interface UpstreamRequestInit {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: OutgoingHttpHeaders;
}

/**
 * Creates an upstream request through `agent`; its headers are not sent yet, so the caller can
 * still prepare (re-sign) it, and then must watch it: `watchUpstream` (lib/upstream/watch.ts) for a
 * request made for a client's request, `watchSocketTimeout` otherwise. Throws what Node throws
 * for a header value it refuses.
 */
export function openUpstream(agent: BackendAgent, target: UpstreamTarget, init: UpstreamRequestInit): ClientRequest {
  const request = target.protocol === 'https:' ? https.request : http.request;
  const u = request({
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    method: init.method,
    path: init.path,
    headers: init.headers,
    agent: agent as unknown as http.Agent,
  });
  return u;
}

/** A buffered upstream answer. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; empty when `discardBody` was asked. */
  body: Buffer;
}

/** Thrown when an answer is larger than `maxResponseBytes`. */
export const UPSTREAM_TOO_LARGE_CODE = 'OSP_UPSTREAM_TOO_LARGE';

export interface BufferedRequestInit extends UpstreamRequestInit {
  body?: Buffer;
  /** Largest body read; a larger one fails with code {@link UPSTREAM_TOO_LARGE_CODE}. @default 1 MiB */
  maxResponseBytes?: number;
  /** Resolve on the response headers and read the body away (CORS lookups need no body). */
  discardBody?: boolean;
  /** The whole exchange (connect, answer, body) fails after this long, as a timeout. @default none */
  deadlineMs?: number;
  /**
   * The socket may stay silent this long during this exchange (instead of the agent's idle
   * timeout, which the agent restores when the socket goes back to the pool). @default the agent's
   */
  idleTimeoutMs?: number;
}

/**
 * One small exchange through `agent`; resolves with the answer whatever its status, rejects on a
 * connection-level failure (classify it with `upstreamFailureKind`), a timeout (code
 * `OSP_UPSTREAM_TIMEOUT`) or a body over `maxResponseBytes`.
 */
export function upstreamRequest(agent: BackendAgent, target: UpstreamTarget, init: BufferedRequestInit): Promise<UpstreamAnswer> {
  return new Promise<UpstreamAnswer>((resolve, reject) => {
    let u: ClientRequest;
    try {
      u = openUpstream(agent, target, init);
      watchSocketTimeout(u);
    } catch (err) {
      return reject(err as Error);
    }
    let settled = false;
    const finish = (err: Error | undefined, answer?: UpstreamAnswer) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) {
        u.destroy();
        reject(err);
      } else resolve(answer as UpstreamAnswer);
    };
    const timer = init.deadlineMs !== undefined ? setTimeout(() => finish(upstreamTimeout('connection')), init.deadlineMs) : undefined;
    if (init.idleTimeoutMs !== undefined) u.setTimeout(init.idleTimeoutMs);
    const limit = init.maxResponseBytes ?? 1024 * 1024;
    u.once('error', (err) => finish(err));
    u.once('response', (r) => {
      const head = { status: r.statusCode ?? 0, headers: r.headers };
      r.once('error', (err) => finish(err));
      r.once('aborted', () => finish(Object.assign(new Error('upstream closed the connection mid-answer'), { code: 'ECONNRESET' })));
      if (init.discardBody) {
        r.resume(); // reading it frees the socket for the next request
        return finish(undefined, { ...head, body: Buffer.alloc(0) });
      }
      const parts: Buffer[] = [];
      let size = 0;
      r.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) finish(Object.assign(new Error(`upstream answer larger than ${limit} bytes`), { code: UPSTREAM_TOO_LARGE_CODE }));
        else parts.push(chunk);
      });
      r.once('end', () => finish(undefined, { ...head, body: Buffer.concat(parts) }));
    });
    u.end(init.body);
  });
}
