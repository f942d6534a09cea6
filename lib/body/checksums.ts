/**
 * Incremental S3 "flexible checksums" (`x-amz-checksum-*`): CRC32, CRC32C, CRC64NVME, SHA1,
 * SHA256, plus MD5 and SHA512 (newer S3 additions). S3 sends and expects each value as the base64
 * of the big-endian digest bytes.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax
 */
import { createHash, type Hash } from 'node:crypto';
import { OspError } from '../errors';
import { Crc64Nvme, crc32, crc32c } from './crc';

/** Checksum algorithms the proxy can compute, in the lowercase spelling of their header names. */
export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256' | 'md5' | 'sha512';

/** Every supported algorithm. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256', 'md5', 'sha512'];

/** Digest length in bytes of each algorithm. */
export const CHECKSUM_DIGEST_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
  md5: 16,
  sha512: 64,
};

/** An incremental checksum: feed it with {@link Checksum.update}, read it once at the end. */
export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Adds bytes. Must not be called after a digest was read. */
  update(data: Uint8Array): void;
  /** The digest as big-endian bytes. May be called more than once (the value is cached). */
  digest(): Buffer;
  /** The digest in S3's wire form: base64 of the big-endian bytes. */
  digestBase64(): string;
}

class Crc32Checksum implements Checksum {
  private crc = 0;
  constructor(
    readonly algorithm: 'crc32' | 'crc32c',
    private readonly fn: (data: Uint8Array, crc: number) => number,
  ) {}
  update(data: Uint8Array): void {
    this.crc = this.fn(data, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out;
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

class Crc64NvmeChecksum implements Checksum {
  readonly algorithm = 'crc64nvme' as const;
  private readonly crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  digest(): Buffer {
    return this.crc.digest();
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

class HashChecksum implements Checksum {
  private readonly hash: Hash;
  private result: Buffer | undefined;
  constructor(readonly algorithm: 'sha1' | 'sha256' | 'md5' | 'sha512') {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    this.result ??= this.hash.digest();
    return this.result;
  }
  digestBase64(): string {
    return this.digest().toString('base64');
  }
}

/** A new incremental checksum of the given algorithm. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'crc32':
      return new Crc32Checksum('crc32', crc32);
    case 'crc32c':
      return new Crc32Checksum('crc32c', crc32c);
    case 'crc64nvme':
      return new Crc64NvmeChecksum();
    case 'sha1':
    case 'sha256':
    case 'md5':
    case 'sha512':
      return new HashChecksum(algorithm);
  }
}

/** The header (and trailer) name carrying the algorithm's value, e.g. `x-amz-checksum-crc32`. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm}`;
}

/** The upper-case name S3 uses in messages and in `x-amz-checksum-algorithm`, e.g. `CRC32C`. */
export function checksumDisplayName(algorithm: ChecksumAlgorithm): string {
  return algorithm.toUpperCase();
}

function isChecksumAlgorithm(value: string): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * The algorithm named by a checksum header name (`x-amz-checksum-crc32c` → `crc32c`, case
 * insensitive), or `undefined` when the name is not a supported `x-amz-checksum-*` value header.
 * `x-amz-checksum-algorithm` and `x-amz-checksum-type` are not value headers and give `undefined`.
 */
export function parseChecksumAlgorithmFromHeader(headerName: string): ChecksumAlgorithm | undefined {
  const name = headerName.trim().toLowerCase();
  const prefix = 'x-amz-checksum-';
  if (!name.startsWith(prefix)) return undefined;
  const alg = name.slice(prefix.length);
  return isChecksumAlgorithm(alg) ? alg : undefined;
}

/**
 * The algorithm named by an `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm` value
 * (`CRC32C` → `crc32c`, case insensitive), or `undefined` when unsupported.
 */
export function parseChecksumAlgorithmName(value: string): ChecksumAlgorithm | undefined {
  const alg = value.trim().toLowerCase();
  return isChecksumAlgorithm(alg) ? alg : undefined;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a base64 checksum value as S3 sends it and checks its length for the algorithm.
 * Throws `400 InvalidRequest` ("Value for x-amz-checksum-crc32 header is invalid.") when the value
 * is not base64 of exactly the digest length.
 *
 * @param where - `header` or `trailing header`, for the message.
 */
export function decodeChecksumValue(algorithm: ChecksumAlgorithm, value: string, where: 'header' | 'trailing header' = 'header'): Buffer {
  const v = value.trim();
  const bytes = BASE64_RE.test(v) && v.length % 4 === 0 ? Buffer.from(v, 'base64') : undefined;
  if (bytes === undefined || bytes.length !== CHECKSUM_DIGEST_LENGTH[algorithm]) {
    throw new OspError(400, 'InvalidRequest', `Value for ${checksumHeaderName(algorithm)} ${where} is invalid.`);
  }
  return bytes;
}

/** The S3 error for a checksum that does not match the data (`400 BadDigest`). */
export function checksumMismatchError(algorithm: ChecksumAlgorithm): OspError {
  return new OspError(400, 'BadDigest', `The ${checksumDisplayName(algorithm)} you specified did not match the calculated checksum.`);
}
