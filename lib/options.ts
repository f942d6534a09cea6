/**
 * Public options of the middleware (`OspOptions`), their validation and defaults
 * (`resolveOptions`). Everything is checked once, when a factory is called; the request path only
 * reads the frozen result.
 */
import type { Request } from 'express';
import type { LookupFunction } from 'node:net';
import { OspConfigError, type OspError } from './errors';
import {
  DEFAULT_AUTHORIZE_TIMEOUT_MS,
  DEFAULT_FETCHER_TIMEOUT_MS,
  DEFAULT_BUCKET_TTL_SECONDS,
  DEFAULT_HMAC_CACHE_TTL_SECONDS,
  DEFAULT_HMAC_NEGATIVE_CACHE_TTL_SECONDS,
  DEFAULT_MAX_PRESIGN_URL_USAGE_ATTEMPTS,
  DEFAULT_MAX_SKEW_SECONDS,
  DEFAULT_REGION,
  DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_KEY_PREFIX,
} from './constants';
import type { UsageCounterStore } from './cache/usage-store';
import type { SharedStateStore } from './cache/shared-store';
import type { RedisStoreOptions } from './cache/redis-store';
import { parseEncryptionKey } from './cache/secret-box';
import { bucketKeyProblem, createBucketTable, isBucketPattern, type BucketTable } from './s3/bucket-table';
import { BACKEND_PROFILES, isProfileName, type BackendProfileOption } from './backends/profiles';
import type { PolicyDocument } from './policy/types';
import type { CompiledPolicy } from './policy/compile';
import { compileKeyPolicy, compileNamedPolicies, type KeyPolicy } from './policy/key-policy';
import { PolicyError } from './policy/errors';

/** Where and how to reach the backend bucket behind a client-facing bucket name. */
export interface BucketConfig {
  /** Backend host name or IP, without scheme or port, e.g. `s3.eu-de.cloud-object-storage.appdomain.cloud`. */
  host: string;
  /** Backend port. @default 443 */
  port?: number;
  /** Region used to sign backend requests. @default 'us-east-1' */
  region?: string;
  /** Backend HMAC access key. With `secretKey`; otherwise `apiKey`, `bucketCredsFetcher` or none. */
  accessKey?: string;
  /** Backend HMAC secret key. */
  secretKey?: string;
  /** Backend session token (temporary credentials), sent as `x-amz-security-token`. */
  sessionToken?: string;
  /** IBM Cloud IAM API key: the backend is reached with a bearer token instead of SigV4. */
  apiKey?: string;
  /**
   * IBM COS service instance id, sent as `ibm-service-instance-id` when the client sends none
   * (COS needs it to create and list buckets).
   */
  serviceInstanceId?: string;
  /**
   * Seconds this bucket's backend credentials and authorization decisions are cached.
   * `0` disables caching. @default 300
   */
  ttlSeconds?: number;
  /** @deprecated the seed's name of `ttlSeconds`, still accepted. */
  ttl?: number;
  /** How the proxy addresses the backend: `bucket.host/key` or `host/bucket/key`. @default 'virtual' */
  addressingStyle?: 'virtual' | 'path';
  /** Use HTTPS to the backend. @default true when `port` is 443 (or unset), false otherwise */
  tls?: boolean;
  /** The bucket's name on the backend, when it differs from the name clients use. @default the client's name */
  backendBucket?: string;
  /**
   * What the backend accepts: a preset (`'aws' | 'ceph-rgw' | 'swift' | 'minio' | 'garage' | 'ibm-cos' | 'moto'`)
   * or capability overrides (`{ preset: 'minio', verifiesPayloadHash: false }`).
   * @default a conservative profile: aws-chunked decoded to plain bodies, Content-MD5 added to
   * DeleteObjects, payload hashes verified by the proxy
   */
  profile?: BackendProfileOption;
  /**
   * Anonymous requests (`allowAnonymous`) to this bucket are signed with the bucket's backend
   * credentials instead of being forwarded unsigned. Off by default: then the backend's own ACLs
   * and bucket policies decide what anonymous callers may do, and the proxy never lends its keys
   * to a caller it could not identify. Turn it on only for a bucket whose every object anyone
   * may read (and, if `authorize` allows it, write). @default false
   */
  signAnonymousRequests?: boolean;
}

/**
 * Observation hooks (`options.on`): metrics, audit logs. Each must not throw (a throw is logged once
 * and ignored) and should return quickly: they run on the request path.
 */
