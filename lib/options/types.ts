/** The public options types (`OspOptions` and what it is made of) and their resolved form. */
import type { Request, Response } from 'express';
import type { LookupFunction } from 'node:net';
import { type OspError } from '../errors';
import type { UsageCounterStore } from '../cache/usage-store';
import type { SharedStateStore } from '../cache/shared-store';
import type { RedisStoreOptions } from '../cache/redis-store';
import { type BucketTable } from '../s3/bucket-table';
import { type BackendProfileOption } from '../backends/profiles';
import type { PolicyDocument } from '../policy/types';
import type { CompiledPolicy } from '../policy/compile';
import { type KeyPolicy } from '../policy/key-policy';

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
   * IBM COS service instance id, sent as `ibm-service-instance-id` when none of the client's is
   * forwarded (COS needs it to create and list buckets; the `ibm-cos` profile forwards a signed one).
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
   * may read (and, if `authorize` allows it, write). It covers plain requests and unsigned POST
   * forms; never ListBuckets or `response-*` overrides, which anonymous callers cannot use.
   * @default false
   */
  signAnonymousRequests?: boolean;
}

/**
 * Observation hooks (`options.on`): metrics, audit logs. Each must not throw (a throw is logged once
 * and ignored) and should return quickly: they run on the request path. The only way to hook into
 * the middleware: `ospMiddleware({ ...options, on: { backendResponse(req, status, ms) {…} } })`;
 * with metrics, `on: [ospMetrics(registry), { error(req, err) {…} }]`.
 */
export interface OspEventHooks {
  /** A request entered the middleware, before any stage (metrics: request count, duration). */
  request?(req: Request, res: Response): void;
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
  /** A NEW presigned URL of this access key was refused (503 SlowDown): the key holds its whole share of the usage store. */
  presignedShareExhausted?(accessKey: string): void;
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
export type BucketResolver = (bucket: string, ctx: BucketResolverContext) => BucketConfig | undefined | Promise<BucketConfig | undefined>;

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
  /**
   * The request asks to bypass governance-mode Object Lock retention: `x-amz-bypass-governance-retention`
   * is present (header, or query parameter of a presigned URL) with any value but `false`. The
   * backend checks it against the proxy's credentials, not the caller's: a callback that allows
   * `DeleteObject`, `DeleteObjects` or `PutObjectRetention` should refuse it unless the caller may
   * delete or shorten locked versions (key policies require `s3:BypassGovernanceRetention`).
   * Decisions are cached per `x-amz-*` headers, so one made without it never serves one with it.
   */
  bypassGovernanceRetention: boolean;
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
  bucketCredsFetcher?: (token: string | null, bucket: string) => string | BackendHmacCredentials | Promise<string | BackendHmacCredentials>;
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
  /**
   * Accept requests (and browser POST forms) without any signature; `authorize` then receives
   * `null` as token. They go to the backend unsigned, so its ACLs and bucket policies decide, unless
   * the bucket sets `signAnonymousRequests`; no backend credentials are looked up for them. As S3,
   * anonymous ListBuckets is refused (403 AccessDenied) and so are `response-*` query overrides
   * (400 InvalidRequest). @default false
   */
  allowAnonymous?: boolean;
  /** DEVELOPMENT ONLY: skip SigV4 verification entirely. Logs a loud warning. @default false */
  skipSignatureValidation?: boolean;
  /**
   * Accept SigV2 (`Authorization: AWS key:signature` and `?AWSAccessKeyId=…&Expires=…&Signature=…`
   * presigned URLs, what aws-cli v1, boto3 and s3cmd mint by default). `false` answers them with
   * 400 InvalidRequest and a hint to switch to SigV4. @default true
   */
  allowSigV2?: boolean;
  /**
   * Longest lifetime, in seconds from now, a SigV2 presigned URL may have: its `Expires` has no
   * ceiling of its own (SigV4's `X-Amz-Expires` has 604800), and each URL holds a usage-counter
   * entry until it expires. An `Expires` further away is refused with 400
   * AuthorizationQueryParametersError. @default 604800 (7 days, as SigV4)
   */
  maxSigV2PresignedLifetimeSeconds?: number;
  /** Maximum clock skew between client and proxy, in seconds. @default 900 */
  maxSkewSeconds?: number;
  /** Verify backend TLS certificates (and the IAM endpoint's). @default true */
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
   * Custom DNS lookup for every upstream connection, backends and the IAM endpoint (`dns.lookup`
   * signature), e.g. for split-horizon DNS or to reach virtual-hosted backend names that only exist
   * inside your network.
   */
  upstreamLookup?: LookupFunction;
  /** How many times one presigned URL may be used (successful, verified uses). @default 3 */
  maxPresignedUrlUses?: number;
  /** @deprecated the seed's name of `maxPresignedUrlUses`, still accepted. */
  maxPresignUrlUsageAttempts?: number;
  /**
   * Observation hooks, named after the moment they report (as http-proxy-middleware's `on`). They
   * must not throw; one that does is logged once and ignored. Several sets (e.g. `ospMetrics`'
   * and your own) go in an array; each hook of each set is called, in order. Also honoured by the
   * stage factories used on their own. `update()` replaces them with the new options' `on`.
   */
  on?: OspEventHooks | readonly OspEventHooks[];
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
  /**
   * Directory of the temporary files that browser POST uploads are spooled to for backends that
   * need a Content-Length (Ceph RGW, AWS, backends without a profile): an existing directory on a
   * volume with room for the largest upload you allow. A full one answers 503 ServiceUnavailable.
   * @default os.tmpdir()
   */
  postSpoolDirectory?: string;
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
  readonly maxSigV2PresignedLifetimeSeconds: number;
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
  readonly postSpoolDirectory: string;
  readonly logger: OspLogger;
}
