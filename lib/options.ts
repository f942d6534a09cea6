/**
 * Public options of the middleware (`OspOptions`), their validation and defaults
 * (`resolveOptions`). Everything is checked once, when a factory is called; the request path only
 * reads the frozen result. The types live in options/types.ts and each option group is validated
 * in its own file under options/ (buckets, keystore and policies, shared state, hooks and
 * regions); this module composes them.
 */
import { OspConfigError } from './errors';
import {
  DEFAULT_AUTHORIZE_TIMEOUT_MS,
  DEFAULT_FETCHER_TIMEOUT_MS,
  DEFAULT_HMAC_CACHE_TTL_SECONDS,
  DEFAULT_HMAC_NEGATIVE_CACHE_TTL_SECONDS,
  DEFAULT_MAX_PRESIGN_URL_USAGE_ATTEMPTS,
  DEFAULT_MAX_SKEW_SECONDS,
  DEFAULT_MAX_PRESIGNED_LIFETIME_SECONDS,
  DEFAULT_REGION,
  DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
} from './constants';
import type { UsageCounterStore } from './cache/usage-store';
import type { SharedStateStore } from './cache/shared-store';
import { compileNamedPolicies, type KeyPolicy } from './policy/key-policy';
import { aliasOf, HOST_PATTERN, invalid, isPlainObject, nonEmptyString, optionalBoolean, optionalFunction, optionalInteger, optionalNumber } from './options/validate';
import { resolveBuckets } from './options/buckets';
import { resolveKeystore, withPolicyPath } from './options/keystore';
import { resolveRedis, resolveSharedCache } from './options/shared-state';
import { resolveEventHooks, resolveRegions } from './options/hooks-and-regions';
import { resolvePostSpoolDirectory } from './options/post-spool';
import type { AuthorizeCallback, OspLogger, OspOptions, ResolvedOptions } from './options/types';

export type {
  BucketConfig,
  OspEventHooks,
  BucketResolverContext,
  BucketResolver,
  HmacKey,
  HmacFetcherAnswer,
  BackendHmacCredentials,
  AuthorizeRequest,
  AuthorizeCallback,
  SharedCacheOptions,
  OspLogger,
  OspOptions,
  ResolvedOptions,
} from './options/types';
export { resolveBucketConfig } from './options/buckets';
export { withPolicyPath } from './options/keystore';

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof OspOptions>([
  'buckets',
  'hmacKeystore',
  'hmacFetcher',
  'policies',
  'hmacCacheTtlSeconds',
  'hmacCacheTtl',
  'hmacNegativeCacheTtlSeconds',
  'hmacNegativeCacheTtl',
  'bucketCredsFetcher',
  'on',
  'authorize',
  'validator',
  'authorizeTimeoutMs',
  'hmacFetcherTimeoutMs',
  'bucketCredsFetcherTimeoutMs',
  'bucketResolverTimeoutMs',
  'acceptedRegions',
  'allowDotSegmentsInKeys',
  'allowAnonymous',
  'skipSignatureValidation',
  'allowSigV2',
  'maxSigV2PresignedLifetimeSeconds',
  'maxSkewSeconds',
  'verify',
  'serverName',
  'virtualHostDomains',
  'trustForwardedHost',
  'upstreamConnectTimeoutMs',
  'upstreamIdleTimeoutMs',
  'upstreamLookup',
  'maxPresignedUrlUses',
  'maxPresignUrlUsageAttempts',
  'usageStore',
  'redis',
  'sharedStore',
  'sharedCache',
  'presignedOnStoreError',
  'region',
  'iamEndpoint',
  'postSpoolDirectory',
  'logger',
]);

const silentLogger: OspLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The objects {@link resolveOptions} returned: a stage factory handed one of them (by
 * `ospMiddleware`) uses it as is instead of validating the options again. Module-private, so only
 * this module can mark an object as resolved; a frozen plain object a user builds never is.
 */
const resolvedByUs = new WeakSet<object>();

