import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getContext, type OspParsedRequest, type OspRequestContext } from '../context';
import { OspError, s3Errors } from '../errors';
import { optionsOf, type OspOptions, type ResolvedOptions } from '../options';
import { createFrontendSecrets, type FetchedKey } from '../auth/frontend-secrets';
import { canonicalQueryOf } from '../s3/query';
import { firstHeader } from '../s3/headers';
import { UNSIGNED_PAYLOAD } from '../constants';
import { parseAuthorizationHeader, sigV2NotSupported, type SigV4Authorization } from '../sigv4/parse-authorization';
import { getSigningKey } from '../sigv4/signing-key';
import { missingRequestDate, parseAmzDate } from '../sigv4/amz-date';
import { parsePresignedParams, isSigV2Authorization, type SigV4Presigned } from '../sigv4/parse-presigned';
import { completeSigV2, parseSigV2Credentials, type PendingSigV2 } from './sigv2-auth';
import { incompletePreflight, isCorsPreflight } from './cors-preflight';
import { checkPresignedValidity, checkRequestTime, checkScope, parseHttpDate, verifySignature as verifySigV4 } from '../sigv4/verify-signature';

let skipWarningShown = false;

/** What one request needs verified, after parsing. */
interface PendingVerification {
  kind: 'header' | 'query';
  auth: SigV4Authorization | SigV4Presigned;
  amzDate: string;
  payloadHash: string;
}

/** Query parameters that carry a presigned URL's credentials (SigV4, and SigV2's access key and signature). */
function hasQueryCredentials(names: ReadonlySet<string>): boolean {
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower === 'x-amz-algorithm' || lower === 'x-amz-credential' || lower === 'x-amz-signature' || name === 'AWSAccessKeyId' || name === 'Signature') return true;
  }
  return false;
}

/**
 * A region outside `acceptedRegions` is refused as S3 refuses a request signed for another region.
 * @throws OspError 400 AuthorizationHeaderMalformed / AuthorizationQueryParametersError.
 */
function checkRegion(region: string, accepted: readonly string[] | undefined, kind: 'header' | 'query'): void {
  if (accepted === undefined || accepted.includes(region)) return;
  const expected = accepted[0]!;
  const message = `the region '${region.slice(0, 64)}' is wrong; expecting '${expected}'`;
  throw kind === 'header'
    ? new OspError(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`, { Region: expected })
    : new OspError(400, 'AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${message}`, { Region: expected });
}

/**
 * `x-amz-*` request headers the client did not sign. S3 refuses them (issue [9]): the proxy signs
 * what it forwards with the backend's keys, so an unsigned `x-amz-acl`, `x-amz-copy-source`,
 * metadata or SSE header added to a presigned URL would be executed as if the URL's signer had
 * asked for it. Returns the names (lowercase, sorted), or undefined when every one is signed.
 */
export function unsignedAmzHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): string[] | undefined {
  let unsigned: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    if (raw.length < 6 || (raw.charCodeAt(0) | 0x20) !== 0x78 /* x */) continue;
    const name = raw.toLowerCase();
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) (unsigned ??= new Set()).add(name);
  }
  return unsigned === undefined ? undefined : [...unsigned].sort();
}

function headersNotSigned(names: readonly string[]): OspError {
  return new OspError(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: names.join(', ').slice(0, 1024) });
}

function queryParamsNotSigned(names: readonly string[]): OspError {
  return new OspError(403, 'AccessDenied', 'There were query parameters present in the request which were not signed (SigV2 signs no x-amz-* query parameter; use SigV4)', {
    QueryParametersNotSigned: names.join(', ').slice(0, 1024),
  });
}