export interface OspEventHooks {
  /** A stage refused the request (signature, authorization, bucket, …) with this S3 error. */
  error?(req: Request, error: OspError): void;
  /** The backend answered with response headers after `latencyMs` (time to first byte). */
  backendResponse?(req: Request, status: number, latencyMs: number): void;
  /** The backend could not be reached or timed out (the client gets this 502/504). */
  backendFailure?(req: Request, error: OspError): void;
  /** A presigned URL use was counted. */
  presignedUse?(bucket: string | undefined): void;
  /** A presigned URL was refused: its use limit was reached. */
  presignedRejected?(bucket: string | undefined): void;
  /** An IBM IAM token exchange finished. */
  iamTokenRefresh?(outcome: 'ok' | 'error'): void;
  /** The shared store (Redis) came up, went down, or a command failed. */
  sharedStoreStatus?(event: 'up' | 'down' | 'error'): void;
}

/** Context handed to a bucket resolver function. */
export interface BucketResolverContext {
  /** Verified frontend access key (or identity set by your own auth), `null` for anonymous requests. */
  token: string | null;
  req: Request;
}

/** Resolves a client-facing bucket name to its backend, or `undefined` when the bucket is unknown (404 NoSuchBucket). */
export type BucketResolver = (
  bucket: string,
  ctx: BucketResolverContext,
) => BucketConfig | undefined | Promise<BucketConfig | undefined>;

/** A frontend keypair that clients sign with. */
export interface HmacKey {
  accessKey: string;
  secretKey: string;
  /** When set, the only client-facing bucket names (or patterns such as `'acme-*'`) this key may use. */
  buckets?: string[];
  /**
   * IAM-style policies of this key: documents, or names of entries of the `policies` option. When
   * set, every request of the key must be allowed by them (explicit Deny wins, then Allow, else
   * denied), besides `buckets` and `authorize`. Absent: the key is authorized as without policies.
   */
  policies?: (string | PolicyDocument)[];
  /** Tags of the key, for `aws:PrincipalTag/<name>` conditions and variables. */
  tags?: Record<string, string>;
}

/** What `hmacFetcher` may answer for a key that has policies (a plain secret string works too). */
export interface HmacFetcherAnswer {
  secretKey: string;
  /** As {@link HmacKey.policies}; names refer to the `policies` option. */
  policies?: (string | PolicyDocument)[];
  tags?: Record<string, string>;
}

