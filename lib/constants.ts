/** Header names, limits and defaults shared by the proxy stages. */

/** AWS allows a 15-minute clock skew between client and server. */
export const DEFAULT_MAX_SKEW_SECONDS = 900;
/** Longest presigned URL lifetime: SigV4's `X-Amz-Expires` ceiling (7 days), also applied to SigV2's `Expires`. */
export const DEFAULT_MAX_PRESIGNED_LIFETIME_SECONDS = 604_800;

/** Default cache TTL (seconds) for a bucket's credentials and authorization decisions. */
export const DEFAULT_BUCKET_TTL_SECONDS = 300;

/** Default TTL (seconds) for frontend secrets returned by `hmacFetcher`. */
export const DEFAULT_HMAC_CACHE_TTL_SECONDS = 300;

/** Unknown access keys are remembered this long so a flood of bad keys does not hammer the fetcher. */
export const DEFAULT_HMAC_NEGATIVE_CACHE_TTL_SECONDS = 10;

export const DEFAULT_AUTHORIZE_TIMEOUT_MS = 5_000;
/** `hmacFetcher`, `bucketCredsFetcher` and a `buckets` resolver: as long as `authorize` may take. */
export const DEFAULT_FETCHER_TIMEOUT_MS = 5_000;
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_MAX_PRESIGN_URL_USAGE_ATTEMPTS = 3;

/**
 * The query parameters of GetObject/HeadObject that override response headers (`response-*`).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
 */
export const RESPONSE_OVERRIDE_PARAMS: readonly string[] = [
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
];

/** Payload hash placeholders defined by SigV4 for S3. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/**
 * Request headers never forwarded upstream: hop-by-hop headers (RFC 9110 §7.6.1), the client's
 * credentials (we re-sign), and `expect` (we answer 100-continue ourselves: http-proxy skips its
 * `proxyReq` event when an Expect header is present, which would skip re-signing).
 */
export const DROPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'x-amz-security-token',
  'x-amz-date',
  'expect',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
]);

/** Maximum length of an S3 object key in bytes, per the S3 user guide. */
export const MAX_KEY_BYTES = 1024;

/** Prefix of the Redis keys and pub/sub channel of the shared store. */
export const DEFAULT_REDIS_KEY_PREFIX = 'osp:';
/** Milliseconds a Redis command may take before it fails. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1000;
/** Milliseconds to establish a Redis connection. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 2000;
