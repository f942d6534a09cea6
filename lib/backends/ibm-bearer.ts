/**
 * What the proxy needs to renew the IAM bearer token of a request that IBM COS rejected, without
 * the API key ever appearing on the request context (`req.osp`), in logs or in errors.
 *
 * `backend-credentials.ts` attaches a {@link BearerRenewal} to every bearer credentials object it
 * creates (a WeakMap, so nothing enumerable carries the key); the retry path of `s3Proxy`
 * (`lib/upstream/bearer-retry.ts`) looks it up.
 *
 * How IBM COS answers a request whose bearer token expired: `403 AccessDenied` / "Access Denied",
 * exactly as for a genuine permission problem. Sources: the COS error table lists no token-specific
 * code (AccessDenied 403 is the only authentication/authorization failure besides InvalidSecurity,
 * https://github.com/ibm-cloud-docs/cloud-object-storage/blob/master/common-headers-errors.md, 2025
 * version); SDK users whose tokens were not refreshed saw `AccessDenied: Access Denied` after an
 * hour (IBM/ibm-cos-sdk-js#7, #8) and `403 Forbidden` (CODAIT/stocator#259).
 *
 * So a plain 403 AccessDenied only *may* mean "expired". {@link isBearerTokenRejected} treats it as
 * such only when the token has been in use for at least {@link bearerRetryTuning}
 * `.minTokenAgeMs`: a token we obtained moments ago is valid, and a denial with it is a real
 * permission problem — not worth a second backend request nor an IAM exchange. This bounds the
 * cost of genuine denials to one IAM exchange per key per `minTokenAgeMs`. Answers that say
 * "token" explicitly (401, ExpiredToken, InvalidToken, `WWW-Authenticate: Bearer
 * error="invalid_token"`) count at any age (`isTokenExpiredResponse`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendCredentials } from '../context';
import { isTokenExpiredResponse, MAX_API_KEYS } from './iam-token-provider';

/** Renewal of one bearer credentials object. */
export interface BearerRenewal {
  /** Drop `token` from the cache (no-op when the cache already holds another token). */
  invalidate(token: string): void;
  /** A valid token (the single in-flight exchange is shared). Rejects with a 503 OspError. */
  getToken(): Promise<string>;
  /** Milliseconds since this process first handed out `token` (0 when unknown). */
  tokenAgeMs(token: string): number;
}

/** Internal tuning (not a public option): tests lower it; production keeps the default. */
export const bearerRetryTuning = {
  /** A plain 403 AccessDenied is treated as "token expired" only for tokens at least this old. */
  minTokenAgeMs: 60_000,
};

const renewals = new WeakMap<object, BearerRenewal>();

export function attachBearerRenewal<T extends BackendCredentials>(creds: T, renewal: BearerRenewal): T {
  renewals.set(creds, renewal);
  return creds;
}

export function bearerRenewalOf(creds: BackendCredentials | undefined): BearerRenewal | undefined {
  return creds && creds.kind === 'bearer' ? renewals.get(creds) : undefined;
}

/**
 * Remembers when each API key's current token was first handed out (keyed by the key's hash, at most MAX_API_KEYS keys;
 * only the latest token per key is kept, so memory stays one entry per key).
 */
export function createTokenClock(now: () => number = Date.now) {
  const seen = new Map<string, { token: string; firstSeenMs: number }>();
  return {
    observe(apiKeyHash: string, token: string): void {
      const entry = seen.get(apiKeyHash);
      if (entry && entry.token === token) return;
      if (!entry && seen.size >= MAX_API_KEYS) {
        const oldest = seen.keys().next();
        if (!oldest.done) seen.delete(oldest.value);
      }
      seen.set(apiKeyHash, { token, firstSeenMs: now() });
    },
    ageMs(apiKeyHash: string, token: string): number {
      const entry = seen.get(apiKeyHash);
      return entry && entry.token === token ? now() - entry.firstSeenMs : 0;
    },
  };
}

/** Whether a COS answer means the bearer token must be renewed (and a replayable request retried). */
export function isBearerTokenRejected(status: number, headers: IncomingHttpHeaders, body: string | undefined, tokenAgeMs: number): boolean {
  if (isTokenExpiredResponse(status, headers, body)) return true;
  if (status !== 403 || tokenAgeMs < bearerRetryTuning.minTokenAgeMs) return false;
  // HEAD answers carry no body: a bodiless 403 is COS's AccessDenied too.
  const code = body ? /<Code>\s*([^<\s]+)\s*<\/Code>/i.exec(body)?.[1] : undefined;
  return code === undefined || code === 'AccessDenied';
}

/**
 * For answers that cannot be retried (streamed uploads): when COS rejected the token, drop it so
 * the next request obtains a fresh one. Only status and headers are known here (the body streams
 * to the client).
 */
export function dropRejectedBearerToken(creds: BackendCredentials | undefined, status: number, headers: IncomingHttpHeaders): void {
  const renewal = bearerRenewalOf(creds);
  if (!renewal || creds?.kind !== 'bearer') return;
  if (isBearerTokenRejected(status, headers, undefined, renewal.tokenAgeMs(creds.token))) renewal.invalidate(creds.token);
}
