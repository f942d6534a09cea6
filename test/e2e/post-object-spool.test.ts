/**
 * Browser POST uploads to Ceph RGW (which needs a Content-Length, so the proxy spools the file to
 * `postSpoolDirectory` first) when the spool volume is full: a 256 KiB tmpfs mounted for this test.
 * The proxy's own failure is 503 ServiceUnavailable (no path or errno for the client, not 502
 * BackendUnreachable), the log names ENOSPC, nothing is stored on RGW and the partial file is gone.
 * The form is minted by boto3 and posted by `requests`, as in post-object.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { backend, backendClient, createTestBucket } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';
import type { OspLogger } from '../../lib/options';

const run = promisify(execFile);
const CLIENT = { accessKey: 'post-spool-client', secretKey: 'post-spool-secret-00000000000' };
const TMPFS_BYTES = 256 * 1024;

describe('browser POST uploads to RGW with a full spool directory (tmpfs)', () => {
  let work: string;
  let spool: string;
  let mounted = false;
  let bucket: string;
  let proxy: RunningProxy;
  let direct: S3Client;
  const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const logger: OspLogger = {
    debug: (obj, msg) => logged.push({ level: 'debug', obj: obj as Record<string, unknown>, msg: String(msg) }),
    info: (obj, msg) => logged.push({ level: 'info', obj: obj as Record<string, unknown>, msg: String(msg) }),
    warn: (obj, msg) => logged.push({ level: 'warn', obj: obj as Record<string, unknown>, msg: String(msg) }),
    error: (obj, msg) => logged.push({ level: 'error', obj: obj as Record<string, unknown>, msg: String(msg) }),
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'osp-e2e-spool-'));
    spool = path.join(work, 'spool');
    execFileSync('mkdir', [spool]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'tmpfs', spool]); // we run as root (see the brief of issue [1/5])
    mounted = true;
    const be = backend('rgw');
    bucket = await createTestBucket('post-spool', 'rgw');
    direct = backendClient('rgw');
    proxy = await startProxy({
      buckets: { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey, profile: 'ceph-rgw' } },
      hmacKeystore: [CLIENT],
      postSpoolDirectory: spool,
      logger,
    });
  });
  afterAll(async () => {
    try {
      direct?.destroy();
      await proxy?.close();
    } finally {
      if (mounted) execFileSync('umount', [spool]);
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  /** Mints a form for `key` with boto3 and posts `data` with requests; status, S3 error code and body. */
  const post = async (key: string, data: Buffer) => {
    const file = path.join(work, `${key}.bin`);
    writeFileSync(file, data);
    const { stdout } = await run(
      'python3',
      [path.join(__dirname, 'py', 'presigned_post_boto3.py'), proxy.endpoint, bucket, key, CLIENT.accessKey, CLIENT.secretKey, 's3v4', '{}', '[["content-length-range", 0, 10485760]]', '300', file],
      { timeout: 60_000 },
    );
    const r = JSON.parse(stdout) as { status: number; body: string };
    return { status: r.status, code: /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1], body: r.body };
  };
  const spoolFiles = async () => {
    // The partial file is unlinked asynchronously as the request ends.
    for (let i = 0; i < 50 && readdirSync(spool).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    return readdirSync(spool);
  };

  it('a file that fits is spooled and stored, and the spool is empty afterwards', async () => {
    const data = randomBytes(64 * 1024);
    expect(await post('fits.bin', data)).toMatchObject({ status: 204 });
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'fits.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(await spoolFiles()).toEqual([]);
  });

  it('a file larger than the spool volume: 503 ServiceUnavailable, ENOSPC logged, nothing stored, no partial file', async () => {
    const before = logged.length;
    const r = await post('too-big.bin', randomBytes(4 * TMPFS_BYTES));
    expect({ status: r.status, code: r.code }).toEqual({ status: 503, code: 'ServiceUnavailable' });
    expect(r.body).not.toContain(spool);
    expect(r.body).not.toContain('osp-post-');
    expect(r.body).not.toContain('ENOSPC');
    await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'too-big.bin' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect(await spoolFiles()).toEqual([]);
    const errors = logged.slice(before).filter((l) => l.level === 'error');
    expect(errors).toEqual([
      { level: 'error', obj: expect.objectContaining({ code: 'ENOSPC', syscall: 'write', directory: spool, requestId: expect.any(String) }), msg: expect.stringMatching(/POST upload spool failed/) },
    ]);
    // The volume has room again: the next upload goes through.
    expect(await post('after.bin', Buffer.from('after'))).toMatchObject({ status: 204 });
  });
});
