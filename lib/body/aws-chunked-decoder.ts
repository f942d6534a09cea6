/**
 * Streaming decoder of `Content-Encoding: aws-chunked` request bodies (S3 upload modes 3 to 5):
 *
 * ```text
 * signed:            <hex-size>;chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n\r\n
 * signed + trailer:  ... 0;chunk-signature=<sig>\r\n<name>:<value>\r\nx-amz-trailer-signature:<sig>\r\n\r\n
 * unsigned trailer:  <hex-size>\r\n<data>\r\n ... 0\r\n<name>:<value>\r\n\r\n
 * ```
 *
 * It parses the framing incrementally from input split anywhere (down to single bytes), emits only
 * the decoded object bytes, and:
 * - verifies each chunk signature (when given a {@link ChunkSigningContext}) BEFORE any byte of
 *   that chunk is pushed, so forged data never reaches the backend. It therefore holds at most one
 *   signed chunk, whose size is capped (`maxChunkSize`, 16 MiB by default). Unsigned chunks are
 *   streamed through as they arrive, whatever their size;
 * - parses the trailing headers, verifies the trailer signature (signed trailer mode), computes the
 *   checksum announced by `x-amz-trailer` and compares it with the trailer value;
 * - checks the decoded length against `x-amz-decoded-content-length`;
 * - holds back the last decoded buffer until all of the above passed (see {@link TailHold}), so a
 *   body failing a final check never arrives complete at the backend.
 *
 * Tolerated variants seen in the wild: an extra CRLF between the final chunk and the trailers, bare
 * LF line ends inside the trailer section, and a missing final blank line at end of input once at
 * least one trailer and everything expected (trailers, trailer signature) were received.
 *
 * Errors are {@link OspError}s: `403 SignatureDoesNotMatch` (chunk or trailer signature),
 * `400 InvalidRequest` (malformed framing, oversized chunk, unexpected trailer, data after the final
 * chunk), `400 IncompleteBody` (input ends early, decoded length mismatch), `400 BadDigest`
 * (trailer checksum mismatch).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-7.1 (HTTP/1.1 chunked coding, which aws-chunked mimics)
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OspError, s3Errors } from '../errors';
import { type Checksum, type ChecksumAlgorithm, checksumMismatchError, createChecksum, decodeChecksumValue, parseChecksumAlgorithmFromHeader } from './checksums';
import { type ChunkSigningContext, EMPTY_SHA256, canonicalTrailers, chunkSignature, signaturesEqual, trailerSignature } from './chunk-signature';
import type { StreamingPayloadKind } from './payload-mode';
import { TailHold } from './tail-hold';

/** Default cap on one signed chunk (the decoder holds a whole signed chunk until it is verified). */
export const DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Longest accepted chunk-size line, CRLF included (HTTP chunk extensions are short in practice). */
const MAX_CHUNK_LINE = 4096;
/** Longest accepted trailer section (all trailer lines together). */
const MAX_TRAILER_SECTION = 16 * 1024;
/** Blank lines tolerated inside the trailer section before the expected trailers are complete. */
const MAX_BLANK_TRAILER_LINES = 2;
/** Above this many pieces, a verified chunk is concatenated before being pushed. */
const MAX_PIECES_BEFORE_CONCAT = 8;
const TRAILER_SIGNATURE_NAME = 'x-amz-trailer-signature';
const CHUNK_SIZE_RE = /^[0-9a-fA-F]{1,16}$/;
const SIGNATURE_RE = /^[0-9a-fA-F]{64}$/;

/** Options of {@link AwsChunkedDecoder}. */
export interface AwsChunkedDecoderOptions {
  /** The body mode, from `x-amz-content-sha256` (see `parsePayloadMode`). */
  readonly kind: StreamingPayloadKind;
  /**
   * Verify chunk and trailer signatures with this context. Without it, signatures are still required
   * to be syntactically present in the signed modes but are not checked.
   */
  readonly signing?: ChunkSigningContext;
  /** Trailer names announced by `x-amz-trailer` (see `parseTrailerHeader`); all must arrive. */
  readonly trailerNames?: readonly string[];
  /** `x-amz-decoded-content-length`, when the request carries it. */
  readonly decodedContentLength?: number;
  /** Largest accepted signed chunk in bytes; default {@link DEFAULT_MAX_CHUNK_SIZE}. */
  readonly maxChunkSize?: number;
}

