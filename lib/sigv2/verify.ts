/**
 * Verification of SigV2 signatures (HMAC-SHA1, base64) and the request-time / expiry checks S3
 * applies to them.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OspError, s3Errors } from '../errors';
import { DEFAULT_MAX_PRESIGNED_LIFETIME_SECONDS } from '../constants';
import { missingRequestDate, parseAmzDate, parseHttpDate } from '../sigv4/amz-date';
import { checkRequestTime } from '../sigv4/verify-signature';
import { buildSigV2StringToSign, type SigV2Request } from './string-to-sign';

/**
 * The SigV2 signature of a string to sign: base64 HMAC-SHA1 over its bytes.
 *
 * @param stringToSign - a byte string (one character per byte), see {@link buildSigV2StringToSign}.
 */
export function signSigV2(secretKey: string, stringToSign: string): string {
  return createHmac('sha1', Buffer.from(secretKey, 'utf8')).update(Buffer.from(stringToSign, 'latin1')).digest('base64');
}

/**
 * Recomputes the SigV2 signature of `request` and compares it in constant time with `signature`.
 *
 * @returns `true` when they match.
 * @throws OspError 400 InvalidURI on malformed percent-encoding in a signed sub-resource.
 */
export function verifySigV2(request: SigV2Request, secretKey: string, signature: string): boolean {
  const provided = Buffer.from(signature, 'latin1');
  const matches = (r: SigV2Request) => {
    const expected = Buffer.from(signSigV2(secretKey, buildSigV2StringToSign(r)), 'latin1');
    return expected.length === provided.length && timingSafeEqual(expected, provided);
  };
  if (matches(request)) return true;
  // Bucket-level path-style requests: botocore signs `/bucket/` while sending `/bucket`.
  return request.bucketLevel === true && !request.rawPath.endsWith('/') && matches({ ...request, rawPath: request.rawPath + '/' });
}

/**
 * Header auth: the request time comes from `x-amz-date` when present (HTTP date or
 * `YYYYMMDDTHHMMSSZ`), else from `Date`, and must be within `maxSkewMs` of `nowMs`.
 *
 * @returns the request time as `YYYYMMDDTHHMMSSZ`.
 * @throws OspError 403 AccessDenied without a valid date, 403 RequestTimeTooSkewed.
 */
export function checkSigV2RequestTime(amzDateHeader: string | undefined, dateHeader: string | undefined, nowMs: number, maxSkewMs: number): string {
  const value = amzDateHeader ?? dateHeader;
  if (value === undefined) throw missingRequestDate();
  const amzDate = parseAmzDate(value.trim()) !== undefined ? value.trim() : parseHttpDate(value);
  checkRequestTime(amzDate, nowMs, maxSkewMs);
  return amzDate;
}

/**
 * Presigned URLs: valid through the `Expires` second (no skew allowance, like S3), and not for
 * longer than `maxLifetimeSeconds` from now. SigV2 itself puts no ceiling on `Expires`, but each
 * presigned URL holds a usage-counter entry until it expires, so a URL "valid until 2100" would
 * hold one forever; the cap is SigV4's (`X-Amz-Expires` at most 604800 s).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * @throws OspError 403 AccessDenied "Request has expired", 400 AuthorizationQueryParametersError
 *   when `Expires` is more than `maxLifetimeSeconds` away.
 */
export function checkSigV2Expiry(expiresAtSeconds: number, nowMs: number, maxLifetimeSeconds: number = DEFAULT_MAX_PRESIGNED_LIFETIME_SECONDS): void {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (expiresAtSeconds - nowSeconds > maxLifetimeSeconds) {
    // AWS's wording for a too-long SigV4 expiry, with the SigV2 parameter's name.
    throw s3Errors.authorizationQueryParametersError(`Expires must be at most ${maxLifetimeSeconds} seconds from now; that is ${nowSeconds + maxLifetimeSeconds} at most`);
  }
  if (nowSeconds > expiresAtSeconds) {
    throw new OspError(403, 'AccessDenied', 'Request has expired', {
      Expires: new Date(expiresAtSeconds * 1000).toISOString().replace('.000Z', 'Z'),
      ServerTime: new Date(nowSeconds * 1000).toISOString().replace('.000Z', 'Z'),
    });
  }
}
