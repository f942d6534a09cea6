/**
 * Which of the client's request headers reach the backend. Pure; the one place for the rule:
 * every header that can change what the backend does is either signed by the client (and
 * verified) and visible to `authorize`, or dropped. Four classes:
 *
 * - `amz`: `x-amz-*`, forwarded and signed upstream. `verifySignature` refuses one the client did
 *   not sign (SigV2 signs every `x-amz-*` by construction).
 * - `standard`: the other headers of the S3 API (Content-*, conditionals, Range, …), forwarded as
 *   S3 itself accepts them, signed or not. None grants more than the signed request: they
 *   describe the body or make the request fail (conditionals) or return less (Range).
 * - `vendor`: anything else. Dropped, unless the bucket's profile lists it in `forwardHeaders`
 *   and the client signed it (SigV4), so a holder of a presigned URL cannot add it.
 * - `drop`: never forwarded, whatever the profile: hop-by-hop and credentials (the proxy re-signs),
 *   client-address headers (backends and bucket policies may trust them: RGW's
 *   `rgw remote addr param`, `aws:SourceIp`), other auth schemes (Swift's `X-Auth-Token`), and
 *   names with `_` (CGI-style servers such as RGW and Swift map `_` and `-` to the same variable,
 *   so `x_amz_acl` would act as `x-amz-acl` without being checked as one; AWS treats it as an
 *   unknown header, which dropping reproduces). User metadata `x-amz-meta-*` may contain `_`.
 *
 * Vendor-internal headers (MinIO `x-minio-internal-*` and replication headers, CVE-2026-34204;
 * Ceph RGW `x-rgw-*`; Swift `x-backend-*` and `x-*-sysmeta-*`; IBM COS `ibm-*`) are `vendor`:
 * dropped unless a profile allows them; the internal ones cannot be allowed at all.
 */
import { DROPPED_REQUEST_HEADERS } from '../constants';

/** How one request header is treated. */
export type ForwardedHeaderClass = 'amz' | 'standard' | 'vendor' | 'drop';

/**
 * Headers of the S3 REST API besides `x-amz-*`, and protocol headers the backend needs.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTCommonRequestHeaders.html and the request
 * syntax of each operation (PutObject, GetObject, CopyObject, …).
 */
export const STANDARD_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'content-md5',
  'content-encoding',
  'content-language',
  'content-disposition',
  'cache-control',
  'expires',
  'date',
  'transfer-encoding',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'range',
  'origin',
  'access-control-request-method',
  'access-control-request-headers',
  'user-agent',
  'accept',
  'accept-encoding',
  'referer',
  // W3C trace context: observability only (the proxy sets its own when tracing is on).
  'traceparent',
  'tracestate',
]);

/**
 * Never forwarded: who the client is (a backend or a bucket policy may trust these for the
 * source address or scheme), and other authentication schemes of S3-compatible servers (Swift's
 * tempauth/keystone tokens would authenticate the request as someone else).
 */
export const CLIENT_IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-real-ip',
  'via',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'client-ip',
  'x-original-forwarded-for',
  'cookie',
  'x-auth-token',
  'x-storage-token',
  'x-auth-user',
  'x-auth-key',
  'x-storage-user',
  'x-storage-pass',
  'x-service-token',
  'x-subject-token',
]);

/**
 * Prefixes a backend reserves for its own components; a profile cannot allow them. Sources: MinIO
 * `internal/http/headers.go` (`X-Minio-Internal-*`, the `X-Minio-Source-*` and
 * `X-Minio-Replication-*` replication headers, CVE-2026-34204; its client headers such as
 * `x-minio-force-delete` and `x-minio-extract` are ordinary `vendor` headers), Swift `swift/common/request_helpers.py` (`X-Backend-*`, sysmeta, transient
 * sysmeta; its gatekeeper middleware strips them from clients, s3api deployments may not run it).
 */
