import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { copySourceOf, getContext, type OspRequestContext } from '../context';
import { OspError, s3Errors } from '../errors';
import { optionsOf, type AuthorizeRequest, type OspOptions, type ResolvedOptions } from '../options';
import { createTtlCache } from '../cache/ttl-cache';
import { DEFAULT_BUCKET_TTL_SECONDS } from '../constants';
import { isClientAuthParam } from '../s3/query';
import { uriEncode } from '../sigv4/uri-encode';
import { keystoreAllows } from '../auth/keystore-policy';
import type { ParsedCopySource } from '../s3/copy-source';
import { decisionKeyOf } from '../cache/shared-keys';
import { withDeadline } from '../deadline';
import { checkKeyPolicy, keyPolicyOf } from '../auth/key-policies';
import { authorizeListBuckets } from '../operations/list-buckets';
import { refuseAnonymous } from '../auth/anonymous-requests';
import { classifyRequestHeader, matchesHeaderPattern, requestsGovernanceBypass } from '../s3/forwarded-headers';
import { resolveProfile } from '../backends/profiles';

/** Cache TTL for a bucket's decisions: the static entry's `ttl`, else the default. */
function ttlOf(o: ResolvedOptions, bucket: string): number {
  if (typeof o.buckets === 'function') return DEFAULT_BUCKET_TTL_SECONDS;
  return o.buckets.lookup(bucket)?.config.ttl ?? DEFAULT_BUCKET_TTL_SECONDS;
}

/**
 * `/bucket/key` in canonical encoding: the request as the backend will run it, whatever the
 * client's addressing style. The request's own key comes encoded from the record (`rawKey`).
 */
function canonicalPath(ctx: OspRequestContext, bucket: string, key: string | undefined): string {
  const encodedKey = key === undefined ? undefined : key === ctx.request.key && bucket === ctx.request.bucket ? (ctx.request.rawKey as string) : uriEncode(key, false);
  return encodedKey === undefined ? `/${uriEncode(bucket, true)}` : `/${uriEncode(bucket, true)}/${encodedKey}`;
}

function buildAuthorizeRequest(req: Request, ctx: OspRequestContext, bucket: string, operation: string, key: string | undefined, method: string): AuthorizeRequest {
  const query = ctx.request.queryRecord;
  return {
    method,
    path: canonicalPath(ctx, bucket, key),
    bucket,
    key: key || undefined,
    query,
    headers: req.headers,
    operation,
    bypassGovernanceRetention: requestsGovernanceBypass(req.headers, query),
    req,
  };
}

/** x-amz-* headers that differ on every request without changing what it may do. */
const PER_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-user-agent',
  'x-amz-security-token',
  // Not x-amz-*, but per request too (the JS SDK's retry bookkeeping, X-Ray).
  'amz-sdk-invocation-id',
  'amz-sdk-request',
  'x-amzn-trace-id',
]);

/**
 * The vendor headers a profile may forward to this bucket's backend (lib/s3/forwarded-headers.ts):
 * those of the static entry's profile; undefined with a resolver (not known yet: all count).
 */
function vendorHeadersOf(o: ResolvedOptions, bucket: string): readonly string[] | undefined {
  if (typeof o.buckets === 'function') return undefined;
  const config = o.buckets.lookup(bucket)?.config;
  return (config && resolveProfile(config.profile).forwardHeaders) ?? [];
}

/**
 * What else `authorize` can see and decide on, as one cache-key part: the decoded query (without
 * the parameters that authenticate a presigned URL) and the x-amz-* headers (`x-amz-acl`,
 * metadata, tagging, …) but the per-request ones. Without it, a decision cached for a plain
 * PutObject would also serve one with `x-amz-acl: public-read`, and a listing allowed for one
 * prefix every other prefix. Vendor headers count too when the bucket's profile may forward them
 * (`ibm-service-instance-id` on CreateBucket). Names and values are length-prefixed: unambiguous.
 */
