/**
 * Where a request goes on the backend: host, port, Host header and path, for virtual-hosted
 * (`bucket.host/key`) or path-style (`host/bucket/key`) backends. Pure.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
import { OspError } from '../errors';
import { uriEncode } from '../sigv4/uri-encode';
import { hasDotSegment } from './parse-request';

export interface BackendAddress {
  protocol: 'http:' | 'https:';
  /** Name to connect to. */
  hostname: string;
  port: number;
  /** Host header value: `hostname`, with `:port` unless it is the scheme's default. */
  hostHeader: string;
  /** Percent-encoded path in S3 canonical encoding (what is sent is exactly what is signed). */
  path: string;
}

export interface RewriteInput {
  host: string;
  port: number;
  tls: boolean;
  addressingStyle: 'virtual' | 'path';
  /** Bucket name on the backend. */
  backendBucket: string;
  /** Decoded key, or undefined for bucket-level requests. */
  key: string | undefined;
  /** `key` already in AWS UriEncode form (`/` kept), e.g. the request record's `rawKey`: not encoded again. */
  rawKey?: string;
}

/**
 * Removes dot segments as RFC 3986 section 5.2.4 does (what a normalizing hop would do to a path).
 * Exported for tests.
 */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 1) out.pop();
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return out.join('/');
}

/**
 * Computes the backend address. The decoded key is encoded once with AWS UriEncode (`/` kept),
 * never double-encoded, and empty segments (`a//b`) are kept: S3 keys are opaque strings, and
 * normalizing them would silently address another object.
 *
 * Keys with dot segments only arrive here when `allowDotSegmentsInKeys` is on. On a path-style
 * backend the bucket is part of the path, so a key whose dot segments would climb out of it once a
 * later hop normalizes the path is refused even then (issue [9]).
 *
 * @throws OspError 400 InvalidArgument for such a key.
 */
export function rewriteToBackend(input: RewriteInput): BackendAddress {
  const protocol = input.tls ? 'https:' : 'http:';
  const defaultPort = input.tls ? 443 : 80;
  const virtual = input.addressingStyle === 'virtual';
  const hostname = virtual ? `${input.backendBucket}.${input.host}` : input.host;
  const hostHeader = input.port === defaultPort ? hostname : `${hostname}:${input.port}`;
  const keyPath = input.key === undefined ? '' : `/${input.rawKey ?? uriEncode(input.key, false)}`;
  let path: string;
  if (virtual) {
    path = keyPath || '/';
  } else {
    const bucketPath = `/${uriEncode(input.backendBucket, true)}`;
    path = bucketPath + keyPath;
    if (input.key !== undefined && hasDotSegment(input.key)) {
      const normalized = removeDotSegments(path);
      if (normalized !== bucketPath && !normalized.startsWith(`${bucketPath}/`)) {
        throw new OspError(400, 'InvalidArgument', 'This key would leave its bucket on a path-style backend.', { ArgumentName: 'key' });
      }
    }
  }
  return { protocol, hostname, port: input.port, hostHeader, path };
}