/** Parses the request's credentials; returns undefined for an anonymous request. */
function parseCredentials(req: Request, request: OspParsedRequest, o: ResolvedOptions): PendingVerification | PendingSigV2 | undefined {
  const { rawQuery, queryParams } = request;
  const authorization = firstHeader(req.headers, 'authorization');
  if (authorization !== undefined && hasQueryCredentials(queryParams)) {
    // Which one would count? The presigned URL's use limit would not (issue [9]). S3 refuses both at once.
    throw new OspError(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization' },
    );
  }
  // SigV2 (issue 10); with allowSigV2: false it falls through to the 400 "SigV2 is not supported" below.
  const v2 = o.allowSigV2 ? parseSigV2Credentials(req, rawQuery, Date.now(), o.maxSkewMs, o.maxSigV2PresignedLifetimeSeconds) : undefined;
  if (v2 !== undefined) return v2;
  if (authorization !== undefined) {
    if (isSigV2Authorization(authorization)) throw sigV2NotSupported();
    const auth = parseAuthorizationHeader(authorization);
    const amzHeader = firstHeader(req.headers, 'x-amz-date');
    const dateHeader = firstHeader(req.headers, 'date');
    const amzDate = amzHeader ?? (dateHeader !== undefined ? parseHttpDate(dateHeader) : undefined);
    if (amzDate === undefined) throw missingRequestDate();
    checkScope(auth, amzDate, 'header');
    checkRegion(auth.scope.region, o.acceptedRegions, 'header');
    checkRequestTime(amzDate, Date.now(), o.maxSkewMs);
    const payloadHash = firstHeader(req.headers, 'x-amz-content-sha256');
    if (payloadHash === undefined) {
      // S3 requires this header with SigV4 header auth; without it the backend could not check the body.
      throw new OspError(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    return { kind: 'header', auth, amzDate, payloadHash };
  }
  const presigned = parsePresignedParams(request.query);
  if (presigned === undefined) return undefined;
  checkScope(presigned, presigned.amzDate, 'query');
  checkRegion(presigned.scope.region, o.acceptedRegions, 'query');
  checkPresignedValidity(presigned, Date.now(), o.maxSkewMs);
  // The JS SDK puts X-Amz-Content-Sha256=UNSIGNED-PAYLOAD into its presigned URLs; others omit it.
  return { kind: 'query', auth: presigned, amzDate: presigned.amzDate, payloadHash: presigned.contentSha256 ?? UNSIGNED_PAYLOAD };
}

/**
 * The raw headers with `Host` replaced by the first `X-Forwarded-Host`: behind a trusted reverse
 * proxy, that is the Host the client's signer saw. Only used with `trustForwardedHost`.
 */
export function withForwardedHost(rawHeaders: readonly string[]): readonly string[] {
  let forwarded: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'x-forwarded-host') {
      forwarded = (rawHeaders[i + 1] as string).split(',')[0]?.trim();
      break;
    }
  }
  if (!forwarded) return rawHeaders;
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === ':authority') continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  out.push('host', forwarded);
  return out;
}

function presignedExpiry(p: SigV4Presigned): number {
  // parseAmzDate cannot fail here: checkPresignedValidity accepted the date already.
  return (parseAmzDate(p.amzDate) ?? 0) + p.expiresSeconds * 1000;
}

/** A verifySignature middleware, with a handle to drop a cached frontend secret. */
export interface VerifySignatureHandler extends RequestHandler {
  /** Forget the cached `hmacFetcher` answer for this access key (revoked or rotated). */
  forgetAccessKey(accessKey: string): void;
}

/**
 * Express middleware that verifies the client's AWS SigV4 signature (Authorization header or
 * presigned query) against the frontend keys, and records the caller's access key as
 * `req.osp.identity`. Fails closed: any parse error, unknown key or mismatch ends the request with
 * an S3 error via `next(err)`.
 *
 * The signature is checked against `req.originalUrl`, which is what the client signed even when the
 * middleware is mounted under a path prefix.
 */