/** Backend credentials returned by `bucketCredsFetcher`. */
export interface BackendHmacCredentials {
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

/** What an authorization callback learns about the request. */
export interface AuthorizeRequest {
  method: string;
  /** Path after the mount point, percent-encoded, without query. */
  path: string;
  bucket: string;
  /** Decoded object key, or undefined for bucket-level requests. */
  key: string | undefined;
  /** Decoded query parameters (first value wins). */
  query: Readonly<Record<string, string>>;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** S3 operation name such as `GetObject`, `PutObject`, `ListObjectsV2`, or `Unknown`. */
  operation: string;
  req: Request;
}

/** Decides whether `token` (the frontend access key) may make this request on `bucket`. */
export type AuthorizeCallback = (token: string | null, bucket: string, request: AuthorizeRequest) => boolean | Promise<boolean>;

/** What may be cached in the shared store (`redis` / `sharedStore`) besides presigned usage counters. */
export interface SharedCacheOptions {
  /**
   * Cache `authorize` answers in the shared store too (for the bucket's `ttl`), so a decision made
   * by one instance serves all. @default false
   */
  decisions?: boolean;
  /**
   * Cache `hmacFetcher` answers in the shared store too (for `hmacCacheTtl` / `hmacNegativeCacheTtl`),
   * encrypted with AES-256-GCM under `encryptionKey` (required). @default false
   */
  frontendSecrets?: boolean;
  /** 256-bit key for secrets written to the shared store: 64 hex characters or base64 of 32 bytes. */
  encryptionKey?: string;
}

/** Minimal logger interface (pino, console and winston fit). */
export interface OspLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link ospMiddleware} and of each stage factory. */
export interface OspOptions {
  /**
   * Client-facing bucket name → backend, or a (possibly async) resolver function. Keys may be
   * exact names, prefix patterns (`'acme-*'`) or `'*'`; the most specific match wins (exact, then
   * the longest prefix, then `*`).
   */
  buckets: Record<string, BucketConfig> | BucketResolver;
  /** Static frontend keypairs. */
  hmacKeystore?: HmacKey[];
  /** Looks up the secret of a frontend access key missing from `hmacKeystore`; `null` means unknown. */
  hmacFetcher?: (accessKey: string) => string | HmacFetcherAnswer | null | undefined | Promise<string | HmacFetcherAnswer | null | undefined>;
  /**
   * Named IAM-style policy documents that keys (`hmacKeystore[].policies`, `hmacFetcher` answers)
   * refer to by name: `{ readOnly: { Version: '2012-10-17', Statement: [ … ] } }`.
   */
  policies?: Record<string, PolicyDocument>;
  /** Seconds a secret from `hmacFetcher` is cached (0 disables). @default 300 */
  hmacCacheTtlSeconds?: number;
  /** @deprecated the seed's name of `hmacCacheTtlSeconds`, still accepted. */
  hmacCacheTtl?: number;
  /** Seconds an unknown access key is remembered (0 disables). @default 10 */
  hmacNegativeCacheTtlSeconds?: number;
  /** @deprecated the seed's name of `hmacNegativeCacheTtlSeconds`, still accepted. */
  hmacNegativeCacheTtl?: number;
  /**
   * Supplies backend credentials for a bucket whose config has none: `{accessKey, secretKey}` (or its
   * JSON string) or an IBM API key string. Cached per (token, bucket) for the bucket's `ttl`.
   */
  bucketCredsFetcher?: (
    token: string | null,
    bucket: string,
  ) => string | BackendHmacCredentials | Promise<string | BackendHmacCredentials>;
  /** Authorization callback; cached per (token, bucket, method, key) for the bucket's `ttl`. */
  authorize?: AuthorizeCallback;
  /** Alias of `authorize`, named as in the Python proxy. */
  validator?: AuthorizeCallback;
  /** Milliseconds the authorization callback may take before the request fails with 503. @default 5000 */
  authorizeTimeoutMs?: number;
  /**
   * Milliseconds `hmacFetcher` may take before the request fails with 503 ServiceUnavailable. A
   * timed-out lookup is dropped, so the next request calls the fetcher afresh. @default 5000
   */
  hmacFetcherTimeoutMs?: number;
  /** Milliseconds `bucketCredsFetcher` may take before the request fails with 503 (as `hmacFetcherTimeoutMs`). @default 5000 */
  bucketCredsFetcherTimeoutMs?: number;
  /** Milliseconds a `buckets` resolver function may take before the request fails with 503. @default 5000 */
  bucketResolverTimeoutMs?: number;
  /**
   * Regions clients may name in their credential scope. The region is not a secret and the JS SDK
   * does not follow region redirects, so any region is accepted by default; with a list, another
   * region gets 400 AuthorizationHeaderMalformed (AuthorizationQueryParametersError for presigned
   * URLs) naming the expected one. @default any region
   */
  acceptedRegions?: string[];
  /**
   * Accept object keys with `.` or `..` path segments (`a/../b`). Off by default: such keys are
   * answered 400 InvalidArgument, because a hop that normalizes paths would address another
   * object, or on a path-style backend another bucket. Turn it on only for backends that store such
   * keys literally; a key that would climb out of its bucket on a path-style backend is refused
   * even then. @default false
   */
  allowDotSegmentsInKeys?: boolean;
  /** Accept requests without any signature; `authorize` then receives `null` as token. @default false */
  allowAnonymous?: boolean;
  /** DEVELOPMENT ONLY: skip SigV4 verification entirely. Logs a loud warning. @default false */
  skipSignatureValidation?: boolean;
  /**
   * Accept SigV2 (`Authorization: AWS key:signature` and `?AWSAccessKeyId=…&Expires=…&Signature=…`
   * presigned URLs, what aws-cli v1, boto3 and s3cmd mint by default). `false` answers them with
   * 400 InvalidRequest and a hint to switch to SigV4. @default true
   */
  allowSigV2?: boolean;
  /** Maximum clock skew between client and proxy, in seconds. @default 900 */
  maxSkewSeconds?: number;
  /** Verify backend TLS certificates. @default true */
  verify?: boolean;
  /** Value of the `Server` header on responses the proxy generates. */
  serverName?: string;
  /** Frontend domains for virtual-hosted requests, e.g. `['s3.example.com']` for `bucket.s3.example.com`. */
  virtualHostDomains?: string[];
  /**
   * Check signatures against `X-Forwarded-Host` instead of `Host`. Only enable behind a reverse
   * proxy you trust to set it. @default false
   */
  trustForwardedHost?: boolean;
  /** Milliseconds to wait for a backend TCP/TLS connection. @default 10000 */
  upstreamConnectTimeoutMs?: number;
  /** Milliseconds a backend connection may stay silent mid-request. @default 300000 */
  upstreamIdleTimeoutMs?: number;
  /**
   * Custom DNS lookup for backend connections (`dns.lookup` signature), e.g. for split-horizon DNS
   * or to reach virtual-hosted backend names that only exist inside your network.
   */
  upstreamLookup?: LookupFunction;
  /** How many times one presigned URL may be used (successful, verified uses). @default 3 */
  maxPresignedUrlUses?: number;
  /** @deprecated the seed's name of `maxPresignedUrlUses`, still accepted. */
  maxPresignUrlUsageAttempts?: number;
  /**
   * Observation hooks, named after the moment they report (as http-proxy-middleware's `on`). They
   * must not throw; one that does is logged once and ignored. Also honoured by the stage factories
   * used on their own.
   */
  on?: OspEventHooks;
  /** Store that counts presigned URL uses. @default the shared store when one is configured, else an in-memory store */
  usageStore?: UsageCounterStore;
  /**
   * Redis shared by every worker and instance: exact presigned-URL usage counters, cross-instance
   * invalidation (`revokeAccessKey` / `invalidateBucket` reach all within a second) and, opt-in,
   * shared caches (`sharedCache`). A URL (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS)
   * or connection settings. Honoured by `ospMiddleware` (which owns the connection); the standalone
   * server also reads `OSP_REDIS_URL`. @default none (state is per process)
   */
  redis?: string | RedisStoreOptions;
  /** A shared store you created (e.g. one Redis store for several middlewares). Exclusive with `redis`; not closed by the middleware. */
  sharedStore?: SharedStateStore;
  /** What else is cached in the shared store. @default nothing but presigned usage counters */
  sharedCache?: SharedCacheOptions;
  /**
   * What a presigned request gets when the shared store cannot count its use: `'reject'` (503
   * ServiceUnavailable, the URL's limit can never be exceeded) or `'allow'` (served uncounted and
   * logged). @default 'reject'
   */
  presignedOnStoreError?: 'reject' | 'allow';
  /** Default region for backends that name none. @default 'us-east-1' */
  region?: string;
  /** IBM Cloud IAM endpoint used to exchange API keys for tokens. @default 'https://iam.cloud.ibm.com' */
  iamEndpoint?: string;
  /** Logger for warnings and errors. @default silent */
  logger?: OspLogger;
}

