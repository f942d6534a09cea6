/**
 * Verification of client SigV4 signatures (Authorization header and presigned query), plus the
 * scope, clock-skew and expiry checks S3 performs.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { timingSafeEqual } from 'node:crypto';
import { OspError, s3Errors } from '../errors';
import { buildCanonicalRequest, buildStringToSign, canonicalHeadersFromRaw, canonicalizePath, canonicalizeQuery } from './canonical-request';
import type { SigV4Authorization } from './parse-authorization';
import { assertExpiresRange, type SigV4Presigned } from './parse-presigned';
import { getSigningKey, hmacHex } from './signing-key';
import { missingRequestDate, parseAmzDate } from './amz-date';

export { parseHttpDate } from './amz-date';

/** Default maximum clock skew S3 tolerates: 15 minutes. */
export const DEFAULT_MAX_SKEW_MS = 900_000;

/** Everything needed to recompute a client's signature. */
export interface VerifyInput {
  method: string;
  /** Path part of the URL the client sent (`req.originalUrl` before `?`), still percent-encoded. */
  rawPath: string;
  /** Query string without `?`, still encoded (`''` if none). */
  rawQuery: string;
  /** The canonical query when the caller has it from its own parse (then `rawQuery` is not split again). */
  canonicalQuery?: string;
  /** Node's `req.rawHeaders`. */
  rawHeaders: readonly string[];
  auth: SigV4Authorization | SigV4Presigned;
  kind: 'header' | 'query';
  /** Header auth: `x-amz-date` (or the converted `Date` header); query: `X-Amz-Date`. */
  amzDate: string;
  /**
   * Header auth: the `x-amz-content-sha256` value (or `UNSIGNED-PAYLOAD`); query:
   * `UNSIGNED-PAYLOAD` unless `X-Amz-Content-Sha256` is in the query.
   */
  payloadHash: string;
  secretKey: string;
}

function malformed(kind: 'header' | 'query', message: string): OspError {
  return kind === 'header' ? s3Errors.authorizationHeaderMalformed(`The authorization header is malformed; ${message}`) : s3Errors.authorizationQueryParametersError(message);
}

/** Computes the signature with all parts but the canonical URI derived from `input`. */
function signWith(input: VerifyInput, canonicalUri: string, canonicalQuery: string, canonicalHeaders: string): string {
  const { auth } = input;
  const canonicalRequest = buildCanonicalRequest(input.method, canonicalUri, canonicalQuery, canonicalHeaders, auth.signedHeaders.join(';'), input.payloadHash);
  const stringToSign = buildStringToSign(input.amzDate, auth.scopeString, canonicalRequest);
  const key = getSigningKey(input.secretKey, auth.scope.date, auth.scope.region, auth.scope.service);
  return hmacHex(key, stringToSign);
}

function queryOf(input: VerifyInput): string {
  if (input.canonicalQuery !== undefined) return input.canonicalQuery;
  // For presigned URLs every query parameter except X-Amz-Signature is signed.
  return canonicalizeQuery(input.rawQuery, input.kind === 'query' ? 'X-Amz-Signature' : undefined);
}

/**
 * The hex signature the client should have sent, for the given canonical URI.
 *
 * @throws OspError 400 InvalidURI on malformed percent-encoding in the query.
 */
export function computeSignature(input: VerifyInput, canonicalUri: string): string {
  return signWith(input, canonicalUri, queryOf(input), canonicalHeadersFromRaw(input.rawHeaders, input.auth.signedHeaders));
}

function sameSignature(expectedHex: string, providedHex: string): boolean {
  if (expectedHex.length !== providedHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'latin1'), Buffer.from(providedHex, 'latin1'));
}

/**
 * Recomputes the signature and compares it in constant time with the one the client sent.
 * Tries the S3 canonical URI ({@link canonicalizePath}) first; only when that does not match and
 * the raw path differs, tries the raw path as sent (some clients sign their own encoding, e.g. a
 * `%2F` kept inside a key). Scope/time are NOT checked here (see {@link checkScope},
 * {@link checkRequestTime}, {@link checkPresignedValidity}).
 *
 * @returns `true` when the signature matches.
 * @throws OspError 400 InvalidURI on malformed percent-encoding.
 */
