import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { resolveOptions, type OspOptions } from './options';
import { verifySignature, type VerifySignatureHandler } from './middleware/verify-signature';
import { authorize, type AuthorizeHandler } from './middleware/authorize';
import { limitPresignedUrlUsage, type PresignedUsageHooks } from './middleware/limit-presigned-usage';
import { resolveBackend, type ResolveBackendHandler } from './middleware/resolve-backend';
import { s3Proxy, type S3ProxyHandler, type S3ProxyHooks } from './middleware/proxy';
import { s3ErrorHandler, toOspError } from './middleware/s3-error-handler';
import type { OspError } from './errors';
import type { UsageCounterStore } from './cache/usage-store';
import type { InvalidationMessage, SharedStateStore } from './cache/shared-store';
import { createRedisStore } from './cache/redis-store';
import { decisionsOfBucket, decisionsOfIdentity, secretKeyOf } from './cache/shared-keys';
import type { ResolvedOptions } from './options';
import { combineHooks, guardHooks } from './guard-hooks';
import { traceChain, traceRequest } from './tracing/request-tracing';

/** Options of {@link OspMiddleware.revokeAccessKey} and {@link OspMiddleware.invalidateBucket}. */
export interface InvalidateOptions {
  /** Only this process: do not touch the shared store nor tell other instances. @default false */
  localOnly?: boolean;
}

/** The composed middleware, with handles on its stages. */
export interface OspMiddleware extends RequestHandler {
  /** Closes backend connections and the presigned-usage store; call on shutdown. */
  close(): Promise<void>;
  /**
   * Drops everything cached about a frontend access key: its secret from `hmacFetcher`, its
   * authorization decisions and its fetched backend credentials — in this process at once, and,
   * with a shared store (`redis`), in the store and in every other instance (pub/sub, typically
   * within milliseconds). Resolves `true` once propagated, `false` when the shared store failed
   * (logged; this process is invalidated anyway). Never rejects.
   */
  revokeAccessKey(accessKey: string, options?: InvalidateOptions): Promise<boolean>;
  /** Drops cached authorization decisions and fetched backend credentials of a bucket; propagation as {@link revokeAccessKey}. */
  invalidateBucket(bucket: string, options?: InvalidateOptions): Promise<boolean>;
  /** The shared store (e.g. Redis) when `redis` or `sharedStore` is configured. */
  readonly sharedStore?: SharedStateStore;
  readonly stages: {
    readonly verifySignature: VerifySignatureHandler;
    readonly authorize: AuthorizeHandler;
    readonly limitPresignedUrlUsage: RequestHandler;
    readonly resolveBackend: ResolveBackendHandler;
    readonly s3Proxy: S3ProxyHandler;
  };
}

/**
 * Hooks of the former positional argument of {@link ospMiddleware}; prefer `options.on`
 * ({@link OspEventHooks}). Both are called when both are given.
 */
export interface OspMiddlewareHooks {
  presigned?: PresignedUsageHooks;
  proxy?: S3ProxyHooks;
  /** An IBM IAM token exchange finished (metrics). Must not throw. */
  onIamTokenRefresh?(outcome: 'ok' | 'error'): void;
  /** A stage rejected the request (signature, authorization, bucket, …) with this error. Must not throw. */
  onError?(req: Request, error: OspError): void;
  /** The shared store (Redis) came up, went down, or a command failed (metrics). Must not throw. */
  onSharedStoreStatus?(event: 'up' | 'down' | 'error'): void;
}

/** Presigned usage counting on the shared store, honouring `presignedOnStoreError`. Not closable: the store is closed by its owner. */
function sharedUsageStore(shared: SharedStateStore, o: ResolvedOptions): UsageCounterStore {
  if (o.presignedOnStoreError === 'reject') {
    return { increment: (k, e) => shared.increment(k, e), decrement: (k) => shared.decrement(k), get: (k) => shared.get(k) };
  }
  let lastWarn = 0;
  return {
    async increment(key, expiresAtMs) {
      try {
        return await shared.increment(key, expiresAtMs);
      } catch {
        if (Date.now() - lastWarn > 10_000) {
          lastWarn = Date.now();
          o.logger.warn({}, 'object-storage-proxy: presigned URL uses are served uncounted while the shared store is unavailable (presignedOnStoreError: allow)');
        }
        return 0;
      }
    },
    decrement: (key) => shared.decrement(key).catch(() => undefined),
    get: (key) => shared.get(key),
  };
}

/**
 * The whole S3 proxy as one Express middleware:
 * `verifySignature → authorize → limitPresignedUrlUsage → resolveBackend → s3Proxy`, with errors
 * rendered as S3 XML. Options are validated here, once; a bad option throws an OspConfigError.
 *
 * @example
 * app.use('/s3', ospMiddleware({
 *   buckets: { photos: { host: 's3.eu-de.example.com', accessKey: 'AK', secretKey: 'SK' } },
 *   hmacKeystore: [{ accessKey: 'client1', secretKey: 'client1-secret' }],
 *   authorize: (token, bucket, req) => token === 'client1' && req.operation !== 'DeleteObject',
 * }));
 */