/** The validated, defaulted and frozen form of {@link OspOptions}. @internal not exported by the package */
export interface ResolvedOptions {
  /** Static entries (exact names and patterns) or the resolver function. */
  readonly buckets: BucketTable<Readonly<BucketConfig>> | BucketResolver;
  readonly hmacKeystore: ReadonlyMap<string, Readonly<HmacKey>>;
  /** The `policies` option, compiled. */
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  /** Compiled policies of the keystore keys that have some. */
  readonly keyPolicies: ReadonlyMap<string, KeyPolicy>;
  readonly hmacFetcher?: OspOptions['hmacFetcher'];
  readonly hmacCacheTtl: number;
  readonly hmacNegativeCacheTtl: number;
  readonly bucketCredsFetcher?: OspOptions['bucketCredsFetcher'];
  readonly authorize?: AuthorizeCallback;
  readonly authorizeTimeoutMs: number;
  readonly hmacFetcherTimeoutMs: number;
  readonly bucketCredsFetcherTimeoutMs: number;
  readonly bucketResolverTimeoutMs: number;
  /** Undefined: any region. */
  readonly acceptedRegions?: readonly string[];
  readonly allowDotSegmentsInKeys: boolean;
  readonly allowAnonymous: boolean;
  readonly skipSignatureValidation: boolean;
  readonly allowSigV2: boolean;
  readonly maxSkewMs: number;
  readonly verify: boolean;
  readonly serverName?: string;
  readonly virtualHostDomains: readonly string[];
  readonly trustForwardedHost: boolean;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamIdleTimeoutMs: number;
  readonly upstreamLookup?: LookupFunction;
  readonly maxPresignUrlUsageAttempts: number;
  /** `on`, validated (empty when not given). */
  readonly on: Readonly<OspEventHooks>;
  readonly usageStore?: UsageCounterStore;
  /** Redis connection settings with defaults; only `ospMiddleware` connects. */
  readonly redis?: Readonly<Required<RedisStoreOptions>>;
  readonly sharedStore?: SharedStateStore;
  readonly sharedCacheDecisions: boolean;
  readonly sharedCacheSecrets: boolean;
  /** The parsed `sharedCache.encryptionKey`. */
  readonly sharedCacheKey?: Buffer;
  readonly presignedOnStoreError: 'reject' | 'allow';
  readonly region: string;
  readonly iamEndpoint: string;
  readonly logger: OspLogger;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof OspOptions>([
  'buckets', 'hmacKeystore', 'hmacFetcher', 'policies', 'hmacCacheTtlSeconds', 'hmacCacheTtl', 'hmacNegativeCacheTtlSeconds', 'hmacNegativeCacheTtl', 'bucketCredsFetcher', 'on',
  'authorize', 'validator', 'authorizeTimeoutMs', 'hmacFetcherTimeoutMs', 'bucketCredsFetcherTimeoutMs', 'bucketResolverTimeoutMs',
  'acceptedRegions', 'allowDotSegmentsInKeys', 'allowAnonymous', 'skipSignatureValidation', 'allowSigV2', 'maxSkewSeconds',
  'verify', 'serverName', 'virtualHostDomains', 'trustForwardedHost', 'upstreamConnectTimeoutMs',
  'upstreamIdleTimeoutMs', 'upstreamLookup', 'maxPresignedUrlUses', 'maxPresignUrlUsageAttempts', 'usageStore', 'redis', 'sharedStore', 'sharedCache', 'presignedOnStoreError', 'region',
  'iamEndpoint', 'logger',
]);

const KNOWN_BUCKET_FIELDS: ReadonlySet<string> = new Set<keyof BucketConfig>([
  'host', 'port', 'region', 'accessKey', 'secretKey', 'sessionToken', 'apiKey', 'ttlSeconds', 'ttl', 'addressingStyle', 'tls',
  'backendBucket', 'profile', 'serviceInstanceId', 'signAnonymousRequests',
]);

const silentLogger: OspLogger = { debug() {}, info() {}, warn() {}, error() {} };

const invalid = (option: string, rule: string, example?: string) =>
  new OspConfigError('ERR_OSP_INVALID_OPTION', option, rule, example);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalNumber(value: unknown, option: string, min: number, max: number, fallback: number, example: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(option, `must be a number from ${min} to ${max}`, example);
  }
  return value;
}

