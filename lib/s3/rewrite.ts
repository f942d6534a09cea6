/**
 * Where a request goes on the backend: host, port, Host header and path, for virtual-hosted
 * (`bucket.host/key`) or path-style (`host/bucket/key`) backends. Pure.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
import { canonicalizePath } from '../sigv4/canonical-request';

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
  /** Key as received, percent-encoded, or undefined for bucket-level requests. */
  rawKey: string | undefined;
}

/**
 * Computes the backend address. The key is decoded once and re-encoded canonically
 * (`canonicalizePath`), never double-encoded, and empty segments (`a//b`) are kept: S3 keys are
 * opaque strings, and normalizing them would silently address another object.
 */
export function rewriteToBackend(input: RewriteInput): BackendAddress {
  const protocol = input.tls ? 'https:' : 'http:';
  const defaultPort = input.tls ? 443 : 80;
  const virtual = input.addressingStyle === 'virtual';
  const hostname = virtual ? `${input.backendBucket}.${input.host}` : input.host;
  const hostHeader = input.port === defaultPort ? hostname : `${hostname}:${input.port}`;
  const keyPath = input.rawKey === undefined ? '' : canonicalizePath(`/${input.rawKey}`);
  let path: string;
  if (virtual) {
    path = keyPath || '/';
  } else {
    const bucketPath = `/${encodeURIComponent(input.backendBucket)}`;
    path = bucketPath + keyPath;
  }
  return { protocol, hostname, port: input.port, hostHeader, path };
}
