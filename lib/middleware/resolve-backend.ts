import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getContext, type OspRequestContext, type ResolvedBackend } from '../context';
import { s3Errors } from '../errors';
import { resolveBucketConfig, resolveOptions, type BucketConfig, type OspOptions, type ResolvedOptions } from '../options';
import { createBackendCredentialSource, staticHmacCredentials, type BackendCredentialSource } from '../backends/backend-credentials';
import { buildBackendQuery } from '../s3/query';
import { rewriteToBackend } from '../s3/rewrite';

/** A resolveBackend middleware, with handles for cache invalidation. */
export interface ResolveBackendHandler extends RequestHandler {
  /** The credential source (IAM tokens, fetched credentials) this stage uses. */
  readonly credentials: BackendCredentialSource;
}

async function lookupBucket(o: ResolvedOptions, bucket: string, ctx: OspRequestContext, req: Request): Promise<Readonly<BucketConfig> | undefined> {
  if (typeof o.buckets !== 'function') return o.buckets.get(bucket);
  const found = await o.buckets(bucket, { token: ctx.identity ?? null, req });
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
    rawKey: ctx.rawKey,
  });
  const query = buildBackendQuery(ctx.rawQuery, ctx.authMethod === 'query');
  return {
    config,
    ...address,
    query: query.wire,
    canonicalQuery: query.canonical,
    region: config.region ?? o.region,
    credentials,
  };
}

/**
 * Express middleware that finds the backend of the request's bucket (static map or resolver), its
 * credentials (config, `bucketCredsFetcher`, IBM IAM token), and the backend host, port and path
 * (virtual-hosted or path-style). Stores the result in `req.osp.backend` for `s3Proxy`.
 * Unknown bucket → 404 NoSuchBucket.
 */
export function resolveBackend(options: OspOptions): ResolveBackendHandler {
  const o = resolveOptions(options);
  const credentials = createBackendCredentialSource(o);
  const handler = function ospResolveBackend(req: Request, _res: Response, next: NextFunction): void {
    let ctx: OspRequestContext;
    try {
      ctx = getContext(req, o);
    } catch (err) {
      return next(err);
    }
    const bucket = ctx.bucket;
    if (bucket === undefined) return next(); // service level (ListBuckets): answered by s3Proxy
    if (typeof o.buckets !== 'function') {
      // Fast path without a promise: static bucket with static HMAC credentials.
      const config = o.buckets.get(bucket);
      if (!config) return next(s3Errors.noSuchBucket(bucket));
      const creds = staticHmacCredentials(config);
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
      const creds = await credentials.resolve(ctx.identity ?? null, bucket, config);
      ctx.backend = buildResolvedBackend(o, ctx, bucket, config, creds);
    };
    run().then(() => next(), (err: unknown) => next(err));
  };
  return Object.assign(handler, { credentials });
}
