/**
 * boto3 and aws-cli (botocore signers, independent of ours) through the proxy to real backends.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { backend, type Backend, type BackendName } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';

const run = promisify(execFile);
const CLIENT = { accessKey: 'py-client', secretKey: 'py-client-secret-000000000000' };

describe.each(['moto', 'rgw'] as BackendName[])('python clients against %s', (name) => {
  let be: Backend;
  const bucket = `py-${name}-${randomBytes(3).toString('hex')}`;
  let proxy: RunningProxy;
  let dir: string;

  beforeAll(async () => {
    be = backend(name);
    const direct = new S3Client({ endpoint: be.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: be.accessKey, secretAccessKey: be.secretKey } });
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    direct.destroy();
    proxy = await startProxy({
      buckets: { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey } },
      hmacKeystore: [CLIENT],
    });
    dir = mkdtempSync(path.join(tmpdir(), 'osp-py-'));
  });
  afterAll(async () => {
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('boto3: awkward keys, metadata, multipart upload_fileobj, delete_objects', async () => {
    const { stdout } = await run('python3', [path.join(__dirname, 'py', 'boto3_roundtrip.py'), proxy.endpoint, bucket, CLIENT.accessKey, CLIENT.secretKey], { timeout: 120_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result).toEqual({
      roundtrip_ok: true,
      listed: ['boto/a:b~c(d).txt', 'boto/plain.txt', 'boto/with space+plus.txt', 'boto/ünï-cødé.txt'].sort(),
      metadata: { via: 'boto3' },
      multipart_ok: true,
      deleted: 4,
    });
  });

  it('aws-cli: 20 MB cp (multipart) up and down, ls, rm', async () => {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: CLIENT.accessKey,
      AWS_SECRET_ACCESS_KEY: CLIENT.secretKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
    const src = path.join(dir, 'src.bin');
    const dst = path.join(dir, 'dst.bin');
    const data = randomBytes(20 * 1024 * 1024);
    writeFileSync(src, data);
    const aws = (...args: string[]) => run('aws', ['--endpoint-url', proxy.endpoint, ...args], { env, timeout: 180_000 });
    await aws('s3', 'cp', src, `s3://${bucket}/cli/big file.bin`);
    const ls = await aws('s3', 'ls', `s3://${bucket}/cli/`);
    expect(ls.stdout).toContain(`${data.length} big file.bin`);
    await aws('s3', 'cp', `s3://${bucket}/cli/big file.bin`, dst);
    expect(createHash('sha256').update(readFileSync(dst)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await aws('s3', 'rm', `s3://${bucket}/cli/big file.bin`);
    const after = await aws('s3', 'ls', `s3://${bucket}/cli/`).catch((e: { stdout: string }) => e);
    expect(after.stdout ?? '').not.toContain('big file.bin');
  });
});
