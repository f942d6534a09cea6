/**
 * The one mapping of upstream failures (a connection that did not connect, a TLS check that
 * failed, a socket that went silent) to what the proxy says about them. Every path to a backend
 * classifies its failures here; each then phrases the answer its caller needs: the client's 502/504
 * S3 error ({@link backendFailureToS3Error}), a 503 for an incomplete ListBuckets, a 503
 * TokenServiceUnavailable for IAM. Nothing of the request (URL, headers, body) is ever part of it.
 */
import { OspError } from '../errors';
import { UPSTREAM_TIMEOUT_CODE } from './agent';

/** What went wrong on the way to an upstream server. */
export type UpstreamFailureKind = 'timeout' | 'tls' | 'network';

/** Classifies a connection-level error by its `code` (Node's, or the agent's {@link UPSTREAM_TIMEOUT_CODE}). */
export function upstreamFailureKind(err: NodeJS.ErrnoException): UpstreamFailureKind {
  const code = typeof err.code === 'string' ? err.code : '';
  if (code === UPSTREAM_TIMEOUT_CODE || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return 'timeout';
  // OpenSSL's verification codes (https://docs.openssl.org/3.0/man1/openssl-verify/#diagnostics), Node's ERR_TLS_*.
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('UNABLE_TO_') || code === 'EPROTO') return 'tls';
  return 'network';
}

/**
 * A short reason safe for logs and error messages: the error's code only (ECONNREFUSED,
 * CERT_HAS_EXPIRED, …), never its message, which for some TLS failures is long and for others
 * could echo what was sent.
 */
export function upstreamFailureReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === UPSTREAM_TIMEOUT_CODE) return 'timed out';
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'network error';
}

/** Maps a connection-level failure to the S3 error the client sees. Never leaks internals. */
export function backendFailureToS3Error(err: NodeJS.ErrnoException): OspError {
  if (err instanceof OspError) return err; // a body stage failed (signature, checksum, length)
  switch (upstreamFailureKind(err)) {
    case 'timeout':
      return new OspError(504, 'BackendTimeout', 'The storage backend did not answer in time.');
    case 'tls':
      return new OspError(502, 'BackendUnreachable', 'The storage backend could not be reached securely (TLS error).');
    default:
      return new OspError(502, 'BackendUnreachable', 'The storage backend could not be reached.');
  }
}
