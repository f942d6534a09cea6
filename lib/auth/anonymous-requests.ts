/**
 * What S3 refuses to anonymous callers whatever the bucket's ACLs say. The proxy refuses the same
 * before any callback or backend is asked: an anonymous request never gets the bucket's keys for
 * them (`signAnonymousRequests` included).
 */
import type { OspRequestContext } from '../context';
import { OspError, s3Errors } from '../errors';
import { RESPONSE_OVERRIDE_PARAMS } from '../constants';

/** The `response-*` overrides, which S3 refuses on anonymous requests. */
const RESPONSE_OVERRIDES: ReadonlySet<string> = new Set(RESPONSE_OVERRIDE_PARAMS);

/**
 * Whether nobody was identified: an unsigned request (`allowAnonymous`), or one your own auth marked
 * anonymous with `setOspIdentity(req, null)`. Such a request never borrows the bucket's keys unless
 * the bucket sets `signAnonymousRequests`, whichever way it came in.
 */
export function isAnonymous(ctx: Pick<OspRequestContext, 'authMethod' | 'identity'>): boolean {
  return ctx.authMethod === 'anonymous' || (ctx.authMethod === 'external' && ctx.identity === null);
}

/**
 * The S3 error for an anonymous request (see {@link isAnonymous}) that S3 never serves, or
 * undefined. ListBuckets: 403 AccessDenied (S3 lists buckets only for an identity; the proxy would
 * otherwise list with the backends' keys). `response-*` overrides: 400 InvalidRequest, as S3
 * ("Request specific response headers cannot be used for anonymous GET requests.").
 */
export function refuseAnonymous(ctx: Pick<OspRequestContext, 'authMethod' | 'identity' | 'bucket' | 'query'>): OspError | undefined {
  if (!isAnonymous(ctx)) return undefined;
  if (ctx.bucket === undefined) return s3Errors.accessDenied();
  for (const p of ctx.query) {
    if (RESPONSE_OVERRIDES.has(p.name)) return new OspError(400, 'InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
  }
  return undefined;
}