export function verifySignature(options: OspOptions): VerifySignatureHandler {
  const o = optionsOf(options);
  const secrets = createFrontendSecrets(o);
  if (o.skipSignatureValidation && !skipWarningShown) {
    skipWarningShown = true;
    const msg = 'object-storage-proxy: SIGNATURE VALIDATION IS DISABLED (skipSignatureValidation: true). Anyone can use this proxy. Never use this in production.';
    o.logger.warn({}, msg);
    process.emitWarning(msg, { code: 'OSP_SIGNATURE_VALIDATION_DISABLED' });
  }

  const finish = (ctx: OspRequestContext, p: PendingVerification | PendingSigV2, req: Request, secret: string | null | undefined, next: NextFunction, fetched?: FetchedKey) => {
    if (!secret) return next(s3Errors.invalidAccessKeyId());
    if (p.kind === 'sigv2') {
      let v2ok: boolean;
      try {
        v2ok = completeSigV2(ctx, p, req, ctx.request.signedPath, ctx.request.rawQuery, o.trustForwardedHost ? withForwardedHost(req.rawHeaders) : req.rawHeaders, secret);
      } catch (err) {
        return next(err);
      }
      if (!v2ok) return next(s3Errors.signatureDoesNotMatch());
      // SigV2 signs no query parameter but the sub-resources: an `x-amz-*` parameter (which acts as a
      // header in presigned form, e.g. `x-amz-acl=public-read`) could be added to a valid URL or a
      // replayed request. Refused, as unsigned x-amz-* headers are (issue [9]).
      const unsignedQuery = [...ctx.queryParams].filter((name) => name.toLowerCase().startsWith('x-amz-')).sort();
      if (unsignedQuery.length > 0) return next(queryParamsNotSigned(unsignedQuery));
      if (fetched?.policy) ctx.keyPolicy = fetched.policy;
      return next();
    }
    let ok: boolean;
    try {
      ok = verifySigV4({
        method: req.method,
        rawPath: ctx.request.signedPath,
        rawQuery: ctx.request.rawQuery,
        // From the entry's parse: the query verified is the query authorized and forwarded.
        canonicalQuery: canonicalQueryOf(ctx.request.query, p.kind === 'query' ? 'X-Amz-Signature' : undefined),
        rawHeaders: o.trustForwardedHost ? withForwardedHost(req.rawHeaders) : req.rawHeaders,
        auth: p.auth,
        kind: p.kind,
        amzDate: p.amzDate,
        payloadHash: p.payloadHash,
        secretKey: secret,
      });
    } catch (err) {
      // InvalidURI (malformed percent-encoding). This also runs inside a promise callback (hmacFetcher):
      // a throw there would leave the request hanging as an unhandled rejection.
      return next(err);
    }
    if (!ok) return next(s3Errors.signatureDoesNotMatch());
    const unsigned = unsignedAmzHeaders(req.rawHeaders, p.auth.signedHeaders);
    if (unsigned) return next(headersNotSigned(unsigned));
    ctx.identity = p.auth.accessKeyId;
    ctx.authMethod = p.kind;
    ctx.signedHeaders = p.auth.signedHeaders;
    if (fetched?.policy) ctx.keyPolicy = fetched.policy;
    ctx.payloadHash = p.payloadHash;
    if (p.kind === 'header' && p.payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256')) {
      const { scope } = p.auth;
      ctx.chunkSigning = { signingKey: getSigningKey(secret, scope.date, scope.region, scope.service), seedSignature: p.auth.signature, amzDate: p.amzDate, scope: p.auth.scopeString };
    }
    if (p.kind === 'query') ctx.presigned = { signature: p.auth.signature, expiresAtMs: presignedExpiry(p.auth as SigV4Presigned) };
    next();
  };

  const handler = function ospVerifySignature(req: Request, _res: Response, next: NextFunction): void {
    let ctx: OspRequestContext;
    let pending: PendingVerification | PendingSigV2 | undefined;
    try {
      ctx = getContext(req, o);
      // Your own auth (setOspIdentity), or a browser POST upload whose form signature postObject verified.
      if (ctx.authMethod === 'external' || ctx.postUpload !== undefined) return next();
      const incomplete = incompletePreflight(req, ctx.bucket);
      if (incomplete) return next(incomplete);
      if (isCorsPreflight(req)) {
        // Browsers never sign preflights, not even one sent to a presigned URL: the bucket's own
        // CORS rules answer it (issue 10; issue [1/5]: Chromium's preflight of a presigned PUT).
        ctx.identity = null;
        ctx.authMethod = 'preflight';
        ctx.payloadHash = UNSIGNED_PAYLOAD;
        return next();
      }
      if (o.skipSignatureValidation) {
        let identity: string | null = null;
        try {
          identity = parseCredentials(req, ctx.request, o)?.auth.accessKeyId ?? null;
        } catch {
          // Development mode: an unparseable signature is as good as none.
        }
        ctx.identity = identity;
        ctx.authMethod = 'skipped';
        ctx.payloadHash = firstHeader(req.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
        return next();
      }
      pending = parseCredentials(req, ctx.request, o);
    } catch (err) {
      return next(err);
    }
    if (pending === undefined) {
      if (!o.allowAnonymous) return next(s3Errors.accessDenied('Anonymous access is not allowed; sign the request with SigV4.'));
      ctx.identity = null;
      ctx.authMethod = 'anonymous';
      ctx.payloadHash = firstHeader(req.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
      return next();
    }
    const p = pending;
    const fromKeystore = secrets.fromKeystore(p.auth.accessKeyId);
    if (fromKeystore !== undefined) return finish(ctx, p, req, fromKeystore, next);
    secrets
      .fetch(p.auth.accessKeyId)
      .then(
        (found) => finish(ctx, p, req, found?.secret, next, found ?? undefined),
        (err: unknown) => next(err),
      )
      .catch((err: unknown) => {
        // A later stage threw synchronously inside next() (outside ospMiddleware's own error wall).
        o.logger.error({ err }, 'object-storage-proxy: a stage threw after signature verification');
      });
  };
  return Object.assign(handler, { forgetAccessKey: (accessKey: string) => secrets.forget(accessKey) });
}