function optionalInteger(value: unknown, option: string, min: number, max: number, fallback: number, example: string): number {
  const n = optionalNumber(value, option, min, max, fallback, example);
  if (!Number.isInteger(n)) throw invalid(option, `must be a whole number from ${min} to ${max}`, example);
  return n;
}

function optionalBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(option, 'must be true or false', `${option.split('.').pop()}: true`);
  return value;
}

function optionalFunction<T>(value: unknown, option: string, example: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(option, 'must be a function', example);
  return value as T;
}

function nonEmptyString(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(option, 'must be a non-empty string', example);
  return value;
}

const CAPABILITY_FIELDS = ['unsignedPayloadTrailer', 'deleteObjectsRequiresContentMd5', 'verifiesPayloadHash', 'verifiesChecksumHeaders'];

function validateProfile(value: unknown, option: string): void {
  if (value === undefined || isProfileName(value)) return;
  const presets = Object.keys(BACKEND_PROFILES).join(', ');
  if (!isPlainObject(value)) throw invalid(option, `must be one of ${presets}, or capability overrides`, `profile: 'ceph-rgw'`);
  for (const [field, v] of Object.entries(value)) {
    if (field === 'preset') {
      if (!isProfileName(v)) throw invalid(`${option}.preset`, `must be one of ${presets}`, `preset: 'minio'`);
    } else if (!CAPABILITY_FIELDS.includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, `unknown capability; known: preset, ${CAPABILITY_FIELDS.join(', ')}`);
    } else if (typeof v !== 'boolean') {
      throw invalid(`${option}.${field}`, 'must be true or false', `${field}: true`);
    }
  }
}

const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

