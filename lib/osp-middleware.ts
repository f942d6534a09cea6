import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { asStageOptions, resolveOptions, withStores, type OspOptions } from './options';
import { verifySignature, type VerifySignatureHandler } from './middleware/verify-signature';
import { authorize, type AuthorizeHandler } from './middleware/authorize';
import { limitPresignedUrlUsage, type LimitPresignedUsageHandler } from './middleware/limit-presigned-usage';
import { resolveBackend, type ResolveBackendHandler } from './middleware/resolve-backend';
import { s3Proxy, type S3ProxyHandler } from './middleware/proxy';
import { postObject, type PostObjectHandler } from './middleware/post-object';
import { s3ErrorHandler, toOspError } from './middleware/s3-error-handler';
import { OspConfigError } from './errors';
import { UsageShareExhaustedError, type UsageCounterStore } from './cache/usage-store';
import type { InvalidationMessage, SharedStateStore } from './cache/shared-store';
import { createRedisStore } from './cache/redis-store';
import { decisionsOfBucket, decisionsOfIdentity, secretKeyOf } from './cache/shared-keys';
import type { ResolvedOptions } from './options';
import { getContext, type OspRequestContext } from './context';
import { rejectHooksArgument } from './guard-hooks';
import { traceChain, traceRequest } from './tracing/request-tracing';
import { createBackendCors } from './cors/backend-cors';
import { createWithCors, type WithCors } from './cors/own-responses';
import { createUpstream, shareUpstream, type Upstream } from './upstream/upstream';

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
  /**
   * Replaces the options for new requests, without dropping a connection or an in-flight
   * transfer: requests already running finish on the options they started with (their backend
   * connections close once they are done). New, changed and removed buckets, keys, callbacks and
   * hooks (`on`: pass your metrics hooks again) take effect at once; every cache (frontend
   * secrets, authorization decisions, backend credentials) starts empty, so nothing derived from a
   * removed or changed entry survives. Presigned-URL use counts and the shared store carry over:
   * `redis` must stay equal and `sharedStore` and `usageStore` the same objects (or both absent).
   * Throws OspConfigError on invalid options or a replaced store: the current options stay.
   */
  update(options: OspOptions): void;
  /**
   * Parses the request target into `req.osp` (once) with the current options, as the stages do:
   * for code that runs before the middleware and wants the request id, bucket or operation.
   * @throws OspError on an unparseable request target.
   */
  contextOf(req: Request): OspRequestContext;
  /** The shared store (e.g. Redis) when `redis` or `sharedStore` is configured. */
  readonly sharedStore?: SharedStateStore;
  readonly stages: {
    readonly verifySignature: VerifySignatureHandler;
    readonly authorize: AuthorizeHandler;
    readonly limitPresignedUrlUsage: LimitPresignedUsageHandler;
    readonly resolveBackend: ResolveBackendHandler;
    readonly s3Proxy: S3ProxyHandler;
    /** Browser POST uploads (runs first; other requests pass through). */
    readonly postObject: PostObjectHandler;
  };
}