function markResolved(resolved: ResolvedOptions): ResolvedOptions {
  const frozen = Object.freeze(resolved);
  resolvedByUs.add(frozen);
  return frozen;
}

/**
 * The resolved form of what a stage factory was given: `options` itself when `ospMiddleware`
 * resolved it (see {@link asStageOptions}), else {@link resolveOptions}(options).
 * @internal
 */
export function optionsOf(options: OspOptions): ResolvedOptions {
  return resolvedByUs.has(options) ? (options as unknown as ResolvedOptions) : resolveOptions(options);
}

/**
 * `resolved` as the argument of a stage factory: the factories' public signature takes
 * {@link OspOptions}, and {@link optionsOf} recognizes the object without validating it again.
 * @internal
 */
export function asStageOptions(resolved: ResolvedOptions): OspOptions {
  if (!resolvedByUs.has(resolved)) throw new TypeError('asStageOptions: not an object resolveOptions returned');
  return resolved as unknown as OspOptions;
}

/**
 * A copy of `resolved` that uses the given stores, for the stages of a middleware that owns its
 * `redis` connection and one presigned-usage store for its whole life. No validation: both come
 * from the middleware itself.
 * @internal
 */
export function withStores(resolved: ResolvedOptions, stores: { sharedStore: SharedStateStore | undefined; usageStore: UsageCounterStore | undefined }): ResolvedOptions {
  return markResolved({ ...resolved, redis: undefined, sharedStore: stores.sharedStore, usageStore: stores.usageStore });
}

/**
 * Validates options, applies defaults and returns a frozen copy. The caller's object is never
 * modified. Throws {@link OspConfigError} naming the option, the rule and an example.
 * @internal not exported by the package (`ospMiddleware` and the stages call it).
 */