/** Validates one bucket entry and fills in its defaults. Exported for resolver results, which are checked per request. */
export function resolveBucketConfig(raw: unknown, option: string): Readonly<BucketConfig> {
  if (!isPlainObject(raw)) throw invalid(option, 'must be an object', `{ host: 's3.example.com', port: 443 }`);
  for (const field of Object.keys(raw)) {
    if (!KNOWN_BUCKET_FIELDS.has(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, `unknown field; known: ${[...KNOWN_BUCKET_FIELDS].join(', ')}`);
    }
  }
  const host = nonEmptyString(raw.host, `${option}.host`, `host: 's3.example.com'`);
  if (!HOST_PATTERN.test(host)) {
    throw invalid(`${option}.host`, 'must be a bare host name or IP without scheme, port or path', `host: 's3.example.com'`);
  }
  const port = optionalInteger(raw.port, `${option}.port`, 1, 65535, 443, 'port: 443');
  const tls = optionalBoolean(raw.tls, `${option}.tls`, port === 443);
  const ttlName = aliasOf(raw, 'ttlSeconds', 'ttl', option);
  const ttl = optionalNumber(raw[ttlName], `${option}.${ttlName}`, 0, 86_400 * 7, DEFAULT_BUCKET_TTL_SECONDS, 'ttlSeconds: 300');
  const addressingStyle = raw.addressingStyle ?? 'virtual';
  if (addressingStyle !== 'virtual' && addressingStyle !== 'path') {
    throw invalid(`${option}.addressingStyle`, `must be 'virtual' or 'path'`, `addressingStyle: 'path'`);
  }
  for (const field of ['region', 'accessKey', 'secretKey', 'sessionToken', 'apiKey', 'backendBucket', 'serviceInstanceId'] as const) {
    if (raw[field] !== undefined) nonEmptyString(raw[field], `${option}.${field}`, `${field}: '…'`);
  }
  if ((raw.accessKey === undefined) !== (raw.secretKey === undefined)) {
    throw invalid(`${option}.accessKey`, 'accessKey and secretKey go together', `{ accessKey: 'AK…', secretKey: 'SK…' }`);
  }
  if (raw.apiKey !== undefined && raw.accessKey !== undefined) {
    throw invalid(`${option}.apiKey`, 'give either apiKey or accessKey/secretKey, not both');
  }
  validateProfile(raw.profile, `${option}.profile`);
  optionalBoolean(raw.signAnonymousRequests, `${option}.signAnonymousRequests`, false);
  return Object.freeze({ ...(raw as unknown as BucketConfig), host, port, tls, ttl, ttlSeconds: ttl, addressingStyle });
}

function resolveBuckets(raw: unknown): ResolvedOptions['buckets'] {
  if (typeof raw === 'function') return raw as BucketResolver;
  if (!isPlainObject(raw)) {
    throw new OspConfigError(
      raw === undefined ? 'ERR_OSP_MISSING_OPTION' : 'ERR_OSP_INVALID_OPTION',
      'buckets',
      'must map bucket names to backends, or be a resolver function',
      `buckets: { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }`,
    );
  }
  const entries: [string, Readonly<BucketConfig>][] = [];
  for (const [name, cfg] of Object.entries(raw)) {
    const problem = bucketKeyProblem(name);
    if (problem) throw invalid(`buckets.${name}`, problem, `buckets: { 'acme-*': { host: 's3.example.com' } }`);
    const config = resolveBucketConfig(cfg, `buckets.${name}`);
    if (isBucketPattern(name) && config.backendBucket !== undefined) {
      // One backend bucket for a whole family of client names would merge tenants' data.
      throw invalid(`buckets.${name}.backendBucket`, 'is not allowed on a pattern entry: the backend bucket is the client name');
    }
    entries.push([name, config]);
  }
  return createBucketTable(entries);
}

/** Runs a policy compilation, turning its PolicyError into the config error of the option at fault. */
export function withPolicyPath<T>(compile: () => T): T {
  try {
    return compile();
  } catch (err) {
    if (err instanceof PolicyError) throw new OspConfigError('ERR_OSP_INVALID_OPTION', err.path, err.rule, err.example);
    throw err;
  }
}

