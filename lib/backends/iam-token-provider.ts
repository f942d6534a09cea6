/**
 * IBM Cloud IAM token provider: exchanges an IAM API key for a bearer token that the proxy sends to
 * IBM Cloud Object Storage as `Authorization: Bearer <token>`.
 *
 * Exchange (IBM "Generating an IBM Cloud IAM token by using an API key"):
 *   POST {iamEndpoint}/identity/token
 *   Content-Type: application/x-www-form-urlencoded, Accept: application/json
 *   grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<url-encoded key>
 * Answer: { access_token, refresh_token, token_type: "Bearer", expires_in (s), expiration (unix s), scope }
 * Errors: 4xx/5xx with { errorCode: "BXNIM0415E", errorMessage, errorDetails?, context: {...} }.
 *
 * Caching rules (per API key, keyed by SHA-256 of the key; the key itself is never stored):
 * - one exchange in flight per key (single-flight), however many callers;
 * - a valid token inside its refresh window is returned at once while ONE background refresh runs;
 * - a missing/expired token makes callers wait for the single in-flight exchange;
 * - a failed exchange is not cached, but starts a short backoff during which callers without a valid
 *   token get the same 503 at once (no thundering herd against IAM during an outage);
 * - a failed background refresh keeps the still-valid token in service.
 *
 * The lifetime is taken from `expires_in` measured on the local clock (immune to clock skew between
 * us and IAM); `expiration` is only a fallback when `expires_in` is absent.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { OspConfigError, OspError } from '../errors';
import { IamHttpError, iamPostForm } from './iam-http';
import { createBackendAgent, type BackendAgent } from '../upstream/agent';

export interface IamTokenProviderOptions {
  /** Base URL of IAM, default `https://iam.cloud.ibm.com`. */
  iamEndpoint?: string;
  /** Start refreshing this many seconds before expiry (default 300). */
  refreshBeforeSeconds?: number;
  /**
   * Refresh no later than when this fraction of the token lifetime has elapsed (default 0.8). For
   * short-lived tokens (when `refreshBeforeSeconds` exceeds half the lifetime) the refresh happens
   * exactly at this fraction instead.
   */
  minRefreshFraction?: number;
  /** Bound on a whole exchange (connect + answer), default 10 000 ms. */
  requestTimeoutMs?: number;
  /** After a failed exchange, callers without a valid token fail at once for this long (default 1000 ms). */
  failureBackoffMs?: number;
  tls?: { rejectUnauthorized?: boolean };
  /**
   * The agent of the exchanges: the upstream module's IAM agent (TLS verification, lookup and
   * connect timeout of the options). @default one without keep-alive, verifying as `tls` says.
   */
  agent?: BackendAgent;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: () => number;
  /** Called after every exchange (foreground or background), for metrics. Must not throw. */
  onRefresh?: (outcome: 'ok' | 'error') => void;
}

export interface IamTokenProvider {
  /** A valid bearer token for `apiKey` (without the `Bearer ` prefix). Rejects with a 503 OspError. */
  getToken(apiKey: string): Promise<string>;
  /** Drop the cached token of `apiKey` — only if it is still `token` when `token` is given. */
  invalidate(apiKey: string, token?: string): void;
  /** Number of API keys that currently have a cached, unexpired token. */
  size(): number;
}

const DEFAULT_IAM_ENDPOINT = 'https://iam.cloud.ibm.com';
const GRANT_TYPE = 'urn:ibm:params:oauth:grant-type:apikey';

interface CachedToken {
  token: string;
  expiresAtMs: number;
  refreshAtMs: number;
}

/** Most API keys whose tokens are kept (issue [9]: every cache keyed by outside input is bounded). */
export const MAX_API_KEYS = 10_000;

interface KeyState {
  cached?: CachedToken;
  inflight?: Promise<CachedToken>;
  backoffUntilMs: number;
  lastFailureReason?: string;
}

