/**
 * Finds the bucket and key of an S3 request, path-style (`/bucket/key`) or virtual-hosted
 * (`Host: bucket.s3.example.com`, `/key`). Pure: no Express types.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
import { OspError, s3Errors } from '../errors';
import { MAX_KEY_BYTES } from '../constants';
import { decodeUriComponentStrict } from '../sigv4/uri-encode';

export interface ParsedS3Target {
  /** Bucket name as the client addressed it; undefined for service-level requests (`GET /`). */
  bucket?: string;
  /**
   * The decoded object key (no leading slash); undefined when the request addresses the bucket
   * itself, `''` for `/bucket/` (trailing slash). Decoded once here: everything downstream
   * (authorization, the upstream path) uses this value, never the wire form.
   */
  key?: string;
  /** How the client addressed the bucket. */
  style: 'path' | 'virtual' | 'service';
}

/** Splits a request target into its path and query (without `?`). */
export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** Removes an optional `:port` from a Host header value (IPv6 literals keep their brackets). */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * Returns the bucket named by a virtual-hosted Host header, or undefined when the host is not
 * `<bucket>.<one of domains>`.
 */
export function bucketFromHost(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host || domains.length === 0) return undefined;
  const name = stripPort(host).toLowerCase();
  for (const domain of domains) {
    if (name.length > domain.length + 1 && name.endsWith(domain) && name[name.length - domain.length - 1] === '.') {
      return name.slice(0, name.length - domain.length - 1);
    }
  }
  return undefined;
}

function decodeBucket(raw: string): string {
  let bucket: string;
  try {
    bucket = decodeURIComponent(raw);
  } catch {
    throw s3Errors.invalidUri();
  }
  // Bucket names never contain these; reject early instead of routing something odd.
  if (bucket.includes('/') || bucket.includes('\\') || bucket === '.' || bucket === '..') {
    throw s3Errors.invalidUri('The specified bucket is not valid.');
  }
  return bucket;
}

/** Options of {@link parseS3Target}. */
export interface ParseTargetOptions {
  /** Frontend domains for virtual-hosted requests, lowercase. */
  virtualHostDomains: readonly string[];
  /** Accept keys with `.` or `..` segments (see {@link checkKey}). @default false */
  allowDotSegmentsInKeys?: boolean;
}

/** Whether a decoded key has a `.` or `..` segment (`a/../b`, `./x`, `..`). */
export function hasDotSegment(key: string): boolean {
  // Scans the dots in place (most keys have one, in an extension): no split, no array per request.
  for (let i = key.indexOf('.'); i !== -1; i = key.indexOf('.', i + 1)) {
    if (i !== 0 && key.charCodeAt(i - 1) !== SLASH) continue; // not at the start of a segment
    let end = i + 1;
    if (key.charCodeAt(end) === DOT) end++; // `..`
    if (end === key.length || key.charCodeAt(end) === SLASH) return true;
  }
  return false;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Checks a decoded key: at most 1024 UTF-8 bytes, and (unless allowed) no `.`/`..` segments.
 * A key such as `x/../../other-bucket/secret` is forwarded to a path-style backend as
 * `/bucket/x/../../other-bucket/secret`: any hop that resolves dot segments (a front proxy, a
 * backend, RFC 3986 section 5.2.4) then serves another bucket with this bucket's credentials.
 * S3 stores such keys literally; MinIO refuses them. The proxy refuses them by default (issue [9]).
 *
 * @throws OspError 400 InvalidArgument (dot segment), 400 KeyTooLongError.
 */
export function checkKey(key: string, allowDotSegments: boolean): void {
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new OspError(400, 'KeyTooLongError', 'Your key is too long.', { MaxSizeAllowed: String(MAX_KEY_BYTES) });
  }
  if (!allowDotSegments && hasDotSegment(key)) {
    throw new OspError(400, 'InvalidArgument', 'Object keys with "." or ".." path segments are not accepted by this proxy.', { ArgumentName: 'key' });
  }
}

function decodeKey(raw: string, allowDotSegments: boolean): string {
  const key = decodeUriComponentStrict(raw);
  checkKey(key, allowDotSegments);
  return key;
}

/**
 * Parses the path the proxy routes on (the part after the mount point) and the Host header.
 *
 * @param path - request path without query, percent-encoded as received.
 * @param host - the Host (or HTTP/2 `:authority`) the client used.
 * @throws OspError 400 InvalidURI (not an origin-form path, bad percent-encoding, bad bucket),
 *   400 InvalidArgument / KeyTooLongError (see {@link checkKey}).
 */
export function parseS3Target(path: string, host: string | undefined, options: ParseTargetOptions): ParsedS3Target {
  // Absolute-form (`GET http://other/…`) and asterisk-form targets are not S3 requests.
  if (!path.startsWith('/')) throw s3Errors.invalidUri();
  const dots = options.allowDotSegmentsInKeys === true;
  const hostBucket = bucketFromHost(host, options.virtualHostDomains);
  if (hostBucket !== undefined) {
    return { bucket: hostBucket, key: path.length > 1 ? decodeKey(path.slice(1), dots) : undefined, style: 'virtual' };
  }
  if (path === '/') return { style: 'service' };
  const slash = path.indexOf('/', 1);
  if (slash === -1) return { bucket: decodeBucket(path.slice(1)), style: 'path' };
  return { bucket: decodeBucket(path.slice(1, slash)), key: decodeKey(path.slice(slash + 1), dots), style: 'path' };
}