function resolveKeystore(raw: unknown, named: ReadonlyMap<string, CompiledPolicy>, keyPolicies: Map<string, KeyPolicy>): Map<string, Readonly<HmacKey>> {
  const map = new Map<string, Readonly<HmacKey>>();
  if (raw === undefined) return map;
  if (!Array.isArray(raw)) throw invalid('hmacKeystore', 'must be an array of keypairs', `[{ accessKey: 'client1', secretKey: '…' }]`);
  raw.forEach((entry: unknown, i) => {
    const option = `hmacKeystore[${i}]`;
    if (!isPlainObject(entry)) throw invalid(option, 'must be an object', `{ accessKey: 'client1', secretKey: '…' }`);
    for (const field of Object.keys(entry)) {
      if (!['accessKey', 'secretKey', 'buckets', 'policies', 'tags'].includes(field)) {
        throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, 'unknown field; known: accessKey, secretKey, buckets, policies, tags');
      }
    }
    const accessKey = nonEmptyString(entry.accessKey, `${option}.accessKey`, `accessKey: 'client1'`);
    nonEmptyString(entry.secretKey, `${option}.secretKey`, `secretKey: '…'`);
    if (entry.buckets !== undefined && (!Array.isArray(entry.buckets) || !entry.buckets.every((b) => typeof b === 'string'))) {
      throw invalid(`${option}.buckets`, 'must be an array of bucket names', `buckets: ['photos']`);
    }
    if (map.has(accessKey)) throw invalid(`${option}.accessKey`, 'is listed twice');
    const keyPolicy = withPolicyPath(() => compileKeyPolicy(entry.policies, entry.tags, named, option));
    if (keyPolicy) keyPolicies.set(accessKey, keyPolicy);
    map.set(accessKey, Object.freeze({ ...(entry as unknown as HmacKey) }));
  });
  return map;
}

function resolveRedis(raw: unknown): ResolvedOptions['redis'] {
  if (raw === undefined) return undefined;
  const example = `redis: 'redis://127.0.0.1:6379'`;
  const settings = typeof raw === 'string' ? { url: raw } : raw;
  if (!isPlainObject(settings)) throw invalid('redis', 'must be a redis:// or rediss:// URL or { url, keyPrefix, commandTimeoutMs, connectTimeoutMs }', example);
  for (const field of Object.keys(settings)) {
    if (!['url', 'keyPrefix', 'commandTimeoutMs', 'connectTimeoutMs'].includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `redis.${field}`, 'unknown field; known: url, keyPrefix, commandTimeoutMs, connectTimeoutMs');
    }
  }
  const url = settings.url;
  let ok = false;
  if (typeof url === 'string') {
    try {
      const u = new URL(url);
      ok = (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
    } catch {
      ok = false;
    }
  }
  // The message never repeats the value: it may hold a password.
  if (!ok) throw invalid('redis.url', 'must be a redis:// or rediss:// URL with a host', example);
  const keyPrefix = settings.keyPrefix === undefined ? DEFAULT_REDIS_KEY_PREFIX : settings.keyPrefix;
  if (typeof keyPrefix !== 'string' || !/^[0-9A-Za-z:._-]{0,64}$/.test(keyPrefix)) throw invalid('redis.keyPrefix', 'must be up to 64 characters of [0-9A-Za-z:._-]', `keyPrefix: 'osp-prod:'`);
  return Object.freeze({
    url: url as string,
    keyPrefix,
    commandTimeoutMs: optionalInteger(settings.commandTimeoutMs, 'redis.commandTimeoutMs', 10, 60_000, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 'commandTimeoutMs: 1000'),
    connectTimeoutMs: optionalInteger(settings.connectTimeoutMs, 'redis.connectTimeoutMs', 10, 60_000, DEFAULT_REDIS_CONNECT_TIMEOUT_MS, 'connectTimeoutMs: 2000'),
  });
}

function resolveSharedCache(raw: unknown, hasStore: boolean): { decisions: boolean; secrets: boolean; key?: Buffer } {
  if (raw === undefined) return { decisions: false, secrets: false };
  if (!isPlainObject(raw)) throw invalid('sharedCache', 'must be an object', 'sharedCache: { decisions: true }');
  for (const field of Object.keys(raw)) {
    if (!['decisions', 'frontendSecrets', 'encryptionKey'].includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `sharedCache.${field}`, 'unknown field; known: decisions, frontendSecrets, encryptionKey');
    }
  }
  const decisions = optionalBoolean(raw.decisions, 'sharedCache.decisions', false);
  const secrets = optionalBoolean(raw.frontendSecrets, 'sharedCache.frontendSecrets', false);
  let key: Buffer | undefined;
  if (raw.encryptionKey !== undefined) {
    key = parseEncryptionKey(raw.encryptionKey);
    if (!key) throw invalid('sharedCache.encryptionKey', 'must be 64 hex characters or base64 of 32 random bytes', `encryptionKey: process.env.OSP_CACHE_KEY /* openssl rand -hex 32 */`);
  }
  if (secrets && !key) throw invalid('sharedCache.encryptionKey', 'is required with frontendSecrets: true (secrets are never stored in plain text)');
  if ((decisions || secrets) && !hasStore) throw invalid('sharedCache', 'needs a shared store: set redis (or sharedStore)', `redis: 'redis://127.0.0.1:6379'`);
  return { decisions, secrets, key };
}