/** Presigned usage counting on the shared store, honouring `presignedOnStoreError`. Not closable: the store is closed by its owner. */
function sharedUsageStore(shared: SharedStateStore, o: ResolvedOptions): UsageCounterStore {
  if (o.presignedOnStoreError === 'reject') {
    return { increment: (k, e, opts) => shared.increment(k, e, opts), decrement: (k) => shared.decrement(k), get: (k) => shared.get(k) };
  }
  let lastWarn = 0;
  return {
    async increment(key, expiresAtMs, opts) {
      try {
        return await shared.increment(key, expiresAtMs, opts);
      } catch (err) {
        // A key at its share is a refusal, not an unavailable store.
        if (err instanceof UsageShareExhaustedError) throw err;
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

/** The stages built from one version of the options. */
interface Generation {
  readonly o: ResolvedOptions;
  readonly stages: OspMiddleware['stages'];
  readonly chain: readonly RequestHandler[];
  readonly onError: ReturnType<typeof s3ErrorHandler>;
  /** The bucket's CORS headers on the proxy's own errors, so a page can read them. */
  readonly withCors: WithCors;
  /** The agents of every connection its stages open (lib/upstream/upstream.ts). */
  readonly upstream: Upstream;
  /** Requests running on this generation; once replaced and idle, its backend connections close. */
  inflight: number;
  retired: boolean;
}

const sameRedis = (a: ResolvedOptions['redis'], b: ResolvedOptions['redis']): boolean =>
  a === b || (a !== undefined && b !== undefined && a.url === b.url && a.keyPrefix === b.keyPrefix && a.commandTimeoutMs === b.commandTimeoutMs && a.connectTimeoutMs === b.connectTimeoutMs);

/**
 * The stores are the middleware's for its life (they hold presigned-URL use counts, the
 * invalidation subscription and the shared caches): update() keeps them, so a replaced one would
 * be ignored. It is refused instead, by identity (a store is an object, not a description).
 */
function checkFixedStores(first: ResolvedOptions, next: ResolvedOptions): void {
  const fixed = (name: string, what: string) =>
    new OspConfigError(
      'ERR_OSP_INVALID_OPTION',
      name,
      `cannot be replaced in update(): the middleware keeps the ${what} it was created with (presigned-URL use counts, invalidation messages, shared caches); pass the same ${what} again, or create a new middleware (and close() this one) to change it`,
    );
  if (!sameRedis(first.redis, next.redis)) throw fixed('redis', 'connection settings');
  if (next.sharedStore !== first.sharedStore) throw fixed('sharedStore', 'store object');
  if (next.usageStore !== first.usageStore) throw fixed('usageStore', 'store object');
}

/**
 * The whole S3 proxy as one Express middleware:
 * `verifySignature → authorize → limitPresignedUrlUsage → resolveBackend → s3Proxy`, with errors
 * rendered as S3 XML. Options are validated here, once (the stages share the result); a bad option
 * throws an OspConfigError. Observation hooks go in `options.on` (e.g. `on: ospMetrics(registry)`);
 * the former second argument (hooks) throws ERR_OSP_HOOKS_ARGUMENT.
 *
 * @example
 * app.use('/s3', ospMiddleware({
 *   buckets: { photos: { host: 's3.eu-de.example.com', accessKey: 'AK', secretKey: 'SK' } },
 *   hmacKeystore: [{ accessKey: 'client1', secretKey: 'client1-secret' }],
 *   authorize: (token, bucket, req) => token === 'client1' && req.operation !== 'DeleteObject',
 *   on: { backendResponse: (req, status, latencyMs) => latency.observe(latencyMs) },
 * }));
 */
export function ospMiddleware(options: OspOptions): OspMiddleware {
  // Validated here, once: the stages get the resolved form (asStageOptions) and do not validate again.
  const first = resolveOptions(options);
  rejectHooksArgument('ospMiddleware', arguments.length);
  // The middleware owns the Redis connection; the stages see it as `sharedStore`.
  const ownStore = first.redis ? createRedisStore(first.redis, first.logger) : undefined;
  const shared = first.sharedStore ?? ownStore;
  /** Presigned uses are counted across updates: one store for the middleware's life. */
  let usageStore: UsageCounterStore | undefined = first.usageStore ?? (shared ? sharedUsageStore(shared, first) : undefined);

  const build = (o: ResolvedOptions): Generation => {
    // One resolved object for every stage, with the middleware's stores (no second validation).
    const stageOptions = asStageOptions(withStores(o, { sharedStore: shared, usageStore }));
    // One agent set per generation, for every stage built from stageOptions (proxy, bearer retry,
    // POST uploads, ListBuckets fan-out, CORS lookups, IAM).
    const upstream = createUpstream(o);
    shareUpstream(stageOptions, upstream);
    const authorizeStage = authorize(stageOptions);
    const resolveBackendStage = resolveBackend(stageOptions);
    const proxyStage = s3Proxy(stageOptions);
    // The buckets' CORS answers for the responses the proxy makes itself (issue [1/5]), over the proxy's backend connections.
    const cors = createBackendCors({ agent: upstream.backends });
    const stages = {
      verifySignature: verifySignature(stageOptions),
      authorize: authorizeStage,
      limitPresignedUrlUsage: limitPresignedUrlUsage(stageOptions),
      resolveBackend: resolveBackendStage,
      s3Proxy: proxyStage,
      // A POST upload continues through the stages below (as a PutObject), so their caches and revocation apply.
      postObject: postObject(stageOptions, { cors }),
    };
    usageStore ??= stages.limitPresignedUrlUsage.store;
    return {
      o,
      stages,
      // A span per stage when an OpenTelemetry SDK is registered (postObject passes most requests
      // straight on: no span of its own).
      chain: [stages.postObject, ...traceChain(stages, [stages.verifySignature, stages.authorize, stages.limitPresignedUrlUsage, stages.resolveBackend, stages.s3Proxy])],
      onError: s3ErrorHandler({ logger: o.logger, serverName: o.serverName }),
      withCors: createWithCors(o, cors),
      upstream,
      inflight: 0,
      retired: false,
    };
  };
  /** Closes a generation's idle connections (backends and IAM: all its stages share them). */
  const closeConnections = (g: Generation) => g.upstream.close();
  let current = build(first);
  const retire = (g: Generation) => {
    g.retired = true;
    if (g.inflight === 0) closeConnections(g);
  };

  const forgetAccessKey = (accessKey: string) => {
    const { stages } = current;
    stages.verifySignature.forgetAccessKey(accessKey);
    stages.postObject.forgetAccessKey(accessKey);
    stages.authorize.forgetIdentity(accessKey);
    stages.resolveBackend.credentials.invalidateIdentity(accessKey);
  };
  const forgetBucket = (bucket: string) => {
    const { stages } = current;
    stages.authorize.forgetBucket(bucket);
    stages.resolveBackend.credentials.invalidateBucket(bucket);
  };
  const unsubscribe = shared?.subscribe((m: InvalidationMessage) => (m.kind === 'accessKey' ? forgetAccessKey(m.value) : forgetBucket(m.value)));
  // Through `current`: the hook of the options in force (update() may change `on`).
  const unwatch = shared?.onStatus?.((event) => current.o.on.sharedStoreStatus?.(event));
  /** Shared entries first, then the message: an instance that refills its cache after the message finds no stale entry. */
  const propagate = async (message: InvalidationMessage, sharedKeys: () => Promise<unknown>[]): Promise<boolean> => {
    if (!shared) return true;
    try {
      await Promise.all(sharedKeys());
      await shared.publish(message);
      return true;
    } catch (err) {
      current.o.logger.error(
        { kind: message.kind, error: (err as Error).message },
        'object-storage-proxy: could not propagate an invalidation through the shared store; other instances keep their caches until their TTLs end',
      );
      return false;
    }
  };

  // Our own `next` between the stages: errors end here as S3 XML, so Express 4 and 5 hosts
  // behave the same and no error handler of the host app is needed. A request runs on the
  // generation current when it arrived, to its end, whatever update() does meanwhile.
  const handler = function osp(req: Request, res: Response, next: NextFunction): void {
    const g = current;
    g.o.on.request?.(req, res);
    g.inflight++;
    let done = false;
    res.once('close', () => {
      if (done) return;
      done = true;
      g.inflight--;
      if (g.retired && g.inflight === 0) closeConnections(g);
    });
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        const error = toOspError(err, g.o.logger);
        g.o.on.error?.(req, error);
        g.withCors(req, res, () => g.onError(error, req, res, next));
        return;
      }
      const stage = g.chain[i++];
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
  const stagesProxy = {} as OspMiddleware['stages'];
  for (const name of Object.keys(current.stages) as (keyof OspMiddleware['stages'])[]) {
    Object.defineProperty(stagesProxy, name, { enumerable: true, get: () => current.stages[name] });
  }
  return Object.assign(handler, {
    stages: stagesProxy,
    sharedStore: shared,
    contextOf: (req: Request) => getContext(req, current.o),
    update(next: OspOptions) {
      // Once per update, as at creation; throws OspConfigError: the current options stay.
      const o = resolveOptions(next);
      checkFixedStores(first, o);
      const old = current;
      current = build(o);
      retire(old);
    },
    async revokeAccessKey(accessKey: string, opts: InvalidateOptions = {}) {
      forgetAccessKey(accessKey);
      if (opts.localOnly) return true;
      const o = current.o;
      return propagate({ kind: 'accessKey', value: accessKey }, () => [
        ...(o.sharedCacheSecrets ? [shared!.deleteValue(secretKeyOf(accessKey))] : []),
        ...(o.sharedCacheDecisions ? [shared!.deleteMatching(decisionsOfIdentity(accessKey))] : []),
      ]);
    },
    async invalidateBucket(bucket: string, opts: InvalidateOptions = {}) {
      forgetBucket(bucket);
      if (opts.localOnly) return true;
      return propagate({ kind: 'bucket', value: bucket }, () => (current.o.sharedCacheDecisions ? [shared!.deleteMatching(decisionsOfBucket(bucket))] : []));
    },
    async close() {
      unsubscribe?.();
      unwatch?.();
      current.upstream.close();
      await current.stages.limitPresignedUrlUsage.store.close?.();
      await ownStore?.close();
    },
  });
}