/** What the decoder learnt from the end of the body, once everything was verified. */
export interface AwsChunkedTrailers {
  /** Trailing headers by lowercase name (without `x-amz-trailer-signature`). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The checksum trailer (`x-amz-checksum-*`), verified against the decoded data. Absent when no
   * checksum trailer was sent or its algorithm is unknown to the proxy (then it is only in `headers`).
   */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly headerName: string; readonly value: string };
  /** Whether a trailer signature was verified (signed trailer mode with a signing context). */
  readonly signatureVerified: boolean;
  /** Number of decoded (object) bytes. */
  readonly decodedBytes: number;
}

enum State {
  /** Reading a `<hex-size>[;ext]\r\n` line. */
  ChunkHeader,
  /** Reading chunk data. */
  ChunkData,
  /** Expecting the `\r` after chunk data. */
  DataCr,
  /** Expecting the `\n` after chunk data. */
  DataLf,
  /** Reading trailer lines after the final chunk. */
  Trailers,
  /** The terminating blank line was read; nothing may follow. */
  Done,
}

function malformed(detail: string): OspError {
  return new OspError(400, 'InvalidRequest', `Malformed aws-chunked request body: ${detail}.`);
}

function incomplete(detail: string): OspError {
  return new OspError(400, 'IncompleteBody', detail);
}

/**
 * A `Transform` from an aws-chunked body to the object bytes. See the module documentation.
 *
 * Events besides the stream ones (both emitted before `'end'`, after every check passed):
 * - `'trailers'` `(trailers: AwsChunkedTrailers)`;
 * - `'decodedBytes'` `(count: number)`: total decoded bytes.
 */
export class AwsChunkedDecoder extends Transform {
  private readonly kind: StreamingPayloadKind;
  private readonly signing: ChunkSigningContext | undefined;
  private readonly signedChunks: boolean;
  private readonly expectedTrailers: readonly string[];
  private readonly decodedContentLength: number | undefined;
  private readonly maxChunkSize: number;
  /** Checksums to compute, by trailer name. */
  private readonly checksums = new Map<string, Checksum>();
  private readonly tail: TailHold;

  private state = State.ChunkHeader;
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  /** Bytes left in the current chunk's data. */
  private remaining = 0;
  private currentSize = 0;
  private currentSignature = '';
  private chunkHash: Hash | undefined;
  private pieces: Buffer[] = [];
  private previousSignature: string;
  private decoded = 0;
  private trailerList: Array<[string, string]> = [];
  private trailerSectionBytes = 0;
  private blankTrailerLines = 0;
  private receivedTrailerSignature: string | undefined;
  private result: AwsChunkedTrailers | undefined;
  private readonly trailersPromise: Promise<AwsChunkedTrailers>;
  private resolveTrailers!: (t: AwsChunkedTrailers) => void;
  private rejectTrailers!: (e: unknown) => void;

  constructor(options: AwsChunkedDecoderOptions) {
    super();
    this.kind = options.kind;
    this.signing = options.signing;
    this.signedChunks = options.kind !== 'streaming-unsigned-trailer';
    this.expectedTrailers = (options.trailerNames ?? []).map((n) => n.toLowerCase());
    this.decodedContentLength = options.decodedContentLength;
    this.maxChunkSize = options.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE;
    this.previousSignature = options.signing?.seedSignature.toLowerCase() ?? '';
    for (const name of this.expectedTrailers) {
      const alg = parseChecksumAlgorithmFromHeader(name);
      if (alg !== undefined) this.checksums.set(name, createChecksum(alg));
    }
    this.tail = new TailHold((b) => this.push(b));
    this.trailersPromise = new Promise<AwsChunkedTrailers>((resolve, reject) => {
      this.resolveTrailers = resolve;
      this.rejectTrailers = reject;
    });
    // Nobody may ask for the promise; a rejection is still reported through 'error'.
    this.trailersPromise.catch(() => undefined);
  }

  /** Resolves with the verified trailers when the body was fully decoded; rejects on any error. */
  trailers(): Promise<AwsChunkedTrailers> {
    return this.trailersPromise;
  }

