/**
 * Streaming encoder of a plain byte stream as an aws-chunked body, for sending uploads to a
 * backend in one of the S3 streaming modes:
 *
 * - signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): `signing` given, no `trailerChecksum`;
 * - signed with trailer (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`): both given;
 * - unsigned with trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): no `signing`.
 *
 * Chunks have a fixed size (64 KiB by default; S3 requires at least 8 KiB for every chunk but the
 * last), so the framed length is known in advance from the object length: {@link encodedLength}
 * gives the `Content-Length` to send (some backends, e.g. Ceph RGW, need it). The encoder keeps at
 * most one chunk in memory (a signed chunk must be hashed before its header can be written).
 *
 * Output format (the same as the AWS documentation examples and the AWS SDKs):
 * ```text
 * signed:            <hex>;chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n\r\n
 * signed + trailer:  ... 0;chunk-signature=<sig>\r\n<name>:<b64>\r\nx-amz-trailer-signature:<sig>\r\n\r\n
 * unsigned trailer:  <hex>\r\n<data>\r\n ... 0\r\n[<name>:<b64>\r\n]\r\n
 * ```
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CHECKSUM_DIGEST_LENGTH, type Checksum, type ChecksumAlgorithm, checksumHeaderName, createChecksum } from './checksums';
import { type ChunkSigningContext, EMPTY_SHA256, canonicalTrailers, chunkSignature, trailerSignature } from './chunk-signature';
import { type StreamingPayloadKind } from './payload-mode';

/** Default chunk size of the encoder. */
export const DEFAULT_ENCODER_CHUNK_SIZE = 64 * 1024;

const CRLF = Buffer.from('\r\n', 'latin1');
const SIGNATURE_EXTENSION = ';chunk-signature=';
const TRAILER_SIGNATURE_PREFIX = 'x-amz-trailer-signature:';
/** Length of a hex SHA-256 signature. */
const SIGNATURE_HEX_LENGTH = 64;

/** The framing parameters shared by {@link AwsChunkedEncoder} and {@link encodedLength}. */
export interface AwsChunkedFraming {
  /** Data bytes per chunk (the last chunk may be shorter); default 64 KiB. */
  readonly chunkSize?: number;
  /** Whether chunks (and the trailer) carry signatures. */
  readonly signed: boolean;
  /** Send this checksum of the data as trailer (`x-amz-checksum-<alg>`). */
  readonly trailerChecksum?: ChecksumAlgorithm;
}

/** Options of {@link AwsChunkedEncoder}. */
export interface AwsChunkedEncoderOptions {
  /** Data bytes per chunk (the last chunk may be shorter); default 64 KiB. */
  readonly chunkSize?: number;
  /** Sign chunks (and the trailer) with this context: the backend request's signing key and signature. */
  readonly signing?: ChunkSigningContext;
  /** Compute this checksum of the data and send it as trailer. */
  readonly trailerChecksum?: ChecksumAlgorithm;
}

function checkChunkSize(chunkSize: number): number {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`aws-chunked chunk size must be a positive integer, got ${chunkSize}`);
  }
  return chunkSize;
}

/** Length of one framed chunk carrying `size` data bytes (`size` may be 0: the final chunk, without its CRLF). */
function framedChunkLength(size: number, signed: boolean): number {
  const header = size.toString(16).length + (signed ? SIGNATURE_EXTENSION.length + SIGNATURE_HEX_LENGTH : 0) + 2;
  return size === 0 ? header : header + size + 2;
}

/** Length in base64 of a digest of `n` bytes. */
function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/**
 * The exact length of the aws-chunked body that {@link AwsChunkedEncoder} produces for
 * `decodedLength` data bytes with the given framing: the `Content-Length` of the upstream request
 * (its `x-amz-decoded-content-length` being `decodedLength`).
 */
export function encodedLength(decodedLength: number, framing: AwsChunkedFraming): number {
  if (!Number.isSafeInteger(decodedLength) || decodedLength < 0) {
    throw new RangeError(`decoded length must be a non-negative integer, got ${decodedLength}`);
  }
  const chunkSize = checkChunkSize(framing.chunkSize ?? DEFAULT_ENCODER_CHUNK_SIZE);
  const fullChunks = Math.floor(decodedLength / chunkSize);
  const rest = decodedLength % chunkSize;
  let total = fullChunks * framedChunkLength(chunkSize, framing.signed);
  if (rest > 0) total += framedChunkLength(rest, framing.signed);
  total += framedChunkLength(0, framing.signed);
  if (framing.trailerChecksum !== undefined) {
    const alg = framing.trailerChecksum;
    total += checksumHeaderName(alg).length + 1 + base64Length(CHECKSUM_DIGEST_LENGTH[alg]) + 2;
    if (framing.signed) total += TRAILER_SIGNATURE_PREFIX.length + SIGNATURE_HEX_LENGTH + 2;
  }
  return total + 2; // the final blank line
}

