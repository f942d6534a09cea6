/**
 * The CORS response headers a bucket's own rules give a request, asked of its backend: for the
 * responses the proxy makes itself (a browser POST upload's 204/200/201, the proxy's S3 errors),
 * which the backend never sees, so that a page can read them as it reads the backend's answers.
 *
 * The backend is asked with the request a browser would send, an unsigned CORS preflight
 * (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): it needs no credentials, and the
 * backend evaluates its own rules, whatever their dialect (S3, RGW, Swift, moto). S3 matches a CORS
 * rule on the origin, the method and the requested headers only, never on the key, so one answer
 * per (backend, bucket, origin, method) is cached for a short, bounded time.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html#cors-eval-criteria
 * @see https://fetch.spec.whatwg.org/#http-responses
 */
import type { IncomingMessage } from 'node:http';
import { createTtlCache } from '../cache/ttl-cache';
import type { BackendAgent } from '../upstream/agent';
import { upstreamRequest } from '../upstream/request';
import type { ResolvedBackend } from '../context';

/** Preflight answer headers that also belong on the actual response (the others only answer a preflight). */
export const COPIED_CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'vary'] as const;

/** Where the preflight goes: the bucket's backend, as resolved for the request. */
export type CorsTarget = Pick<ResolvedBackend, 'protocol' | 'hostname' | 'port' | 'hostHeader' | 'path'>;

/** CORS response headers (lowercase names); empty when the rules allow nothing. */
export type CorsHeaders = Readonly<Record<string, string>>;

export interface BackendCorsOptions {
  /** The agent of the proxy's backend connections (keep-alive, TLS verification, timeouts). */
  agent: BackendAgent;
  /** How long an answer is reused. @default 30 */
  ttlSeconds?: number;
  /** How long a failed question (unreachable backend, timeout) is remembered as "no headers". @default 5 */
  failureTtlSeconds?: number;
  /** Most answers kept (least recently used out first). @default 1000 */
  maxEntries?: number;
  /** A question unanswered after this long counts as failed. @default 2000 */
  timeoutMs?: number;
  /** Clock for the cache (tests). */
  now?: () => number;
}

export interface BackendCors {
  /**
   * The headers of {@link COPIED_CORS_HEADERS} that the bucket's CORS rules give a `method`
   * request from `origin`, as the backend answers its preflight; `{}` when it refuses or fails.
   * Never rejects.
   */
  headersFor(bucket: string, target: CorsTarget, origin: string, method: string): Promise<CorsHeaders>;
}

const NONE: CorsHeaders = Object.freeze({});
/** Longest Origin asked about (an origin is a scheme, a host and a port). */
const MAX_ORIGIN_LENGTH = 1024;

/** The copied headers of a preflight answer that allowed the origin; `{}` otherwise. Pure; exported for tests. */
export function corsHeadersOf(status: number, headers: IncomingMessage['headers']): CorsHeaders {
  if (status < 200 || status >= 300 || headers['access-control-allow-origin'] === undefined) return NONE;
  const out: Record<string, string> = {};
  for (const name of COPIED_CORS_HEADERS) {
    const value = headers[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return Object.freeze(out);
}

/** Sends one unsigned preflight; resolves with its answer, `undefined` when it failed. */
async function askBackend(agent: BackendAgent, target: CorsTarget, origin: string, method: string, timeoutMs: number): Promise<CorsHeaders | undefined> {
  try {
    // The body (an error document) is not needed: read away, which frees the socket.
    const answer = await upstreamRequest(agent, target, {
      method: 'OPTIONS',
      path: target.path,
      headers: { host: target.hostHeader, origin, 'access-control-request-method': method },
      discardBody: true,
      deadlineMs: timeoutMs,
    });
    return corsHeadersOf(answer.status, answer.headers);
  } catch {
    return undefined; // unreachable, timed out, or an Origin value Node refuses to send
  }
}

/** A bounded cache of the backends' CORS answers. */
export function createBackendCors(options: BackendCorsOptions): BackendCors {
  const ttl = options.ttlSeconds ?? 30;
  const failureTtl = options.failureTtlSeconds ?? 5;
  const timeoutMs = options.timeoutMs ?? 2000;
  const cache = createTtlCache<CorsHeaders | undefined>({ maxEntries: options.maxEntries ?? 1000, ...(options.now ? { now: options.now } : {}) });
  return {
    async headersFor(bucket, target, origin, method) {
      if (origin.length > MAX_ORIGIN_LENGTH) return NONE;
      const key = `${target.hostHeader}\u0000${bucket}\u0000${origin}\u0000${method}`;
      const answer = await cache.getOrLoad(
        key,
        (value) => (value === undefined ? failureTtl : ttl),
        () => askBackend(options.agent, target, origin, method, timeoutMs),
      );
      return answer ?? NONE;
    },
  };
}