  /** Decoded bytes so far (including those held back until the end). */
  get decodedBytes(): number {
    return this.decoded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.state === State.Trailers && this.lineLength === 0 && this.trailerList.length > 0 && this.trailersComplete()) {
        // Input ended without the blank line after the trailers, but nothing expected is missing.
        this.finish();
      }
      if (this.state !== State.Done) {
        throw incomplete('The aws-chunked request body ended before its final chunk.');
      }
      const result = this.result!;
      this.tail.release();
      this.emit('decodedBytes', result.decodedBytes);
      this.emit('trailers', result);
      this.resolveTrailers(result);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.result === undefined || error) {
      this.rejectTrailers(error ?? incomplete('The aws-chunked request body was aborted.'));
    }
    this.pieces = [];
    this.lineParts = [];
    callback(error);
  }

  /** Runs the parser over one input buffer. */
  private consume(buf: Buffer): void {
    let i = 0;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case State.ChunkHeader:
        case State.Trailers: {
          const nl = buf.indexOf(0x0a, i);
          const end = nl === -1 ? len : nl + 1;
          this.appendLine(buf.subarray(i, end));
          i = end;
          if (nl !== -1) {
            const line = this.takeLine();
            if (this.state === State.ChunkHeader) this.onChunkHeader(line);
            else this.onTrailerLine(line);
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - i);
          const piece = buf.subarray(i, i + n);
          i += n;
          this.remaining -= n;
          this.onData(piece);
          if (this.remaining === 0) this.onChunkDataEnd();
          break;
        }
        case State.DataCr:
          if (buf[i++] !== 0x0d) throw malformed('chunk data is not followed by CRLF');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (buf[i++] !== 0x0a) throw malformed('chunk data is not followed by CRLF');
          this.state = State.ChunkHeader;
          break;
        case State.Done:
          throw malformed('data after the final chunk');
      }
    }
  }

  private appendLine(part: Buffer): void {
    this.lineLength += part.length;
    const max = this.state === State.ChunkHeader ? MAX_CHUNK_LINE : MAX_TRAILER_SECTION;
    if (this.lineLength > max) {
      throw malformed(this.state === State.ChunkHeader ? 'chunk-size line too long' : 'trailer section too long');
    }
    this.lineParts.push(part);
  }

  /** The accumulated line (ending with `\n`) as latin1 text. */
  private takeLine(): string {
    const line = this.lineParts.length === 1 ? this.lineParts[0]!.toString('latin1') : Buffer.concat(this.lineParts, this.lineLength).toString('latin1');
    this.lineParts = [];
    this.lineLength = 0;
    return line;
  }

  private onChunkHeader(rawLine: string): void {
    if (!rawLine.endsWith('\r\n')) throw malformed('chunk-size line does not end with CRLF');
    const line = rawLine.slice(0, -2);
    const semi = line.indexOf(';');
    const sizeText = (semi === -1 ? line : line.slice(0, semi)).replace(/[ \t]+$/, '');
    if (!CHUNK_SIZE_RE.test(sizeText)) throw malformed('invalid chunk size');
    const size = parseInt(sizeText, 16);
    if (!Number.isSafeInteger(size)) throw malformed('invalid chunk size');

    let signature: string | undefined;
    if (semi !== -1) {
      for (const ext of line.slice(semi + 1).split(';')) {
        const eq = ext.indexOf('=');
        const name = (eq === -1 ? ext : ext.slice(0, eq)).trim().toLowerCase();
        if (name === 'chunk-signature') signature = eq === -1 ? '' : ext.slice(eq + 1).trim();
      }
    }
    if (this.signedChunks) {
      if (signature === undefined) throw malformed('missing chunk-signature');
      if (!SIGNATURE_RE.test(signature)) throw malformed('invalid chunk-signature');
      if (size > this.maxChunkSize) {
        throw malformed(`chunk of ${size} bytes exceeds the ${this.maxChunkSize}-byte limit`);
      }
    }
    if (this.decodedContentLength !== undefined && this.decoded + size > this.decodedContentLength) {
      throw incomplete('The decoded body is longer than x-amz-decoded-content-length.');
    }
    this.currentSignature = signature ?? '';
    this.currentSize = size;

    if (size === 0) {
      // Final chunk: its signature covers empty data.
      if (this.signedChunks) this.verifyChunkSignature(EMPTY_SHA256);
      this.state = State.Trailers;
      return;
    }
    this.remaining = size;
    this.state = State.ChunkData;
    if (this.signedChunks) {
      this.chunkHash = createHash('sha256');
      this.pieces = [];
    }
  }

  private onData(piece: Buffer): void {
    if (this.signedChunks) {
      // Held until the whole chunk is verified.
      this.chunkHash!.update(piece);
      this.pieces.push(piece);
    } else {
      this.release(piece);
    }
  }

  private onChunkDataEnd(): void {
    this.state = State.DataCr;
    if (!this.signedChunks) return;
    this.verifyChunkSignature(this.chunkHash!.digest('hex'));
    this.chunkHash = undefined;
    const pieces = this.pieces;
    this.pieces = [];
    if (pieces.length > MAX_PIECES_BEFORE_CONCAT) {
      this.release(Buffer.concat(pieces, this.currentSize));
    } else {
      for (const p of pieces) this.release(p);
    }
  }

  /** Verifies the current chunk's signature (when verifying) and advances the chain. */
  private verifyChunkSignature(dataSha256Hex: string): void {
    if (this.signing === undefined) return;
    const expected = chunkSignature(this.signing, this.previousSignature, dataSha256Hex);
    if (!signaturesEqual(this.currentSignature, expected)) throw s3Errors.signatureDoesNotMatch();
    this.previousSignature = expected;
  }

  /** Hands verified object bytes on (checksums, length, hold-back). */
  private release(data: Buffer): void {
    for (const c of this.checksums.values()) c.update(data);
    this.decoded += data.length;
    this.tail.offer(data);
  }

  private onTrailerLine(rawLine: string): void {
    this.trailerSectionBytes += rawLine.length;
    if (this.trailerSectionBytes > MAX_TRAILER_SECTION) throw malformed('trailer section too long');
    // Trailer lines should end in CRLF; some clients send bare LF there.
    const line = rawLine.endsWith('\r\n') ? rawLine.slice(0, -2) : rawLine.slice(0, -1);
    if (line === '') {
      if (this.trailersComplete()) {
        this.finish();
        return;
      }
      // E.g. the CRLF some clients put between the final chunk and the trailers.
      if (++this.blankTrailerLines > MAX_BLANK_TRAILER_LINES) throw malformed('unexpected blank line in trailers');
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('invalid trailer line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (this.receivedTrailerSignature !== undefined) throw malformed('trailer after x-amz-trailer-signature');
    if (name === TRAILER_SIGNATURE_NAME) {
      this.receivedTrailerSignature = value;
      return;
    }
    if (!this.expectedTrailers.includes(name)) {
      throw malformed(`trailer ${name} was not announced in x-amz-trailer`);
    }
    if (this.trailerList.some(([n]) => n === name)) throw malformed(`duplicate trailer ${name}`);
    this.trailerList.push([name, value]);
  }

  /** Whether every announced trailer (and, when required, the trailer signature) has arrived. */
  private trailersComplete(): boolean {
    if (this.trailerList.length < this.expectedTrailers.length) return false;
    const needsSignature = this.kind === 'streaming-signed-trailer' && this.trailerList.length > 0;
    return !needsSignature || this.receivedTrailerSignature !== undefined;
  }

  /** Final checks, in order: trailer signature, decoded length, checksums. */
  private finish(): void {
    let signatureVerified = false;
    if (this.kind === 'streaming-signed-trailer' && this.trailerList.length > 0 && this.signing !== undefined) {
      const expected = trailerSignature(this.signing, this.previousSignature, canonicalTrailers(this.trailerList));
      if (!signaturesEqual(this.receivedTrailerSignature ?? '', expected)) throw s3Errors.signatureDoesNotMatch();
      signatureVerified = true;
    }
    if (this.decodedContentLength !== undefined && this.decoded !== this.decodedContentLength) {
      throw incomplete('You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header.');
    }
    const headers: Record<string, string> = {};
    let checksum: AwsChunkedTrailers['checksum'];
    for (const [name, value] of this.trailerList) {
      headers[name] = value;
      const computed = this.checksums.get(name);
      if (computed === undefined) continue;
      const received = decodeChecksumValue(computed.algorithm, value, 'trailing header');
      if (!received.equals(computed.digest())) throw checksumMismatchError(computed.algorithm);
      checksum ??= { algorithm: computed.algorithm, headerName: name, value: computed.digestBase64() };
    }
    this.result = { headers, checksum, signatureVerified, decodedBytes: this.decoded };
    this.state = State.Done;
  }
}