export function ospMiddleware(options: OspOptions, userHooks: OspMiddlewareHooks = {}): OspMiddleware {
  const o = resolveOptions(options);
  // The stages merge `options.on` with their positional hooks themselves; the chain's own two here.
  const hooks = guardHooks(userHooks, o.logger);
  const reportError = combineHooks(o.logger, 'on.error', o.on.error, hooks.onError);
  const reportStoreStatus = combineHooks(o.logger, 'on.sharedStoreStatus', o.on.sharedStoreStatus, hooks.onSharedStoreStatus);
  // The middleware owns the Redis connection; the stages see it as `sharedStore`.
  const ownStore = o.redis ? createRedisStore(o.redis, o.logger) : undefined;
  const shared = o.sharedStore ?? ownStore;
  let stageOptions: OspOptions = options;
  if (shared) {
    const { redis: _redis, ...rest } = options;
    stageOptions = { ...rest, sharedStore: shared, usageStore: o.usageStore ?? sharedUsageStore(shared, o) };
  }
  const stages = {
    verifySignature: verifySignature(stageOptions),
    authorize: authorize(stageOptions),
    limitPresignedUrlUsage: limitPresignedUrlUsage(stageOptions, hooks.presigned),
    resolveBackend: resolveBackend(stageOptions, { onIamTokenRefresh: hooks.onIamTokenRefresh }),
    s3Proxy: s3Proxy(stageOptions, hooks.proxy),
  };
  const forgetAccessKey = (accessKey: string) => {
    stages.verifySignature.forgetAccessKey(accessKey);
    stages.authorize.forgetIdentity(accessKey);
    stages.resolveBackend.credentials.invalidateIdentity(accessKey);
  };
  const forgetBucket = (bucket: string) => {
    stages.authorize.forgetBucket(bucket);
    stages.resolveBackend.credentials.invalidateBucket(bucket);
  };
  const unsubscribe = shared?.subscribe((m: InvalidationMessage) => (m.kind === 'accessKey' ? forgetAccessKey(m.value) : forgetBucket(m.value)));
  const unwatch = reportStoreStatus ? shared?.onStatus?.(reportStoreStatus) : undefined;
  /** Shared entries first, then the message: an instance that refills its cache after the message finds no stale entry. */
  const propagate = async (message: InvalidationMessage, sharedKeys: () => Promise<unknown>[]): Promise<boolean> => {
    if (!shared) return true;
    try {
      await Promise.all(sharedKeys());
      await shared.publish(message);
      return true;
    } catch (err) {
      o.logger.error({ kind: message.kind, error: (err as Error).message }, 'object-storage-proxy: could not propagate an invalidation through the shared store; other instances keep their caches until their TTLs end');
      return false;
    }
  };
  const chain: RequestHandler[] = [stages.verifySignature, stages.authorize, stages.limitPresignedUrlUsage, stages.resolveBackend, stages.s3Proxy];
  const tracedChain = traceChain(stages, chain); // a span per stage when an OpenTelemetry SDK is registered
  const onError = s3ErrorHandler({ logger: o.logger, serverName: o.serverName });

  // Our own `next` between the stages: errors end here as S3 XML, so Express 4 and 5 hosts
  // behave the same and no error handler of the host app is needed.
  const handler = function osp(req: Request, res: Response, next: NextFunction): void {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        const error = toOspError(err, o.logger);
        reportError?.(req, error);
        onError(error, req, res, next);
        return;
      }
      const stage = tracedChain[i++];
      if (!stage) return next();
      try {
        stage(req, res, step);
      } catch (e) {
        step(e ?? new Error('stage threw'));
      }
    };
    traceRequest(req, res);
    step();
  };
  return Object.assign(handler, {
    stages,
    sharedStore: shared,
    async revokeAccessKey(accessKey: string, opts: InvalidateOptions = {}) {
      forgetAccessKey(accessKey);
      if (opts.localOnly) return true;
      return propagate({ kind: 'accessKey', value: accessKey }, () => [
        ...(o.sharedCacheSecrets ? [shared!.deleteValue(secretKeyOf(accessKey))] : []),
        ...(o.sharedCacheDecisions ? [shared!.deleteMatching(decisionsOfIdentity(accessKey))] : []),
      ]);
    },
    async invalidateBucket(bucket: string, opts: InvalidateOptions = {}) {
      forgetBucket(bucket);
      if (opts.localOnly) return true;
      return propagate({ kind: 'bucket', value: bucket }, () => (o.sharedCacheDecisions ? [shared!.deleteMatching(decisionsOfBucket(bucket))] : []));
    },
    async close() {
      unsubscribe?.();
      unwatch?.();
      stages.s3Proxy.close();
      await stages.limitPresignedUrlUsage.store.close?.();
      await ownStore?.close();
    },
  });
}
