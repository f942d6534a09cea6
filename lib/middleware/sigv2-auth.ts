/**
 * SigV2 for verifySignature: the request-level glue around the pure lib/sigv2 functions. A SigV2
 * request is verified with the frontend secret, then goes upstream like a presigned/unsigned-payload
 * SigV4 request (the proxy re-signs it with SigV4; the body is `UNSIGNED-PAYLOAD`, and a client
 * `Content-MD5` passes through for the backend to check).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import type { Request } from 'express';
import type { OspRequestContext } from '../context';
import { UNSIGNED_PAYLOAD } from '../constants';
import { firstHeader } from '../s3/headers';
import { isSigV2Authorization } from '../sigv4/parse-authorization';
import { parseSigV2Authorization, parseSigV2Presigned } from '../sigv2/parse';
import { checkSigV2Expiry, checkSigV2RequestTime, verifySigV2 } from '../sigv2/verify';

/** A parsed SigV2 request whose time checks passed, waiting for the secret. */
export interface PendingSigV2 {
  kind: 'sigv2';
  /** Where the credentials were: `Authorization` header or presigned query. */
  via: 'header' | 'query';
  auth: { accessKeyId: string; signature: string };
  /** Presigned URLs: `Expires` as written and in epoch seconds. */
  expires?: { raw: string; atSeconds: number };
}

/** SigV4 query parameters: when present, the URL is SigV4 (even with an `AWSAccessKeyId`). */
const SIGV4_QUERY = /(?:^|&)X-Amz-(?:Algorithm|Credential|Signature)=/;

/**
 * Parses SigV2 credentials and checks the request time (header: `x-amz-date`/`Date` within
 * `maxSkewMs`; query: `Expires` not past, nor more than `maxLifetimeSeconds` away).
 *
 * @returns `undefined` when the request carries no SigV2 credentials.
 * @throws OspError 400 InvalidArgument (malformed header), 403 AccessDenied (no date, bad query
 *   parameters, "Request has expired"), 403 RequestTimeTooSkewed, 400 AuthorizationQueryParametersError
 *   (`Expires` too far away).
 */
export function parseSigV2Credentials(req: Request, rawQuery: string, nowMs: number, maxSkewMs: number, maxLifetimeSeconds?: number): PendingSigV2 | undefined {
  const authorization = firstHeader(req.headers, 'authorization');
  if (authorization !== undefined) {
    if (!isSigV2Authorization(authorization)) return undefined;
    const auth = parseSigV2Authorization(authorization);
    checkSigV2RequestTime(firstHeader(req.headers, 'x-amz-date'), firstHeader(req.headers, 'date'), nowMs, maxSkewMs);
    return { kind: 'sigv2', via: 'header', auth };
  }
  if (SIGV4_QUERY.test(rawQuery)) return undefined;
  const p = parseSigV2Presigned(rawQuery);
  if (p === undefined) return undefined;
  checkSigV2Expiry(p.expiresAtSeconds, nowMs, maxLifetimeSeconds);
  return { kind: 'sigv2', via: 'query', auth: { accessKeyId: p.accessKeyId, signature: p.signature }, expires: { raw: p.expires, atSeconds: p.expiresAtSeconds } };
}

/**
 * Verifies the SigV2 signature with the frontend secret (`rawPath`: the full path as sent, mount
 * prefix included) and, on success, records the identity in
 * `ctx` (presigned URLs also get `ctx.presigned`, so limitPresignedUrlUsage counts their uses).
 *
 * @returns whether the signature matched.
 * @throws OspError 400 InvalidURI on malformed percent-encoding in a signed sub-resource.
 */
export function completeSigV2(ctx: OspRequestContext, p: PendingSigV2, req: Request, rawPath: string, rawQuery: string, rawHeaders: readonly string[], secret: string): boolean {
  const request = {
    method: req.method,
    rawQuery,
    rawHeaders,
    // Virtual-hosted: the bucket is in the Host, and S3 puts it in front of the resource.
    bucketPrefix: ctx.style === 'virtual' && ctx.bucket !== undefined ? '/' + ctx.bucket : '',
    bucketLevel: ctx.style === 'path' && ctx.bucket !== undefined && !ctx.rawKey,
    ...(p.expires ? { expires: p.expires.raw } : {}),
  };
  // The SigV2 resource is `/bucket/key`, whatever path prefix the endpoint has: botocore signs it
  // without the prefix of its endpoint_url. So the path under the mount point comes first; the full
  // path (a signer that included the prefix) is the fallback when mounted under a prefix.
  const routePath = ctx.request.routePath;
  const ok = verifySigV2({ ...request, rawPath: routePath }, secret, p.auth.signature) || (rawPath !== routePath && verifySigV2({ ...request, rawPath }, secret, p.auth.signature));
  if (!ok) return false;
  ctx.identity = p.auth.accessKeyId;
  ctx.authMethod = p.via;
  ctx.payloadHash = UNSIGNED_PAYLOAD;
  if (p.expires) ctx.presigned = { signature: p.auth.signature, expiresAtMs: p.expires.atSeconds * 1000 };
  return true;
}