function variantKeyOf(ctx: OspRequestContext, headers: Request['headers'], vendorHeaders: readonly string[] | undefined): string {
  let out = '';
  for (const p of ctx.query) {
    if (isClientAuthParam(p.name)) continue;
    out += `${p.name.length}:${p.name}${p.value === undefined ? '-' : `${p.value.length}:${p.value}`}`;
  }
  out += '|';
  for (const name in headers) {
    const cls = classifyRequestHeader(name);
    if (cls === 'standard' || cls === 'drop' || PER_REQUEST_HEADERS.has(name) || name.startsWith('x-amz-checksum-')) continue;
    if (cls === 'vendor' && vendorHeaders !== undefined && !matchesHeaderPattern(name, vendorHeaders)) continue;
    const v = String(headers[name]);
    out += `${name.length}:${name}${v.length}:${v}`;
  }
  return out;
}

/** Runs the user's callback with a deadline; throwing or timing out fails closed with a 5xx. */
async function callWithDeadline(o: ResolvedOptions, run: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return (await withDeadline(run, o.authorizeTimeoutMs, () => new OspError(503, 'ServiceUnavailable', 'The authorization check timed out; please retry.'))) === true;
  } catch (err) {
    if (err instanceof OspError) throw err;
    o.logger.error({ err }, 'object-storage-proxy: authorize callback threw; request denied');
    throw new OspError(500, 'InternalError', 'The authorization check failed.', {}, { cause: err });
  }
}

/**
 * Express middleware that decides whether the caller (`req.osp.identity`, set by
 * `verifySignature` or by your own auth through `setOspIdentity`) may make this request:
 * the keystore's static `buckets` list first, then the `authorize` callback, whose answers are
 * cached per (identity, bucket, operation, method, key) for the bucket's `ttl` (0: not cached).
 * Fails closed: no identity, a false answer, an exception or a timeout all deny.
 *
 * For ListBuckets (`GET /`) it records which configured buckets the caller may see.
 */
/** An authorize middleware, with handles to drop cached decisions. */
export interface AuthorizeHandler extends RequestHandler {
  /** Forget every cached decision about this caller. */
  forgetIdentity(identity: string): void;
  /** Forget every cached decision about this bucket. */
  forgetBucket(bucket: string): void;
}

