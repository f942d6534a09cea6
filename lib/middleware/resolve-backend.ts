import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { copySourceOf, getContext, type BackendCredentials, type OspRequestContext, type ResolvedBackend } from '../context';
import { OspError, s3Errors } from '../errors';
import { resolveBucketConfig, optionsOf, type BucketConfig, type OspOptions, type ResolvedOptions } from '../options';
import { createBackendCredentialSource, staticHmacCredentials, type BackendCredentialSource } from '../backends/backend-credentials';
import { createListBucketsResolver } from '../operations/list-buckets';
import { isAnonymous } from '../auth/anonymous-requests';
import { formatCopySource } from '../s3/copy-source';
import { buildBackendQuery, isClientAuthParam } from '../s3/query';
import { withDeadline } from '../deadline';
import { rejectHooksArgument } from '../guard-hooks';
import { rewriteToBackend } from '../s3/rewrite';
import { upstreamFor } from '../upstream/upstream';

/** A resolveBackend middleware, with handles for cache invalidation. */
export interface ResolveBackendHandler extends RequestHandler {
  /** The credential source (IAM tokens, fetched credentials) this stage uses. */
  readonly credentials: BackendCredentialSource;
  /** Closes the connections of its ListBuckets fan-out and IAM exchanges (ospMiddleware closes its own). */
  close(): void;
}

async function lookupBucket(o: ResolvedOptions, bucket: string, ctx: OspRequestContext, req: Request): Promise<Readonly<BucketConfig> | undefined> {
  const resolver = o.buckets;
  if (typeof resolver !== 'function') return resolver.lookup(bucket)?.config;
  let found: BucketConfig | undefined;
  try {
    found = await withDeadline(
      () => resolver(bucket, { token: ctx.identity ?? null, req }),
      o.bucketResolverTimeoutMs,
      () => new OspError(503, 'ServiceUnavailable', 'Looking up the bucket timed out; please retry.'),
    );
  } catch (cause) {
    if (cause instanceof OspError) throw cause;
    o.logger.error({ err: cause }, 'object-storage-proxy: the buckets resolver threw');
    throw new OspError(503, 'ServiceUnavailable', 'Looking up the bucket failed; please retry.', {}, { cause });
  }
  // Resolver answers are validated like static config, but per request: a bad answer is a 500, not a crash.
  return found === undefined ? undefined : resolveBucketConfig(found, `buckets(${JSON.stringify(bucket)})`);
}

/** Builds `req.osp.backend` from the bucket config, the credentials and the request. Pure apart from its inputs. */
export function buildResolvedBackend(o: ResolvedOptions, ctx: OspRequestContext, bucket: string, config: Readonly<BucketConfig>, credentials: ResolvedBackend['credentials']): ResolvedBackend {
  const address = rewriteToBackend({
    host: config.host,
    port: config.port ?? 443,
    tls: config.tls ?? config.port === 443,
    addressingStyle: config.addressingStyle ?? 'virtual',
    backendBucket: config.backendBucket ?? bucket,
    key: ctx.key,
    rawKey: ctx.rawKey,
  });
  // Forwarded exactly as parsed (and as authorize saw it), less the presigned URL's own auth
  // parameters: also on a preflight sent to a presigned URL, as they are the proxy's, not the backend's.
  const query = buildBackendQuery(ctx.query, ctx.authMethod === 'query' || ctx.authMethod === 'preflight' ? isClientAuthParam : undefined);
  return {
    config,
    ...address,
    query: query.wire,
    canonicalQuery: query.canonical,
    region: config.region ?? o.region,
    // CORS preflights go upstream unsigned, as the browser sent them (issue 10).
    credentials: ctx.authMethod === 'preflight' ? { kind: 'none' } : credentials,
  };
}

const UNSIGNED: BackendCredentials = Object.freeze({ kind: 'none' });

/**
 * Anonymous requests go upstream unsigned, so the backend's own ACLs and policies decide, unless
 * the bucket opts in to lending its credentials (`signAnonymousRequests`). Issue [9]: with
 * `allowAnonymous` an unsigned PUT was stored and a private object read with the bucket's keys.
 * CORS preflights always go unsigned. Either way no credentials are looked up: a
 * `bucketCredsFetcher` that refuses the `null` token must not turn them into 503s (issue [1/5]).
 */
function isUnsignedUpstream(ctx: OspRequestContext, config: Readonly<BucketConfig>): boolean {
  return ctx.authMethod === 'preflight' || (isAnonymous(ctx) && config.signAnonymousRequests !== true);
}

