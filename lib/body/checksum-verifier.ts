/**
 * Pass-through verification of a plain (not aws-chunked) request body against what the request
 * headers promise: the byte count (`Content-Length` or `x-amz-decoded-content-length`), the hex
 * SHA-256 of `x-amz-content-sha256` (mode 1), `Content-MD5`, and `x-amz-checksum-*` values. It can
 * also just compute checksums (e.g. to forward one to the backend).
 *
 * The trick that makes streaming verification safe: the verifier always holds back the last buffer
 * it received (see {@link TailHold}) and releases it in `_flush`, only after every check passed.
 * On a mismatch it errors instead, so the upstream request is destroyed short of its
 * `Content-Length` (or without its terminating chunk): the backend never sees a complete body and
 * never stores it. Memory stays bounded (at most 64 KiB held; data is hashed as it flows).
 *
 * Errors ({@link OspError}, all 400): `IncompleteBody` (too few or too many bytes), `BadDigest`
 * (Content-MD5 or `x-amz-checksum-*` mismatch), `XAmzContentSHA256Mismatch`. Malformed expected
 * values are rejected by the constructor: `InvalidDigest` (Content-MD5), `InvalidRequest`
 * (`x-amz-checksum-*`), `InvalidArgument` (`x-amz-content-sha256`).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OspError } from '../errors';
import { type Checksum, type ChecksumAlgorithm, checksumMismatchError, createChecksum, decodeChecksumValue } from './checksums';
import { TailHold } from './tail-hold';

/** Options of {@link ChecksumVerifier}. Every field is optional; absent ones are not checked. */
export interface ChecksumVerifierOptions {
  /** The number of bytes the body must have. */
  readonly expectedLength?: number;
  /** Lowercase or uppercase hex SHA-256 (`x-amz-content-sha256`, mode 1). */
  readonly contentSha256?: string;
  /** Base64 MD5 (`Content-MD5`). */
  readonly contentMd5?: string;
  /** Base64 values of `x-amz-checksum-*` headers, by algorithm. */
  readonly checksums?: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
  /** Further algorithms to compute without checking (results in {@link ChecksumVerifier.result}). */
  readonly compute?: readonly ChecksumAlgorithm[];
}

/** What the verifier computed, available after `'end'` (and in the `'verified'` event). */
export interface ChecksumVerifierResult {
  readonly bytes: number;
  /** Lowercase hex SHA-256, when `contentSha256` was given. */
  readonly sha256Hex?: string;
  /** Base64 MD5, when `contentMd5` was given. */
  readonly md5Base64?: string;
  /** Base64 checksums of every algorithm checked or computed. */
  readonly checksums: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
}

const SHA256_HEX_RE = /^[0-9a-fA-F]{64}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function invalidContentMd5(): OspError {
  return new OspError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
}

/**
 * A pass-through `Transform` that verifies the body while streaming. See the module documentation.
 * Emits `'verified'` `(result: ChecksumVerifierResult)` before `'end'` when all checks passed.
 *
 * @throws OspError from the constructor when an expected value is malformed.
 */
export class ChecksumVerifier extends Transform {
  private readonly expectedLength: number | undefined;
  private readonly expectedSha256: string | undefined;
  private readonly expectedMd5: Buffer | undefined;
  private readonly sha256: Hash | undefined;
  private readonly md5: Hash | undefined;
  private readonly expectedChecksums = new Map<ChecksumAlgorithm, Buffer>();
  private readonly computed = new Map<ChecksumAlgorithm, Checksum>();
  private readonly tail: TailHold;
  private bytes = 0;
  private verifiedResult: ChecksumVerifierResult | undefined;

  constructor(options: ChecksumVerifierOptions = {}) {
    super();
    const { expectedLength, contentSha256, contentMd5, checksums = {}, compute = [] } = options;
    if (expectedLength !== undefined && (!Number.isSafeInteger(expectedLength) || expectedLength < 0)) {
      throw new RangeError(`expectedLength must be a non-negative integer, got ${expectedLength}`);
    }
    this.expectedLength = expectedLength;
    if (contentSha256 !== undefined) {
      if (!SHA256_HEX_RE.test(contentSha256)) {
        throw new OspError(400, 'InvalidArgument', 'x-amz-content-sha256 must be a valid sha256 value.', {
          ArgumentName: 'x-amz-content-sha256',
        });
      }
      this.expectedSha256 = contentSha256.toLowerCase();
      this.sha256 = createHash('sha256');
    }
    if (contentMd5 !== undefined) {
      const v = contentMd5.trim();
      const md5 = BASE64_RE.test(v) && v.length % 4 === 0 ? Buffer.from(v, 'base64') : undefined;
      if (md5 === undefined || md5.length !== 16) throw invalidContentMd5();
      this.expectedMd5 = md5;
      this.md5 = createHash('md5');
    }
    for (const [alg, value] of Object.entries(checksums) as Array<[ChecksumAlgorithm, string | undefined]>) {
      if (value === undefined) continue;
      this.expectedChecksums.set(alg, decodeChecksumValue(alg, value, 'header'));
      this.computed.set(alg, createChecksum(alg));
    }
    for (const alg of compute) if (!this.computed.has(alg)) this.computed.set(alg, createChecksum(alg));
    this.tail = new TailHold((b) => this.push(b));
  }

  /** Bytes received so far. */
  get receivedBytes(): number {
    return this.bytes;
  }

  /** The computed values, once every check passed (`undefined` before). */
  get result(): ChecksumVerifierResult | undefined {
    return this.verifiedResult;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.expectedLength !== undefined && this.bytes + chunk.length > this.expectedLength) {
      callback(new OspError(400, 'IncompleteBody', 'The request body is longer than its declared length.'));
      return;
    }
    this.bytes += chunk.length;
    this.sha256?.update(chunk);
    this.md5?.update(chunk);
    for (const c of this.computed.values()) c.update(chunk);
    this.tail.offer(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    let result: ChecksumVerifierResult;
    try {
      result = this.verify();
    } catch (err) {
      // The held buffer is never released: the upstream request stays incomplete.
      callback(err as Error);
      return;
    }
    this.verifiedResult = result;
    this.tail.release();
    this.emit('verified', result);
    callback();
  }

  /** All final checks, in order: length, Content-MD5, x-amz-content-sha256, x-amz-checksum-*. */
  private verify(): ChecksumVerifierResult {
    if (this.expectedLength !== undefined && this.bytes !== this.expectedLength) {
      throw new OspError(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
    let md5Base64: string | undefined;
    if (this.md5 !== undefined) {
      const md5 = this.md5.digest();
      if (!md5.equals(this.expectedMd5!)) {
        throw new OspError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      md5Base64 = md5.toString('base64');
    }
    let sha256Hex: string | undefined;
    if (this.sha256 !== undefined) {
      sha256Hex = this.sha256.digest('hex');
      if (sha256Hex !== this.expectedSha256) {
        throw new OspError(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: this.expectedSha256!,
          S3ComputedContentSHA256: sha256Hex,
        });
      }
    }
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [alg, c] of this.computed) {
      const expected = this.expectedChecksums.get(alg);
      if (expected !== undefined && !expected.equals(c.digest())) throw checksumMismatchError(alg);
      checksums[alg] = c.digestBase64();
    }
    return { bytes: this.bytes, sha256Hex, md5Base64, checksums };
  }
}