export const INTERNAL_PREFIXES: readonly string[] = [
  'x-forwarded-',
  'x-minio-internal-',
  'x-minio-source-',
  'x-minio-replication-',
  'x-minio-check-replication-',
  'x-minio-from-peer',
  'x-minio-tagging-proxied',
  'x-minio-write-quorum',
  'x-minio-read-quorum',
  'x-rustfs-internal-',
  'x-backend-',
  'x-object-sysmeta-',
  'x-container-sysmeta-',
  'x-account-sysmeta-',
  'x-object-transient-sysmeta-',
];

/** The class of one lowercase header name. */
export function classifyRequestHeader(name: string): ForwardedHeaderClass {
  if (DROPPED_REQUEST_HEADERS.has(name) || CLIENT_IDENTITY_HEADERS.has(name) || name.charCodeAt(0) === 0x3a /* HTTP/2 pseudo-header */) return 'drop';
  if (name.includes('_') && !name.startsWith('x-amz-meta-')) return 'drop';
  if (name.startsWith('x-amz-')) return 'amz';
  if (STANDARD_HEADERS.has(name)) return 'standard';
  if (INTERNAL_PREFIXES.some((p) => name.startsWith(p))) return 'drop';
  return 'vendor';
}

/** Whether `name` matches one of `patterns` (exact lowercase names, or prefixes ending in `*`). */
export function matchesHeaderPattern(name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p) return true;
  }
  return false;
}

/**
 * Why `pattern` cannot be a `forwardHeaders` entry, or undefined when it can: it must be a
 * lowercase header name (or prefix ending in `*`) of class `vendor`.
 */
export function forwardHeaderPatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || !/^[a-z0-9!#$%&'+.^`|~-]+\*?$/.test(pattern)) {
    return 'must be a lowercase header name, or a prefix ending in * (no _)';
  }
  const name = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if (name.length < 2) return 'is too broad: name a vendor prefix such as x-minio-extract or x-rgw-*';
  // A broad prefix (`x-minio-*`) is fine: the internal headers under it stay dropped.
  if (INTERNAL_PREFIXES.some((p) => name.startsWith(p))) return 'names headers a backend reserves for its own components; they are never forwarded';
  const cls = classifyRequestHeader(name);
  if (cls === 'drop') return 'names a header the proxy never forwards (credentials, client address, hop-by-hop)';
  if (cls === 'amz' || (!pattern.endsWith('*') && cls === 'standard') || 'x-amz-'.startsWith(name)) return 'names x-amz-* or standard S3 headers, which are forwarded anyway';
  return undefined;
}

/** Whether S3 reads `x-amz-bypass-governance-retention` on this operation. */
export const GOVERNANCE_BYPASS_OPERATIONS: ReadonlySet<string> = new Set(['DeleteObject', 'DeleteObjects', 'PutObjectRetention']);

/**
 * Whether the request asks to bypass governance-mode Object Lock retention: the header (or, in a
 * presigned URL, the query parameter) `x-amz-bypass-governance-retention` is present with any
 * value but `false`. S3 and RGW act on `true` (case-insensitive); anything else but `false` counts
 * too, so a value the proxy reads one way and a backend another cannot slip through (fail closed).
 * Repeated headers arrive joined (`true, false`), which counts.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html#API_DeleteObject_RequestSyntax
 */
export function requestsGovernanceBypass(headers: Readonly<Record<string, string | string[] | undefined>>, query: Readonly<Record<string, string>>): boolean {
  const header = headers['x-amz-bypass-governance-retention'];
  const values: string[] = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const name in query) if (name.toLowerCase() === 'x-amz-bypass-governance-retention') values.push(query[name] as string);
  return values.some((v) => v.trim().toLowerCase() !== 'false');
}

/**
 * Whether the client's header `name` (lowercase) goes to the backend.
 * @param allowed - the bucket profile's `forwardHeaders` (vendor headers it may receive).
 * @param signedByClient - whether the client's verified signature covers the header.
 */
export function forwardsRequestHeader(name: string, allowed: readonly string[], signedByClient: (name: string) => boolean): boolean {
  const cls = classifyRequestHeader(name);
  if (cls === 'amz' || cls === 'standard') return true;
  return cls === 'vendor' && matchesHeaderPattern(name, allowed) && signedByClient(name);
}
