/**
 * Classification of the `x-amz-content-sha256` header: which of the S3 upload body modes a request
 * uses, and parsing of `x-amz-trailer`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { OspError } from '../errors';

/** `x-amz-content-sha256` values. */
import { UNSIGNED_PAYLOAD } from '../constants';
export { UNSIGNED_PAYLOAD };
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const STREAMING_ECDSA_PAYLOAD = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD';
const STREAMING_ECDSA_PAYLOAD_TRAILER = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER';

/** The aws-chunked body modes. */
export type StreamingPayloadKind = 'streaming-signed' | 'streaming-signed-trailer' | 'streaming-unsigned-trailer';

/** How the request body is sent, from `x-amz-content-sha256`. */
export type PayloadMode =
  /** Mode 1: plain body whose lowercase hex SHA-256 is `sha256`. */
  | { readonly kind: 'sha256'; readonly sha256: string }
  /** Mode 2: plain body, not hashed. */
  | { readonly kind: 'unsigned' }
  /** Modes 3 to 5: `Content-Encoding: aws-chunked` framing. */
  | { readonly kind: StreamingPayloadKind };

/** Whether the mode frames the body as aws-chunked. */
export function isStreamingPayload(mode: PayloadMode): mode is { readonly kind: StreamingPayloadKind } {
  return mode.kind.startsWith('streaming-');
}

const SHA256_HEX_RE = /^[0-9a-fA-F]{64}$/;

/**
 * Parses `x-amz-content-sha256`.
 *
 * @throws OspError `400 InvalidArgument` for an unknown value, `501 NotImplemented` for the SigV4a
 *   (ECDSA) streaming modes, `400 InvalidRequest` when the header is missing.
 */
export function parsePayloadMode(value: string | undefined): PayloadMode {
  if (value === undefined || value === '') {
    throw new OspError(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED_PAYLOAD:
      return { kind: 'streaming-signed' };
    case STREAMING_SIGNED_PAYLOAD_TRAILER:
      return { kind: 'streaming-signed-trailer' };
    case STREAMING_UNSIGNED_PAYLOAD_TRAILER:
      return { kind: 'streaming-unsigned-trailer' };
    case STREAMING_ECDSA_PAYLOAD:
    case STREAMING_ECDSA_PAYLOAD_TRAILER:
      throw new OspError(501, 'NotImplemented', 'SigV4a (ECDSA) streaming uploads are not supported.');
  }
  if (SHA256_HEX_RE.test(value)) return { kind: 'sha256', sha256: value.toLowerCase() };
  throw new OspError(
    400,
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' + 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value.slice(0, 128) },
  );
}

/** The `x-amz-content-sha256` value of an aws-chunked mode. */
export function streamingPayloadValue(kind: StreamingPayloadKind): string {
  switch (kind) {
    case 'streaming-signed':
      return STREAMING_SIGNED_PAYLOAD;
    case 'streaming-signed-trailer':
      return STREAMING_SIGNED_PAYLOAD_TRAILER;
    case 'streaming-unsigned-trailer':
      return STREAMING_UNSIGNED_PAYLOAD_TRAILER;
  }
}

/** The trailer names announced by `x-amz-trailer` (comma-separated, lowercased, empty when absent). */
export function parseTrailerHeader(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}