export function resolveOptions(options: OspOptions): ResolvedOptions {
  if (typeof options === 'function' || (isPlainObject(options) && 'method' in options && 'headers' in options)) {
    // app.use(ospMiddleware) instead of app.use(ospMiddleware({...})): Express would call us with (req, res, next).
    throw new OspConfigError('ERR_OSP_FACTORY_NOT_CALLED', 'options', 'call the factory with options', 'app.use(ospMiddleware({ buckets: {…} }))');
  }
  if (!isPlainObject(options)) throw invalid('options', 'must be an object', 'ospMiddleware({ buckets: {…}, hmacKeystore: […] })');
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', name, `unknown option; known: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const o = options as unknown as Record<string, unknown>;
  if (o.authorize !== undefined && o.validator !== undefined) {
    throw invalid('validator', 'give either authorize or validator (its alias), not both');
  }
  const authorize = optionalFunction<AuthorizeCallback>(o.authorize ?? o.validator, o.authorize ? 'authorize' : 'validator', '(token, bucket, req) => true');
  const domains = o.virtualHostDomains;
  if (domains !== undefined && (!Array.isArray(domains) || !domains.every((d) => typeof d === 'string' && HOST_PATTERN.test(d)))) {
    throw invalid('virtualHostDomains', 'must be an array of host names', `virtualHostDomains: ['s3.example.com']`);
  }
  const logger = o.logger as OspLogger | undefined;
  if (logger !== undefined && !(['debug', 'info', 'warn', 'error'] as const).every((l) => typeof logger[l] === 'function')) {
    throw invalid('logger', 'must have debug, info, warn and error methods', 'logger: pino()');
  }
  const usageStore = o.usageStore as UsageCounterStore | undefined;
  if (usageStore !== undefined && (typeof usageStore !== 'object' || typeof usageStore.increment !== 'function')) {
    throw invalid('usageStore', 'must implement UsageCounterStore (increment, decrement, get)');
  }
  if (o.serverName !== undefined && (typeof o.serverName !== 'string' || !/^[\x20-\x7e]+$/.test(o.serverName))) {
    // Non-ASCII Server headers broke urllib3 clients of the Python proxy.
    throw invalid('serverName', 'must be printable ASCII', `serverName: 'osp'`);
  }
  const hmacTtlName = aliasOf(o, 'hmacCacheTtlSeconds', 'hmacCacheTtl', '');
  const hmacNegTtlName = aliasOf(o, 'hmacNegativeCacheTtlSeconds', 'hmacNegativeCacheTtl', '');
  const usesName = aliasOf(o, 'maxPresignedUrlUses', 'maxPresignUrlUsageAttempts', '');
  const redis = resolveRedis(o.redis);
  const sharedStore = o.sharedStore as SharedStateStore | undefined;
  if (sharedStore !== undefined) {
    const methods = ['increment', 'decrement', 'get', 'getValue', 'setValue', 'deleteValue', 'deleteMatching', 'publish', 'subscribe', 'close'] as const;
    if (typeof sharedStore !== 'object' || sharedStore === null || !methods.every((m) => typeof (sharedStore as unknown as Record<string, unknown>)[m] === 'function')) {
      throw invalid('sharedStore', `must implement SharedStateStore (${methods.join(', ')})`, 'sharedStore: createRedisStore({ url }, logger)');
    }
    if (redis) throw invalid('sharedStore', 'give either redis or sharedStore, not both');
  }
  const sharedCache = resolveSharedCache(o.sharedCache, redis !== undefined || sharedStore !== undefined);
  const presignedOnStoreError = o.presignedOnStoreError ?? 'reject';
  if (presignedOnStoreError !== 'reject' && presignedOnStoreError !== 'allow') {
    throw invalid('presignedOnStoreError', `must be 'reject' or 'allow'`, `presignedOnStoreError: 'reject'`);
  }
  const iamEndpoint = o.iamEndpoint === undefined ? 'https://iam.cloud.ibm.com' : nonEmptyString(o.iamEndpoint, 'iamEndpoint', `iamEndpoint: 'https://private.iam.cloud.ibm.com'`);
  if (!/^https?:\/\/[^/]+/.test(iamEndpoint)) throw invalid('iamEndpoint', 'must be an http(s) URL', `iamEndpoint: 'https://iam.cloud.ibm.com'`);

  const policies = withPolicyPath(() => compileNamedPolicies(o.policies));
  const keyPolicies = new Map<string, KeyPolicy>();
  const resolved: ResolvedOptions = {
    buckets: resolveBuckets(o.buckets),
    hmacKeystore: resolveKeystore(o.hmacKeystore, policies, keyPolicies),
    policies,
    keyPolicies,
    hmacFetcher: optionalFunction(o.hmacFetcher, 'hmacFetcher', 'async (accessKey) => secretOrNull'),
    hmacCacheTtl: optionalNumber(o[hmacTtlName], hmacTtlName, 0, 86_400, DEFAULT_HMAC_CACHE_TTL_SECONDS, 'hmacCacheTtlSeconds: 300'),
    hmacNegativeCacheTtl: optionalNumber(o[hmacNegTtlName], hmacNegTtlName, 0, 3600, DEFAULT_HMAC_NEGATIVE_CACHE_TTL_SECONDS, 'hmacNegativeCacheTtlSeconds: 10'),
    bucketCredsFetcher: optionalFunction(o.bucketCredsFetcher, 'bucketCredsFetcher', 'async (token, bucket) => ({ accessKey, secretKey })'),
    authorize,
    authorizeTimeoutMs: optionalInteger(o.authorizeTimeoutMs, 'authorizeTimeoutMs', 1, 600_000, DEFAULT_AUTHORIZE_TIMEOUT_MS, 'authorizeTimeoutMs: 5000'),
    hmacFetcherTimeoutMs: optionalInteger(o.hmacFetcherTimeoutMs, 'hmacFetcherTimeoutMs', 1, 600_000, DEFAULT_FETCHER_TIMEOUT_MS, 'hmacFetcherTimeoutMs: 5000'),
    bucketCredsFetcherTimeoutMs: optionalInteger(o.bucketCredsFetcherTimeoutMs, 'bucketCredsFetcherTimeoutMs', 1, 600_000, DEFAULT_FETCHER_TIMEOUT_MS, 'bucketCredsFetcherTimeoutMs: 5000'),
    bucketResolverTimeoutMs: optionalInteger(o.bucketResolverTimeoutMs, 'bucketResolverTimeoutMs', 1, 600_000, DEFAULT_FETCHER_TIMEOUT_MS, 'bucketResolverTimeoutMs: 5000'),
    acceptedRegions: resolveRegions(o.acceptedRegions),
    allowDotSegmentsInKeys: optionalBoolean(o.allowDotSegmentsInKeys, 'allowDotSegmentsInKeys', false),
    allowAnonymous: optionalBoolean(o.allowAnonymous, 'allowAnonymous', false),
    skipSignatureValidation: optionalBoolean(o.skipSignatureValidation, 'skipSignatureValidation', false),
    allowSigV2: optionalBoolean(o.allowSigV2, 'allowSigV2', true),
    maxSigV2PresignedLifetimeSeconds: optionalInteger(
      o.maxSigV2PresignedLifetimeSeconds,
      'maxSigV2PresignedLifetimeSeconds',
      1,
      315_360_000,
      DEFAULT_MAX_PRESIGNED_LIFETIME_SECONDS,
      'maxSigV2PresignedLifetimeSeconds: 604800',
    ),
    maxSkewMs: optionalInteger(o.maxSkewSeconds, 'maxSkewSeconds', 1, 86_400, DEFAULT_MAX_SKEW_SECONDS, 'maxSkewSeconds: 900') * 1000,
    verify: optionalBoolean(o.verify, 'verify', true),
    serverName: o.serverName as string | undefined,
    virtualHostDomains: Object.freeze(((domains as string[] | undefined) ?? []).map((d) => d.toLowerCase())),
    trustForwardedHost: optionalBoolean(o.trustForwardedHost, 'trustForwardedHost', false),
    upstreamConnectTimeoutMs: optionalInteger(o.upstreamConnectTimeoutMs, 'upstreamConnectTimeoutMs', 1, 600_000, DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS, 'upstreamConnectTimeoutMs: 10000'),
    upstreamIdleTimeoutMs: optionalInteger(o.upstreamIdleTimeoutMs, 'upstreamIdleTimeoutMs', 1, 86_400_000, DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS, 'upstreamIdleTimeoutMs: 300000'),
    upstreamLookup: optionalFunction(o.upstreamLookup, 'upstreamLookup', 'upstreamLookup: dns.lookup'),
    maxPresignUrlUsageAttempts: optionalInteger(o[usesName], usesName, 1, 1_000_000, DEFAULT_MAX_PRESIGN_URL_USAGE_ATTEMPTS, 'maxPresignedUrlUses: 3'),
    on: resolveEventHooks(o.on, logger ?? silentLogger),
    usageStore,
    redis,
    sharedStore,
    sharedCacheDecisions: sharedCache.decisions,
    sharedCacheSecrets: sharedCache.secrets,
    sharedCacheKey: sharedCache.key,
    presignedOnStoreError,
    region: o.region === undefined ? DEFAULT_REGION : nonEmptyString(o.region, 'region', `region: 'eu-de'`),
    iamEndpoint: iamEndpoint.replace(/\/+$/, ''),
    postSpoolDirectory: resolvePostSpoolDirectory(o.postSpoolDirectory),
    logger: logger ?? silentLogger,
  };
  if (resolved.hmacKeystore.size === 0 && !resolved.hmacFetcher && !resolved.skipSignatureValidation && !resolved.allowAnonymous) {
    throw new OspConfigError(
      'ERR_OSP_MISSING_OPTION',
      'hmacKeystore',
      'give frontend keys (hmacKeystore or hmacFetcher) so clients can sign requests',
      `hmacKeystore: [{ accessKey: 'client1', secretKey: '…' }]`,
    );
  }
  return markResolved(resolved);
}