/** The streaming mode (and so the `x-amz-content-sha256` value) that the framing produces. */
export function framingKind(framing: AwsChunkedFraming): StreamingPayloadKind {
  if (!framing.signed) return 'streaming-unsigned-trailer';
  return framing.trailerChecksum === undefined ? 'streaming-signed' : 'streaming-signed-trailer';
}

/**
 * A `Transform` from object bytes to an aws-chunked body. See the module documentation.
 * After `'end'`, {@link AwsChunkedEncoder.trailerValue} holds the checksum sent as trailer.
 */
export class AwsChunkedEncoder extends Transform {
  private readonly chunkSize: number;
  private readonly signing: ChunkSigningContext | undefined;
  private readonly trailerAlgorithm: ChecksumAlgorithm | undefined;
  private readonly checksum: Checksum | undefined;
  private previousSignature: string;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private sent = 0;
  private trailer: string | undefined;

  constructor(options: AwsChunkedEncoderOptions = {}) {
    super();
    this.chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_ENCODER_CHUNK_SIZE);
    this.signing = options.signing;
    this.trailerAlgorithm = options.trailerChecksum;
    this.checksum = options.trailerChecksum === undefined ? undefined : createChecksum(options.trailerChecksum);
    this.previousSignature = options.signing?.seedSignature ?? '';
  }

  /** The framing this encoder produces (for {@link encodedLength} and {@link framingKind}). */
  get framing(): AwsChunkedFraming {
    return { chunkSize: this.chunkSize, signed: this.signing !== undefined, trailerChecksum: this.trailerAlgorithm };
  }

  /** Data bytes framed so far. */
  get decodedBytes(): number {
    return this.sent;
  }

  /** The base64 checksum sent as trailer, once the stream ended. */
  get trailerValue(): string | undefined {
    return this.trailer;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = chunk;
    while (data.length > 0) {
      const room = this.chunkSize - this.pendingLength;
      const take = data.length <= room ? data : data.subarray(0, room);
      this.pending.push(take);
      this.pendingLength += take.length;
      data = data.subarray(take.length);
      if (this.pendingLength === this.chunkSize) this.emitChunk();
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pendingLength > 0) this.emitChunk();
    let tail: string;
    if (this.signing !== undefined) {
      const finalSignature = chunkSignature(this.signing, this.previousSignature, EMPTY_SHA256);
      tail = `0${SIGNATURE_EXTENSION}${finalSignature}\r\n`;
      this.previousSignature = finalSignature;
    } else {
      tail = '0\r\n';
    }
    if (this.checksum !== undefined && this.trailerAlgorithm !== undefined) {
      this.trailer = this.checksum.digestBase64();
      const name = checksumHeaderName(this.trailerAlgorithm);
      tail += `${name}:${this.trailer}\r\n`;
      if (this.signing !== undefined) {
        const canonical = canonicalTrailers([[name, this.trailer]]);
        tail += `${TRAILER_SIGNATURE_PREFIX}${trailerSignature(this.signing, this.previousSignature, canonical)}\r\n`;
      }
    }
    this.push(Buffer.from(tail + '\r\n', 'latin1'));
    callback();
  }

  /** Frames and pushes the pending data as one chunk. */
  private emitChunk(): void {
    const pieces = this.pending;
    const size = this.pendingLength;
    this.pending = [];
    this.pendingLength = 0;
    let header = size.toString(16);
    if (this.signing !== undefined) {
      const hash = createHash('sha256');
      for (const p of pieces) hash.update(p);
      const signature = chunkSignature(this.signing, this.previousSignature, hash.digest('hex'));
      this.previousSignature = signature;
      header += SIGNATURE_EXTENSION + signature;
    }
    this.push(Buffer.from(header + '\r\n', 'latin1'));
    for (const p of pieces) {
      this.checksum?.update(p);
      this.push(p);
    }
    this.push(CRLF);
    this.sent += size;
  }
}