export function createIamTokenProvider(options: IamTokenProviderOptions = {}): IamTokenProvider {
  const endpoint = parseEndpoint(options.iamEndpoint ?? DEFAULT_IAM_ENDPOINT);
  const tokenUrl = new URL(`${endpoint.pathname.replace(/\/+$/, '')}/identity/token`, endpoint);
  const refreshBeforeMs = nonNegative('refreshBeforeSeconds', options.refreshBeforeSeconds, 300, '{ refreshBeforeSeconds: 300 }') * 1000;
  const minRefreshFraction = options.minRefreshFraction ?? 0.8;
  if (!(typeof minRefreshFraction === 'number' && minRefreshFraction > 0 && minRefreshFraction <= 1)) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'minRefreshFraction', 'must be a number in (0, 1]', '{ minRefreshFraction: 0.8 }');
  }
  const requestTimeoutMs = nonNegative('requestTimeoutMs', options.requestTimeoutMs, 10_000, '{ requestTimeoutMs: 10000 }');
  if (requestTimeoutMs === 0) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'requestTimeoutMs', 'must be > 0', '{ requestTimeoutMs: 10000 }');
  }
  const failureBackoffMs = nonNegative('failureBackoffMs', options.failureBackoffMs, 1000, '{ failureBackoffMs: 1000 }');
  const agent = options.agent ?? createBackendAgent({ rejectUnauthorized: options.tls?.rejectUnauthorized ?? true, keepAlive: false });
  const now = options.now ?? Date.now;
  const onRefresh = options.onRefresh;

  const states = new Map<string, KeyState>();

  function report(outcome: 'ok' | 'error'): void {
    if (!onRefresh) return;
    try {
      onRefresh(outcome);
    } catch {
      // metrics must never break token delivery
    }
  }

  function unavailable(reason: string): OspError {
    return new OspError(503, 'TokenServiceUnavailable', `Could not obtain an IAM token for the backend: ${reason}`);
  }

  async function exchange(apiKey: string): Promise<CachedToken> {
    const body = `grant_type=${encodeURIComponent(GRANT_TYPE)}&apikey=${encodeURIComponent(apiKey)}`;
    // Lifetime counts from when we asked (conservative: the token was issued after this instant).
    const requestedAt = now();
    let res;
    try {
      res = await iamPostForm(tokenUrl, body, { timeoutMs: requestTimeoutMs, agent });
    } catch (e) {
      throw new Failure(e instanceof IamHttpError ? e.message : 'IAM request failed');
    }
    if (res.status < 200 || res.status > 299) {
      throw new Failure(`IAM answered HTTP ${res.status}${ibmErrorCode(res.body)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw new Failure('IAM answered with a body that is not JSON');
    }
    return toCachedToken(json, requestedAt);
  }

  function toCachedToken(json: unknown, obtainedAt: number): CachedToken {
    if (typeof json !== 'object' || json === null) throw new Failure('IAM answered with an unexpected JSON shape');
    const j = json as Record<string, unknown>;
    const token = j.access_token;
    if (typeof token !== 'string' || token.length === 0 || /[\r\n]/.test(token)) {
      throw new Failure('IAM answer has no usable access_token');
    }
    if (j.token_type !== undefined && (typeof j.token_type !== 'string' || j.token_type.toLowerCase() !== 'bearer')) {
      throw new Failure('IAM answer has an unexpected token_type');
    }
    let lifetimeMs: number;
    if (typeof j.expires_in === 'number' && Number.isFinite(j.expires_in) && j.expires_in > 0) {
      lifetimeMs = j.expires_in * 1000;
    } else if (typeof j.expiration === 'number' && Number.isFinite(j.expiration) && j.expiration * 1000 > obtainedAt) {
      lifetimeMs = j.expiration * 1000 - obtainedAt;
    } else {
      throw new Failure('IAM answer has no usable expires_in/expiration');
    }
    return { token, expiresAtMs: obtainedAt + lifetimeMs, refreshAtMs: obtainedAt + refreshAfterMs(lifetimeMs) };
  }

  /**
   * When (after obtaining it) a token enters its refresh window:
   * - normally `lifetime - refreshBefore`, but never later than `minRefreshFraction × lifetime`
   *   (3600 s token, defaults: min(3300 s, 2880 s) = 2880 s);
   * - for short-lived tokens, where `refreshBefore` would cover more than half of the lifetime,
   *   `minRefreshFraction × lifetime` alone (60 s token: 48 s). Without this rule a token shorter
   *   than `refreshBefore` would be "due" from birth and re-fetched on every call.
   */
  function refreshAfterMs(lifetimeMs: number): number {
    const byFraction = lifetimeMs * minRefreshFraction;
    const byWindow = lifetimeMs - refreshBeforeMs;
    return byWindow < lifetimeMs / 2 ? byFraction : Math.min(byWindow, byFraction);
  }

  /** Start the single exchange for this key (caller checked that none is in flight). */
  function startExchange(state: KeyState, apiKey: string): Promise<CachedToken> {
    const p = exchange(apiKey).then(
      (fresh) => {
        state.cached = fresh;
        state.backoffUntilMs = 0;
        state.lastFailureReason = undefined;
        state.inflight = undefined;
        report('ok');
        return fresh;
      },
      (e: unknown) => {
        const reason = e instanceof Failure ? e.message : 'unexpected error';
        state.backoffUntilMs = now() + failureBackoffMs;
        state.lastFailureReason = reason;
        state.inflight = undefined;
        report('error');
        throw unavailable(reason);
      },
    );
    state.inflight = p;
    return p;
  }

  async function getToken(apiKey: string): Promise<string> {
    if (typeof apiKey !== 'string' || apiKey.length === 0) {
      throw unavailable('no IAM API key is configured for this backend');
    }
    const id = keyId(apiKey);
    let state = states.get(id);
    if (!state) {
      if (states.size >= MAX_API_KEYS) {
        // API keys can come from bucketCredsFetcher answers: never let them grow memory without
        // bound. The oldest-inserted key goes (its next request simply exchanges again).
        const oldest = states.keys().next();
        if (!oldest.done) states.delete(oldest.value);
      }
      state = { backoffUntilMs: 0 };
      states.set(id, state);
    }
    const t = now();
    const cached = state.cached;
    if (cached && t < cached.expiresAtMs) {
      if (t >= cached.refreshAtMs && !state.inflight && t >= state.backoffUntilMs) {
        // Background refresh: nobody waits for it; failures keep the current token in service.
        startExchange(state, apiKey).catch(() => undefined);
      }
      return cached.token;
    }
    if (cached) state.cached = undefined; // expired
    if (state.inflight) return (await state.inflight).token;
    if (t < state.backoffUntilMs) {
      throw unavailable(state.lastFailureReason ?? 'IAM recently failed');
    }
    return (await startExchange(state, apiKey)).token;
  }

  function invalidate(apiKey: string, token?: string): void {
    if (typeof apiKey !== 'string' || apiKey.length === 0) return;
    const state = states.get(keyId(apiKey));
    if (!state?.cached) return;
    if (token === undefined || state.cached.token === token) state.cached = undefined;
  }

  function size(): number {
    const t = now();
    let n = 0;
    for (const [id, state] of states) {
      if (state.cached && t >= state.cached.expiresAtMs) state.cached = undefined;
      if (state.cached) n++;
      else if (!state.inflight && t >= state.backoffUntilMs) states.delete(id); // nothing worth keeping
    }
    return n;
  }

  return { getToken, invalidate, size };
}

/**
 * Whether a COS answer means "the bearer token is expired or no longer accepted", i.e. the caller
 * should `invalidate(apiKey, token)` and retry ONCE with a fresh token.
 *
 * - 401: always (COS answers 401 for a missing/invalid bearer token; RFC 6750 `invalid_token`).
 * - 400/403 with an S3 `<Code>` of ExpiredToken / InvalidToken / TokenRefreshRequired /
 *   ExpiredTokenException, or `WWW-Authenticate: Bearer error="invalid_token"`.
 * - 403 AccessDenied whose `<Message>` speaks of an expired/invalid token.
 * - A plain 403 AccessDenied is NOT treated as expiry: it is also the answer to a genuine
 *   permission problem, and retrying those would double the backend load for nothing. (Reports
 *   from IBM COS SDK users show plain `AccessDenied` after an hour when tokens were not refreshed;
 *   the proxy avoids that case by refreshing ahead of expiry.)
 */
export function isTokenExpiredResponse(status: number, headers: IncomingHttpHeaders | Record<string, string | string[] | number | undefined> | undefined, bodySnippet?: string): boolean {
  if (status === 401) return true;
  if (status !== 403 && status !== 400) return false;
  const wwwAuth = headerValue(headers, 'www-authenticate');
  if (wwwAuth && /invalid_token/i.test(wwwAuth)) return true;
  const headerCode = headerValue(headers, 'x-amz-error-code') ?? headerValue(headers, 'x-ibm-error-code');
  if (headerCode && EXPIRED_CODES.has(headerCode.trim())) return true;
  if (!bodySnippet) return false;
  const code = /<Code>\s*([^<\s]+)\s*<\/Code>/i.exec(bodySnippet)?.[1];
  if (code && EXPIRED_CODES.has(code)) return true;
  if (status === 403 && (code === undefined || code === 'AccessDenied')) {
    const message = /<Message>([^<]*)<\/Message>/i.exec(bodySnippet)?.[1] ?? '';
    if (/token/i.test(message) && /(expired|invalid)/i.test(message)) return true;
  }
  return false;
}

const EXPIRED_CODES: ReadonlySet<string> = new Set(['ExpiredToken', 'ExpiredTokenException', 'InvalidToken', 'TokenRefreshRequired']);

function headerValue(headers: IncomingHttpHeaders | Record<string, string | string[] | number | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  let v: unknown = (headers as Record<string, unknown>)[name];
  if (v === undefined) {
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === name) {
        v = (headers as Record<string, unknown>)[k];
        break;
      }
    }
  }
  if (Array.isArray(v)) return v.join(', ');
  return v === undefined || v === null ? undefined : String(v);
}

/** An exchange failure whose message is safe to show (no key, no token). */
class Failure extends Error {}

function keyId(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** ` (BXNIM0415E)` when the IAM error body carries a well-formed IBM error code; the rest is dropped. */
function ibmErrorCode(body: string): string {
  try {
    const j = JSON.parse(body) as { errorCode?: unknown };
    if (typeof j.errorCode === 'string' && /^[A-Z]{3,8}[0-9]{3,6}[A-Z]?$/.test(j.errorCode)) return ` (${j.errorCode})`;
  } catch {
    // not JSON: nothing to add
  }
  return '';
}

function parseEndpoint(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'iamEndpoint', 'must be an absolute http(s) URL', "{ iamEndpoint: 'https://iam.cloud.ibm.com' }");
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', 'iamEndpoint', 'must be an http(s) URL without credentials, query or fragment', "{ iamEndpoint: 'https://iam.cloud.ibm.com' }");
  }
  return url;
}

function nonNegative(name: string, value: number | undefined, def: number, example: string): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', name, 'must be a finite number >= 0', example);
  }
  return value;
}
