/**
 * Typed access to the real S3 servers that test/run-all.sh starts on 127.0.0.1 and describes in
 * OSP_TEST_* environment variables (documented at the top of run-all.sh).
 *
 * A missing variable throws: a test that needs a backend fails when it is not running, it never
 * skips. Run tests through `npm test -- <jest args>` so the servers exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export type BackendName = 'moto' | 'rgw' | 'swift';

export interface Backend {
  readonly name: BackendName;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: 'us-east-1';
}

export interface Credentials {
  readonly accessKey: string;
  readonly secretKey: string;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: this test needs the real backends that test/run-all.sh starts. ` + `Run it with \`npm test -- <jest args>\` (and OSP_TEST_BACKENDS, if set, must include this backend).`,
    );
  }
  return value;
}

function parseEndpoint(name: string): { endpoint: string; host: string; port: number } {
  const raw = env(name);
  const url = new URL(raw);
  if (url.hostname !== '127.0.0.1' || url.port === '') {
    throw new Error(`${name}=${raw}: expected http://127.0.0.1:PORT (tests talk to 127.0.0.1 only)`);
  }
  return { endpoint: `${url.protocol}//${url.host}`, host: url.hostname, port: Number(url.port) };
}

/** Where a backend listens and the credentials of its main user. */
export function backend(name: BackendName): Backend {
  const prefix = `OSP_TEST_${name.toUpperCase()}`;
  const where = parseEndpoint(`${prefix}_ENDPOINT`);
  // moto checks no signatures: any key works; fixed ones keep logs readable.
  const creds = name === 'moto' ? { accessKey: 'mototestaccesskey', secretKey: 'mototestsecretkey' } : { accessKey: env(`${prefix}_ACCESS_KEY`), secretKey: env(`${prefix}_SECRET_KEY`) };
  return { name, ...where, ...creds, region: 'us-east-1' };
}

/** The second RGW user (uid `alt`), unrelated to the main one: for multi-user tests. */
export function rgwAltUser(): Credentials {
  return { accessKey: env('OSP_TEST_RGW_ALT_ACCESS_KEY'), secretKey: env('OSP_TEST_RGW_ALT_SECRET_KEY') };
}

/** Path of the test cluster's ceph.conf, for `radosgw-admin -c <conf> ...`. */
export function rgwConf(): string {
  return env('OSP_TEST_RGW_CONF');
}

/** `redis://127.0.0.1:PORT` of the test redis-server. */
export function redisUrl(): string {
  return env('OSP_TEST_REDIS_URL');
}

/** `prefix-<random>`: lowercase, DNS- and bucket-name safe, unique per call. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * An S3 client talking DIRECTLY to the backend (not through the proxy): path-style, the backend's
 * main user unless `credentials` says otherwise. Checksums only when an operation requires them:
 * Swift's s3api and RGW 16 reject the SDK's default trailer checksums on stream bodies; pass
 * Buffer/string bodies (the SDK's default stream upload fails on RGW and Swift).
 */
export function backendClient(which: BackendName, credentials?: Credentials, config: Partial<S3ClientConfig> = {}): S3Client {
  const b = backend(which);
  const { accessKey, secretKey } = credentials ?? b;
  return new S3Client({
    endpoint: b.endpoint,
    region: b.region,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    ...config,
  });
}

/**
 * Creates a bucket named `uniqueName(name)` directly on the backend (as its main user unless
 * `credentials` is given) and returns the name.
 */
export async function createTestBucket(name: string, which: BackendName, credentials?: Credentials): Promise<string> {
  const bucket = uniqueName(name);
  if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(bucket) || bucket.length > 63) {
    throw new Error(`createTestBucket: "${name}" gives the invalid bucket name "${bucket}" (lowercase, digits, "-", at most 45 characters)`);
  }
  const client = backendClient(which, credentials);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/**
 * A new bucket on the backend holding `big.bin` (`bigBytes` random bytes) and `small.txt`
 * (`small`), written directly: for tests of transfers in flight. Returns the bucket and the SHA-256
 * of `big.bin`.
 */
export async function createBucketWithBigObject(name: string, which: BackendName, bigBytes: number): Promise<{ bucket: string; bigSha256: string }> {
  const bucket = await createTestBucket(name, which);
  const body = randomBytes(bigBytes);
  const client = backendClient(which);
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: body }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'small.txt', Body: 'small' }));
  } finally {
    client.destroy();
  }
  return { bucket, bigSha256: createHash('sha256').update(body).digest('hex') };
}