/**
 * Which of two spellings of one option is given (the seed's names stay accepted as aliases):
 * `preferred` unless only `alias` is set. Both at once is a config error.
 */
function aliasOf(raw: Record<string, unknown>, preferred: string, alias: string, parent: string): string {
  const at = (name: string) => (parent ? `${parent}.${name}` : name);
  if (raw[preferred] !== undefined && raw[alias] !== undefined) throw invalid(at(alias), `is the former name of ${preferred}: give one of them`);
  return raw[alias] !== undefined ? alias : preferred;
}

const EVENT_HOOKS: readonly (keyof OspEventHooks)[] = ['error', 'backendResponse', 'backendFailure', 'presignedUse', 'presignedRejected', 'iamTokenRefresh', 'sharedStoreStatus'];

function resolveEventHooks(raw: unknown): Readonly<OspEventHooks> {
  if (raw === undefined) return Object.freeze({});
  if (!isPlainObject(raw)) throw invalid('on', 'must be an object of hook functions', 'on: { error: (req, err) => metrics.denied.inc() }');
  for (const [name, hook] of Object.entries(raw)) {
    if (!(EVENT_HOOKS as readonly string[]).includes(name)) throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `on.${name}`, `unknown hook; known: ${EVENT_HOOKS.join(', ')}`);
    if (hook !== undefined && typeof hook !== 'function') throw invalid(`on.${name}`, 'must be a function', `${name}: () => {}`);
  }
  return Object.freeze({ ...(raw as OspEventHooks) });
}

function resolveRegions(raw: unknown): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((r) => typeof r === 'string' && /^[a-z0-9-]{1,64}$/.test(r))) {
    throw invalid('acceptedRegions', 'must be a non-empty array of region names', `acceptedRegions: ['us-east-1']`);
  }
  return Object.freeze([...raw] as string[]);
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
    maxSkewMs: optionalInteger(o.maxSkewSeconds, 'maxSkewSeconds', 1, 86_400, DEFAULT_MAX_SKEW_SECONDS, 'maxSkewSeconds: 900') * 1000,
    verify: optionalBoolean(o.verify, 'verify', true),
    serverName: o.serverName as string | undefined,
    virtualHostDomains: Object.freeze(((domains as string[] | undefined) ?? []).map((d) => d.toLowerCase())),
    trustForwardedHost: optionalBoolean(o.trustForwardedHost, 'trustForwardedHost', false),
    upstreamConnectTimeoutMs: optionalInteger(o.upstreamConnectTimeoutMs, 'upstreamConnectTimeoutMs', 1, 600_000, DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS, 'upstreamConnectTimeoutMs: 10000'),
    upstreamIdleTimeoutMs: optionalInteger(o.upstreamIdleTimeoutMs, 'upstreamIdleTimeoutMs', 1, 86_400_000, DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS, 'upstreamIdleTimeoutMs: 300000'),
    upstreamLookup: optionalFunction(o.upstreamLookup, 'upstreamLookup', 'upstreamLookup: dns.lookup'),
    maxPresignUrlUsageAttempts: optionalInteger(o[usesName], usesName, 1, 1_000_000, DEFAULT_MAX_PRESIGN_URL_USAGE_ATTEMPTS, 'maxPresignedUrlUses: 3'),
    on: resolveEventHooks(o.on),
    usageStore,
    redis,
    sharedStore,
    sharedCacheDecisions: sharedCache.decisions,
    sharedCacheSecrets: sharedCache.secrets,
    sharedCacheKey: sharedCache.key,
    presignedOnStoreError,
    region: o.region === undefined ? DEFAULT_REGION : nonEmptyString(o.region, 'region', `region: 'eu-de'`),
    iamEndpoint: iamEndpoint.replace(/\/+$/, ''),
    logger: logger ?? silentLogger,
  };
  if (resolved.hmacKeystore.size === 0 && !resolved.hmacFetcher && !resolved.skipSignatureValidation && !resolved.allowAnonymous) {
    throw new OspConfigError('ERR_OSP_MISSING_OPTION', 'hmacKeystore', 'give frontend keys (hmacKeystore or hmacFetcher) so clients can sign requests', `hmacKeystore: [{ accessKey: 'client1', secretKey: '…' }]`);
  }
  return Object.freeze(resolved);
}
