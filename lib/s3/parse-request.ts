/**
 * Finds the bucket and key of an S3 request, path-style (`/bucket/key`) or virtual-hosted
 * (`Host: bucket.s3.example.com`, `/key`). Pure: no Express types.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
import { s3Errors } from '../errors';

export interface ParsedS3Target {
  /** Bucket name as the client addressed it; undefined for service-level requests (`GET /`). */
  bucket?: string;
  /**
   * The key exactly as it appeared on the wire (still percent-encoded, no leading slash);
   * undefined when the request addresses the bucket itself. `''` for `/bucket/` (trailing slash).
   */
  rawKey?: string;
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

/**
 * Parses the path the proxy routes on (the part after the mount point) and the Host header.
 *
 * @param path - request path without query, percent-encoded as received.
 * @param host - the Host (or HTTP/2 `:authority`) the client used.
 * @param virtualHostDomains - frontend domains for virtual-hosted requests, lowercase.
 */
export function parseS3Target(path: string, host: string | undefined, virtualHostDomains: readonly string[]): ParsedS3Target {
  if (!path.startsWith('/')) throw s3Errors.invalidUri();
  const hostBucket = bucketFromHost(host, virtualHostDomains);
  if (hostBucket !== undefined) {
    return { bucket: hostBucket, rawKey: path.length > 1 ? path.slice(1) : undefined, style: 'virtual' };
  }
  if (path === '/') return { style: 'service' };
  const slash = path.indexOf('/', 1);
  if (slash === -1) return { bucket: decodeBucket(path.slice(1)), style: 'path' };
  return { bucket: decodeBucket(path.slice(1, slash)), rawKey: path.slice(slash + 1), style: 'path' };
}
