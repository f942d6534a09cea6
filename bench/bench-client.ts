/** The frontend key the CPU benchmarks sign with, and the one GET they replay (a signature is valid for 15 minutes). */
import { signRequest } from '../lib/sigv4/sign-request';

export const BENCH_CLIENT = { accessKey: 'benchclient', secretKey: 'bench-client-secret-000000000000' };

/** Headers of `GET /bench/some/object.txt` to `host`, signed with SigV4 by {@link BENCH_CLIENT}. */
export function signedBenchGet(host: string): Record<string, string> {
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
  const s = signRequest({
    method: 'GET',
    canonicalUri: '/bench/some/object.txt',
    canonicalQuery: '',
    headers,
    accessKeyId: BENCH_CLIENT.accessKey,
    secretKey: BENCH_CLIENT.secretKey,
    region: 'us-east-1',
    now: new Date(),
  });
  return { ...headers, 'x-amz-date': s.amzDate, authorization: s.authorization };
}
