/**
 * Decides how an upload body goes to the backend — untouched, verified on the way, or decoded from
 * aws-chunked to a plain body — and which headers change with it. Pure planning plus stream
 * factories; the proxy stage applies the plan.
 *
 * Why decode: re-signing the headers for the backend breaks the client's chunk signatures (they
 * chain from the client's seed signature), many backends reject trailer modes (RGW: 400, Swift:
 * 501) and some need Content-Length (RGW: 411). So signed aws-chunked bodies are verified chunk by
 * chunk with the client's key and forwarded plain, as `UNSIGNED-PAYLOAD` with the decoded length;
 * the proxy has verified every byte, and a failure cuts the upload before its last byte.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import type { Transform } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendCapabilities } from '../backends/profiles';
import { OspError } from '../errors';
import { UNSIGNED_PAYLOAD } from '../constants';
import { firstHeader, hasRequestBody } from '../s3/headers';
import { AwsChunkedDecoder } from './aws-chunked-decoder';
import type { ChunkSigningContext } from './chunk-signature';
import { ChecksumVerifier } from './checksum-verifier';
import { parseChecksumAlgorithmFromHeader, type ChecksumAlgorithm } from './checksums';
import { isStreamingPayload, parsePayloadMode, parseTrailerHeader } from './payload-mode';

/** What to do with one request's body. */
export interface UpstreamBodyPlan {
  /** Transforms the body goes through, in order (none: the body is piped as received). */
  readonly createStages: () => Transform[];
  /** Headers to set on the upstream request (lowercase names). */
  readonly setHeaders: Readonly<Record<string, string>>;
  /** Headers to remove from the upstream request. */
  readonly removeHeaders: readonly string[];
  /** `x-amz-content-sha256` to send (and sign) upstream. */
  readonly payloadHash: string;
  /** Whether the proxy must buffer the (small) body to add Content-MD5 (DeleteObjects). */
  readonly addContentMd5: boolean;
}

function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) throw new OspError(400, 'InvalidArgument', `${name} must be a non-negative integer.`);
  return Number(value.trim());
}

/** `x-amz-checksum-*` request headers by algorithm. */
function checksumHeaders(headers: IncomingHttpHeaders): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const name of Object.keys(headers)) {
    const alg = parseChecksumAlgorithmFromHeader(name);
    const value = firstHeader(headers, name);
    if (alg && value !== undefined) out[alg] = value;
  }
  return out;
}

/** Removes the `aws-chunked` token from Content-Encoding; returns what remains ('' if nothing). */
export function stripAwsChunkedEncoding(contentEncoding: string | undefined): string {
  if (!contentEncoding) return '';
  return contentEncoding
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t && t.toLowerCase() !== 'aws-chunked')
    .join(',');
}

export interface PlanInput {
  method: string;
  operation: string;
  headers: IncomingHttpHeaders;
  /** The client's `x-amz-content-sha256` (UNSIGNED-PAYLOAD for presigned URLs and anonymous requests). */
  payloadHash: string;
  profile: Readonly<BackendCapabilities>;
  /** For chunk signature verification; absent when signatures were not verified (skipped/anonymous). */
  signing?: ChunkSigningContext;
}

const NO_STAGES = () => [];

/**
 * Plans the upstream body. Throws OspError for a body the proxy cannot accept.
 */
export function planUpstreamBody(input: PlanInput): UpstreamBodyPlan {
  const { headers, profile } = input;
  const mode = parsePayloadMode(input.payloadHash);
  const addContentMd5 = input.operation === 'DeleteObjects' && profile.deleteObjectsRequiresContentMd5 && firstHeader(headers, 'content-md5') === undefined;

  if (isStreamingPayload(mode)) {
    const trailerNames = parseTrailerHeader(firstHeader(headers, 'x-amz-trailer'));
    const decodedLength = parseLength(firstHeader(headers, 'x-amz-decoded-content-length'), 'x-amz-decoded-content-length');
    if (mode.kind === 'streaming-unsigned-trailer' && profile.unsignedPayloadTrailer && profile.verifiesChecksumHeaders && !addContentMd5) {
      // The backend understands this mode and checks the trailer checksum itself: forward as is.
      return { createStages: NO_STAGES, setHeaders: {}, removeHeaders: [], payloadHash: input.payloadHash, addContentMd5 };
    }
    if (mode.kind !== 'streaming-unsigned-trailer' && !input.signing) {
      throw new OspError(501, 'NotImplemented', 'Signed aws-chunked uploads need signature verification, which is off; upload with a plain body.');
    }
    const setHeaders: Record<string, string> = {};
    const removeHeaders = ['x-amz-decoded-content-length', 'x-amz-trailer', 'transfer-encoding', 'content-length', 'x-amz-sdk-checksum-algorithm'];
    const encoding = stripAwsChunkedEncoding(firstHeader(headers, 'content-encoding'));
    if (encoding) setHeaders['content-encoding'] = encoding;
    else removeHeaders.push('content-encoding');
    if (decodedLength !== undefined) setHeaders['content-length'] = String(decodedLength);
    else setHeaders['transfer-encoding'] = 'chunked';
    return {
      createStages: () => [new AwsChunkedDecoder({ kind: mode.kind, signing: input.signing, trailerNames, decodedContentLength: decodedLength })],
      setHeaders,
      removeHeaders,
      payloadHash: UNSIGNED_PAYLOAD,
      addContentMd5,
    };
  }

  const contentLength = firstHeader(headers, 'content-length');
  const hasBody = hasRequestBody(headers);
  if (hasBody && (!profile.verifiesPayloadHash || !profile.verifiesChecksumHeaders)) {
    // Checks the backend would skip: a lenient backend (moto) would store a body that does not
    // match what the client signed or declared. Verified here while streaming; a mismatch cuts the
    // upload before its last byte.
    const byPayloadHash = !profile.verifiesPayloadHash;
    // CompleteMultipartUpload's x-amz-checksum-* is the object's composite checksum (`…-N`), not a
    // checksum of its XML body: it goes to the backend untouched (issue 10).
    const checksums = profile.verifiesChecksumHeaders || input.operation === 'CompleteMultipartUpload' ? {} : checksumHeaders(headers);
    const contentMd5 = byPayloadHash ? firstHeader(headers, 'content-md5') : undefined;
    const contentSha256 = byPayloadHash && mode.kind === 'sha256' ? mode.sha256 : undefined;
    const expectedLength = parseLength(contentLength, 'Content-Length');
    if (contentSha256 !== undefined || contentMd5 !== undefined || Object.keys(checksums).length > 0) {
      // Construct once now so malformed values fail before anything is sent.
      const options = { contentSha256, contentMd5, checksums, expectedLength };
      new ChecksumVerifier(options);
      return { createStages: () => [new ChecksumVerifier(options)], setHeaders: {}, removeHeaders: [], payloadHash: input.payloadHash, addContentMd5 };
    }
  }
  return { createStages: NO_STAGES, setHeaders: {}, removeHeaders: [], payloadHash: input.payloadHash, addContentMd5 };
}
