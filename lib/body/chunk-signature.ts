/**
 * String-to-sign and signatures of aws-chunked chunks and trailers (SigV4 streaming uploads).
 *
 * Chunk: `HMAC(signingKey, "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" +
 * previousSignature + "\n" + sha256("") + "\n" + sha256(chunkData))`, chained from the seed
 * signature (the one in the `Authorization` header).
 *
 * Trailer: `HMAC(signingKey, "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" +
 * previousSignature + "\n" + sha256(canonicalTrailers))`, where the previous signature is the one of
 * the final (zero-length) chunk and each trailer is canonicalised as `name:value\n`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { timingSafeEqual } from 'node:crypto';
import { hmacHex, sha256Hex } from '../sigv4/signing-key';

/** Lowercase hex SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** What is needed to compute or verify chunk signatures of one request. */
export interface ChunkSigningContext {
  /** SigV4 signing key of the request (`getSigningKey(secret, yyyymmdd, region, service)`). */
  readonly signingKey: Buffer;
  /** The request's own signature (from `Authorization`), which the first chunk signature chains from. */
  readonly seedSignature: string;
  /** `x-amz-date` of the request, e.g. `20130524T000000Z`. */
  readonly amzDate: string;
  /** Credential scope, e.g. `20130524/us-east-1/s3/aws4_request`. */
  readonly scope: string;
}

/** The string to sign of one chunk, given the hex SHA-256 of its data. */
export function chunkStringToSign(ctx: Pick<ChunkSigningContext, 'amzDate' | 'scope'>, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** The signature of one chunk, given the hex SHA-256 of its data. */
export function chunkSignature(ctx: Pick<ChunkSigningContext, 'signingKey' | 'amzDate' | 'scope'>, previousSignature: string, chunkSha256Hex: string): string {
  return hmacHex(ctx.signingKey, chunkStringToSign(ctx, previousSignature, chunkSha256Hex));
}

/** Canonical form of trailing headers for the trailer signature: `name:value\n` per header, in order. */
export function canonicalTrailers(trailers: ReadonlyArray<readonly [name: string, value: string]>): string {
  return trailers.map(([name, value]) => `${name.toLowerCase()}:${value.trim()}\n`).join('');
}

/** The signature of the trailing headers (`x-amz-trailer-signature`). */
export function trailerSignature(ctx: Pick<ChunkSigningContext, 'signingKey' | 'amzDate' | 'scope'>, previousSignature: string, canonical: string): string {
  const stringToSign = `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${sha256Hex(canonical)}`;
  return hmacHex(ctx.signingKey, stringToSign);
}

const SIGNATURE_RE = /^[0-9a-f]{64}$/;

/** Constant-time comparison of a received hex signature with the expected one (case-insensitive). */
export function signaturesEqual(received: string, expected: string): boolean {
  const r = received.toLowerCase();
  if (!SIGNATURE_RE.test(r) || !SIGNATURE_RE.test(expected)) return false;
  return timingSafeEqual(Buffer.from(r, 'latin1'), Buffer.from(expected, 'latin1'));
}