export function authorize(options: OspOptions): AuthorizeHandler {
  const o = optionsOf(options);
  const decisions = createTtlCache<boolean>({ maxEntries: 100_000 });
  // Opt-in second level: decisions shared by every instance (best effort: a store failure means a miss).
  const shared = o.sharedCacheDecisions ? o.sharedStore : undefined;
  const readShared = async (key: string): Promise<{ allowed: boolean; ttl: number } | undefined> => {
    if (!shared) return undefined;
    try {
      const v = await shared.getValue(key);
      const m = v === undefined ? null : /^([01]):(\d+)$/.exec(v);
      const ttl = m ? (Number(m[2]) - Date.now()) / 1000 : 0;
      return m && ttl > 0 ? { allowed: m[1] === '1', ttl } : undefined;
    } catch {
      return undefined;
    }
  };

  /**
   * The decision cache key. The query is part of it: `authorize` sees the decoded query, so two
   * requests that differ only there (`?versionId=…`, `?tagging`) are two decisions.
   */
  const cacheKeyOf = (variant: string, method: string, key: string | undefined, identity: string | null, bucket: string, operation: string) =>
    `${identity ?? ''}\u0000${bucket}\u0000${operation}\u0000${method}\u0000${key ?? ''}\u0000${variant}`;

  /**
   * One decision; `key` is the (decoded) object the decision is about (the copy source for its
   * read check). `variant`: the request's cache-key part for this bucket, when the caller has it.
   */
  const decide = async (req: Request, ctx: OspRequestContext, identity: string | null, bucket: string, operation: string, key = ctx.key, method = req.method, variant?: string): Promise<boolean> => {
    if (!keystoreAllows(o, identity, bucket)) return false;
    const callback = o.authorize;
    if (!callback) return true;
    variant ??= variantKeyOf(ctx, req.headers, vendorHeadersOf(o, bucket));
    const cacheKey = cacheKeyOf(variant, method, key, identity, bucket, operation);
    const ttl = ttlOf(o, bucket);
    // Single flight: concurrent first requests of one caller share one callback call (issue [9]).
    return decisions.getOrLoad(cacheKey, ttl, async () => {
      const sharedKey = shared ? decisionKeyOf(identity, bucket, operation, method, `${key ?? ''}\u0000${variant}`) : '';
      const fromShared = await readShared(sharedKey);
      if (fromShared) return fromShared.allowed;
      const request = buildAuthorizeRequest(req, ctx, bucket, operation, key, method);
      const allowed = await callWithDeadline(o, () => callback(identity, bucket, request));
      if (shared && ttl > 0) {
        shared.setValue(sharedKey, `${allowed ? 1 : 0}:${Date.now() + ttl * 1000}`, ttl).catch(() => {
          // best effort
        });
      }
      return allowed;
    });
  };

  const handler = function ospAuthorize(req: Request, _res: Response, next: NextFunction): void {
    let ctx: OspRequestContext;
    try {
      ctx = getContext(req, o);
    } catch (err) {
      return next(err);
    }
    if (ctx.identity === undefined) {
      // Misconfiguration: nothing authenticated this request. Never let it through.
      return next(s3Errors.accessDenied('Request not authenticated (put verifySignature or setOspIdentity before authorize).'));
    }
    const identity = ctx.identity;
    const bucket = ctx.bucket;
    // What S3 never serves anonymously (ListBuckets, response-* overrides): refused before any callback.
    const refused = refuseAnonymous(ctx);
    if (refused) return next(refused);
    // An unsigned CORS preflight reads no data: the backend's bucket CORS rules decide (issue 10).
    if (ctx.authMethod === 'preflight' && bucket !== undefined) return next();
    // IAM-style policies of the key (issue [13]): checked before the callback; both must allow.
    const keyPolicy = keyPolicyOf(o, ctx);
    if (bucket === undefined) {
      if (ctx.operation !== 'ListBuckets') return next(new OspError(405, 'InvalidRequest', 'This request needs a bucket.'));
      return authorizeListBuckets(o, req, ctx, keyPolicy, (name) => decide(req, ctx, identity, name, 'ListBuckets'), next);
    }
    // Fast paths without a promise: a static policy and no callback, or a cached decision.
    if (!keystoreAllows(o, identity, bucket)) return next(s3Errors.accessDenied());
    if (keyPolicy) {
      const denied = checkKeyPolicy(req, ctx, keyPolicy, bucket, o.allowDotSegmentsInKeys);
      if (denied) return next(denied);
    }
    let source: ParsedCopySource | undefined;
    try {
      source = copySourceOf(ctx.request);
    } catch (err) {
      return next(err);
    }
    if (!o.authorize && source === undefined) return next();
    if (source !== undefined) {
      // A copy reads the source with the backend's credentials: the caller must be allowed to read it.
      Promise.all([decide(req, ctx, identity, bucket, ctx.operation), decide(req, ctx, identity, source.bucket, 'GetObject', source.key, 'GET')]).then(
        ([allowed, mayRead]) => (allowed && mayRead ? next() : next(s3Errors.accessDenied())),
        (err: unknown) => next(err),
      );
      return;
    }
    // The cache-key part is computed once: for the cached lookup and, on a miss, the decision.
    const variant = variantKeyOf(ctx, req.headers, vendorHeadersOf(o, bucket));
    const cached = decisions.get(cacheKeyOf(variant, req.method, ctx.key, identity, bucket, ctx.operation));
    if (cached !== undefined) return cached ? next() : next(s3Errors.accessDenied());
    decide(req, ctx, identity, bucket, ctx.operation, ctx.key, req.method, variant).then(
      (allowed) => (allowed ? next() : next(s3Errors.accessDenied())),
      (err: unknown) => next(err),
    );
  };
  return Object.assign(handler, {
    forgetIdentity(identity: string) {
      decisions.deleteWhere((k) => k.startsWith(`${identity}\u0000`));
    },
    forgetBucket(bucket: string) {
      decisions.deleteWhere((k) => k.split('\u0000', 2)[1] === bucket);
    },
  });
}