export function verifySignature(input: VerifyInput): boolean {
  const canonicalQuery = queryOf(input);
  const canonicalHeaders = canonicalHeadersFromRaw(input.rawHeaders, input.auth.signedHeaders);
  const uri = canonicalizePath(input.rawPath);
  if (sameSignature(signWith(input, uri, canonicalQuery, canonicalHeaders), input.auth.signature)) return true;
  const raw = input.rawPath === '' ? '/' : input.rawPath;
  if (raw === uri) return false;
  return sameSignature(signWith(input, raw, canonicalQuery, canonicalHeaders), input.auth.signature);
}

/**
 * Checks the credential scope against the request date: the scope date must equal the
 * `x-amz-date`/`X-Amz-Date` day, the service must be `s3`, the terminator `aws4_request`, and
 * `host` must be signed. The region is the caller's business (it depends on the deployment).
 *
 * @throws OspError 400 AuthorizationHeaderMalformed (header) / AuthorizationQueryParametersError (query).
 */
export function checkScope(auth: SigV4Authorization, amzDate: string, kind: 'header' | 'query'): void {
  const { scope } = auth;
  if (scope.date !== amzDate.slice(0, 8) || amzDate.length < 8) {
    throw malformed(
      kind,
      kind === 'header'
        ? 'Invalid credential date. Date is not the same as X-Amz-Date.'
        : 'Invalid credential date "' + scope.date.slice(0, 16) + '". This date is not the same as X-Amz-Date: "' + amzDate.slice(0, 16) + '".',
    );
  }
  if (scope.service !== 's3') {
    throw malformed(kind, `incorrect service "${scope.service.slice(0, 40)}". This endpoint belongs to "s3".`);
  }
  if (scope.terminator !== 'aws4_request') {
    throw malformed(kind, `incorrect terminal "${scope.terminator.slice(0, 40)}". This endpoint uses "aws4_request".`);
  }
  if (!auth.signedHeaders.includes('host') && !auth.signedHeaders.includes(':authority')) {
    throw malformed(kind, "the 'host' header must be signed.");
  }
}

/** ISO 8601 without milliseconds, as S3 shows ServerTime. */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function tooSkewed(amzDate: string, nowMs: number, maxSkewMs: number): OspError {
  return new OspError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
    RequestTime: amzDate,
    ServerTime: isoSeconds(nowMs),
    MaxAllowedSkewMilliseconds: String(maxSkewMs),
  });
}

/**
 * Header auth: the request date must be within `maxSkewMs` of `nowMs` (either direction;
 * exactly `maxSkewMs` away is still accepted).
 *
 * @param amzDate - `x-amz-date` (or the `Date` header converted by {@link parseHttpDate}).
 * @throws OspError 403 AccessDenied when `amzDate` is malformed, 403 RequestTimeTooSkewed when too far off.
 */
export function checkRequestTime(amzDate: string, nowMs: number, maxSkewMs: number = DEFAULT_MAX_SKEW_MS): void {
  const t = parseAmzDate(amzDate);
  if (t === undefined) throw missingRequestDate();
  if (Math.abs(t - nowMs) > maxSkewMs) throw tooSkewed(amzDate, nowMs, maxSkewMs);
}

/**
 * Presigned URLs: `X-Amz-Date` must be well formed, not further in the future than `maxSkewMs`,
 * and `nowMs` must not be past `X-Amz-Date + X-Amz-Expires` (compared in whole seconds, so the
 * last second is still valid).
 * No skew allowance is granted on expiry, like S3.
 *
 * @throws OspError 400 AuthorizationQueryParametersError (malformed date, expires out of 1..604800),
 *   403 RequestTimeTooSkewed (date in the future), 403 AccessDenied "Request has expired".
 */
export function checkPresignedValidity(p: SigV4Presigned, nowMs: number, maxSkewMs: number = DEFAULT_MAX_SKEW_MS): void {
  const t = parseAmzDate(p.amzDate);
  if (t === undefined) {
    throw s3Errors.authorizationQueryParametersError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  assertExpiresRange(p.expiresSeconds);
  if (t - nowMs > maxSkewMs) throw tooSkewed(p.amzDate, nowMs, maxSkewMs);
  const expiresAt = t + p.expiresSeconds * 1000;
  // Compared at whole seconds (X-Amz-Date has no sub-second part): valid through the last second.
  if (Math.floor(nowMs / 1000) * 1000 > expiresAt) {
    throw new OspError(403, 'AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(p.expiresSeconds),
      Expires: isoSeconds(expiresAt),
      ServerTime: isoSeconds(nowMs),
    });
  }
}