/** Same backend endpoint and same backend identity: a server-side copy between them is safe. */
function sameBackend(a: Readonly<BucketConfig>, ca: BackendCredentials, b: Readonly<BucketConfig>, cb: BackendCredentials): boolean {
  if (a.host !== b.host || (a.port ?? 443) !== (b.port ?? 443) || a.tls !== b.tls) return false;
  if (ca.kind === 'hmac' && cb.kind === 'hmac') return ca.accessKeyId === cb.accessKeyId;
  if (ca.kind === 'bearer' && cb.kind === 'bearer') return ca.apiKeyHash === cb.apiKeyHash;
  return ca.kind === 'none' && cb.kind === 'none';
}

/**
 * Express middleware that finds the backend of the request's bucket (static map with patterns, or
 * resolver), its credentials (config, `bucketCredsFetcher`, IBM IAM token), and the backend host,
 * port and path (virtual-hosted or path-style). Stores the result in `req.osp.backend` for
 * `s3Proxy`. Unknown bucket → 404 NoSuchBucket. Rewrites `x-amz-copy-source` to the backend's
 * bucket name, and refuses copies between different backends or backend identities.
 * For ListBuckets it adds the buckets that pattern entries' backends report.
 */
export function resolveBackend(options: OspOptions): ResolveBackendHandler {
  const o = optionsOf(options);
  rejectHooksArgument('resolveBackend', arguments.length);
  const upstream = upstreamFor(options, o);
  const credentials = createBackendCredentialSource(o, process.env, o.on.iamTokenRefresh, upstream.iam);
  const listing = { agent: upstream.backends, timeoutMs: o.upstreamConnectTimeoutMs, region: o.region };

  const resolveCopySource = async (req: Request, ctx: OspRequestContext, config: Readonly<BucketConfig>, creds: BackendCredentials): Promise<string | undefined> => {
    // Parsed once at the entry (the same parse authorize checked the read permission on).
    const source = copySourceOf(ctx.request);
    if (source === undefined) return undefined;
    const sourceConfig = await lookupBucket(o, source.bucket, ctx, req);
    if (!sourceConfig) throw s3Errors.noSuchBucket(source.bucket);
    const sourceCreds = isUnsignedUpstream(ctx, sourceConfig) ? UNSIGNED : await credentials.resolve(ctx.identity ?? null, source.bucket, sourceConfig);
    if (!sameBackend(config, creds, sourceConfig, sourceCreds)) {
      throw new OspError(501, 'NotImplemented', 'Copying between buckets on different backends (or backend identities) is not supported; download and upload instead.');
    }
    return formatCopySource(sourceConfig.backendBucket ?? source.bucket, source);
  };

  const listBuckets = createListBucketsResolver(o, { credentials, listing });

  const handler = function ospResolveBackend(req: Request, _res: Response, next: NextFunction): void {
    let ctx: OspRequestContext;
    try {
      ctx = getContext(req, o);
    } catch (err) {
      return next(err);
    }
    const bucket = ctx.bucket;
    if (bucket === undefined) {
      // Anonymous ListBuckets never fans out with the backends' keys (authorize refuses it first).
      if (isAnonymous(ctx)) return next(s3Errors.accessDenied());
      // Service level (ListBuckets): s3Proxy answers it with what authorize and the backends allow.
      listBuckets(ctx).then(
        () => next(),
        (err: unknown) => next(err),
      );
      return;
    }
    if (typeof o.buckets !== 'function' && ctx.request.copySource === undefined) {
      // Fast path without a promise: static bucket with static HMAC credentials.
      const config = o.buckets.lookup(bucket)?.config;
      if (!config) return next(s3Errors.noSuchBucket(bucket));
      const creds = isUnsignedUpstream(ctx, config) ? UNSIGNED : staticHmacCredentials(config);
      if (creds) {
        try {
          ctx.backend = buildResolvedBackend(o, ctx, bucket, config, creds);
        } catch (err) {
          return next(err);
        }
        return next();
      }
    }
    const run = async () => {
      const config = await lookupBucket(o, bucket, ctx, req);
      if (!config) throw s3Errors.noSuchBucket(bucket);
      const creds = isUnsignedUpstream(ctx, config) ? UNSIGNED : await credentials.resolve(ctx.identity ?? null, bucket, config);
      const backend = buildResolvedBackend(o, ctx, bucket, config, creds);
      const copySource = await resolveCopySource(req, ctx, config, creds);
      ctx.backend = copySource === undefined ? backend : { ...backend, copySource };
    };
    run().then(
      () => next(),
      (err: unknown) => next(err),
    );
  };
  return Object.assign(handler, { credentials, close: () => upstream.close() });
}
