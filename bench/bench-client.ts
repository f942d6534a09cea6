/** The frontend key the benchmarks sign with, and the SigV4 signing of their requests (a signature is valid for 15 minutes). */
import type { ChunkSigningContext } from '../lib/body/chunk-signature';
import { getSigningKey } from '../lib/sigv4/signing-key';
import { signRequest } from '../lib/sigv4/sign-request';

export const BENCH_CLIENT = { accessKey: 'benchclient', secretKey: 'bench-client-secret-000000000000' };

/** A request signed by {@link BENCH_CLIENT}: its headers with `x-amz-date` and `authorization` added, and the seed of aws-chunked chunk signatures. */
export interface SignedBenchRequest {
  headers: Record<string, string>;
  amzDate: string;
  signature: string;
}

/**
 * Signs `method canonicalUri` (no query, region us-east-1) with SigV4 over every header in
 * `headers` (which must hold `host` and `x-amz-content-sha256`). Headers added afterwards (say
 * `content-length`) go out unsigned.
 */
export function signBenchRequest(method: string, canonicalUri: string, headers: Record<string, string>): SignedBenchRequest {
  const s = signRequest({ method, canonicalUri, canonicalQuery: '', headers, accessKeyId: BENCH_CLIENT.accessKey, secretKey: BENCH_CLIENT.secretKey, region: 'us-east-1', now: new Date() });
  return { headers: { ...headers, 'x-amz-date': s.amzDate, authorization: s.authorization }, amzDate: s.amzDate, signature: s.signature };
}

/** The chunk-signing context of an aws-chunked upload whose headers `signed` holds (its signature seeds the chunk chain). */
export function benchChunkSigning(signed: SignedBenchRequest): ChunkSigningContext {
  const date = signed.amzDate.slice(0, 8);
  return { signingKey: getSigningKey(BENCH_CLIENT.secretKey, date, 'us-east-1', 's3'), seedSignature: signed.signature, amzDate: signed.amzDate, scope: `${date}/us-east-1/s3/aws4_request` };
}

/** Headers of `GET /bench/some/object.txt` to `host`, signed by {@link BENCH_CLIENT}. */
export function signedBenchGet(host: string): Record<string, string> {
  return signBenchRequest('GET', '/bench/some/object.txt', { host, 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }).headers;
}
