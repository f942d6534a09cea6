/**
 * Browser POST uploads: malformed and unusual forms, anonymous forms and clients that go away
 * (moto: the proxy's own checks, and a backend that takes chunked bodies, so aborts are visible).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { backend, backendClient, createTestBucket, type BackendName } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';

const run = promisify(execFile);
const CLIENT = { accessKey: 'post-errors-client', secretKey: 'post-errors-secret-0000000000' };

describe('browser POST uploads: bad forms and anonymous uploads (moto)', () => {
  let bucket: string;
  let proxy: RunningProxy;
  let anonymousProxy: RunningProxy;
  let direct: S3Client;
  const tokens: Array<string | null> = [];

  beforeAll(async () => {
    const be = backend('moto');
    bucket = await createTestBucket('post-err', 'moto');
    direct = backendClient('moto');
    const buckets = { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path' as const, accessKey: be.accessKey, secretKey: be.secretKey, profile: 'moto' as const } };
    proxy = await startProxy({ buckets, hmacKeystore: [CLIENT] });
    anonymousProxy = await startProxy({ buckets, allowAnonymous: true, authorize: (token) => (tokens.push(token), true) });
  });
  afterAll(async () => {
    direct?.destroy();
    await proxy?.close();
    await anonymousProxy?.close();
  });

  const mint = async (key: string, conditions: unknown[] = []) => {
    const { stdout } = await run(
      'python3',
      [path.join(__dirname, 'py', 'presigned_post_boto3.py'), proxy.endpoint, bucket, key, CLIENT.accessKey, CLIENT.secretKey, 's3v4', '{}', JSON.stringify(conditions), '300'],
      { timeout: 60_000 },
    );
    return JSON.parse(stdout) as { url: string; fields: Record<string, string> };
  };
  const post = async (url: string, fields: Record<string, string>, file?: string) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (file !== undefined) form.append('file', new Blob([file]), 'f.txt');
    const r = await fetch(url, { method: 'POST', body: form });
    const body = await r.text();
    return { status: r.status, code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1], body };
  };
  const raw = (url: string, contentType: string, body: string) =>
    new Promise<{ status: number; code?: string }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const absent = (key: string) => expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });

  it('malformed multipart: 400 MalformedPOSTRequest', async () => {
    expect(await raw(`${proxy.endpoint}/${bucket}`, 'multipart/form-data; charset=utf-8', 'x')).toEqual({ status: 400, code: 'MalformedPOSTRequest' });
    const truncated = '--XX\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--XX\r\nContent-Disposition: form-data; name="pol';
    expect(await raw(`${proxy.endpoint}/${bucket}`, 'multipart/form-data; boundary=XX', truncated)).toEqual({ status: 400, code: 'MalformedPOSTRequest' });
  });

  it('no file, no key, a duplicate field, fields over 20 KB: 400', async () => {
    const m = await mint('k1');
    expect(await post(m.url, m.fields)).toMatchObject({ status: 400, code: 'InvalidArgument' });
    const { key: _key, ...withoutKey } = m.fields;
    expect(await post(m.url, withoutKey, 'x')).toMatchObject({ status: 400, code: 'InvalidArgument' });
    const form = new FormData();
    for (const [k, v] of Object.entries(m.fields)) form.append(k, v);
    form.append('key', 'k1');
    form.append('file', new Blob(['x']));
    expect((await fetch(m.url, { method: 'POST', body: form })).status).toBe(400);
    expect(await post(m.url, { ...m.fields, 'x-ignore-pad': 'p'.repeat(21 * 1024) }, 'x')).toMatchObject({ status: 400, code: 'MaxPostPreDataLengthExceeded' });
    await absent('k1');
  });

  it('an unknown access key: 403 InvalidAccessKeyId; an unsigned form: 403 AccessDenied', async () => {
    const m = await mint('k2');
    const credential = m.fields['x-amz-credential'] as string;
    expect(await post(m.url, { ...m.fields, 'x-amz-credential': credential.replace(CLIENT.accessKey, 'nobody') }, 'x')).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    expect(await post(m.url, { key: 'k2' }, 'x')).toMatchObject({ status: 403, code: 'AccessDenied' });
    await absent('k2');
  });

  it('with allowAnonymous, an unsigned form is authorized with token null', async () => {
    expect(await post(`${anonymousProxy.endpoint}/${bucket}`, { key: 'anon/k3' }, 'anonymous')).toMatchObject({ status: 204 });
    expect(tokens).toEqual([null]);
    expect((await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'anon/k3' }))).ContentLength).toBe(9);
  });

  it('a POST that is not a form goes through the normal chain (here: unsigned, so 403)', async () => {
    expect(await raw(`${proxy.endpoint}/${bucket}?delete`, 'application/xml', '<Delete/>')).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});

/** Sends the form and 200 KB of a 1 MB file, then drops the connection. */
async function postAndGoAway(url: string, fields: Record<string, string>): Promise<void> {
  const boundary = 'B0UNDARY';
  let head = '';
  for (const [k, v] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`;
  const req = http.request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + 1_000_000 } });
  req.on('error', () => undefined);
  req.write(head);
  req.write(randomBytes(200_000));
  await new Promise((r) => setTimeout(r, 500));
  req.destroy();
  await new Promise((r) => setTimeout(r, 1000));
}

describe.each([
  ['moto', 'moto'],
  ['rgw', 'ceph-rgw'],
] as Array<[BackendName, 'moto' | 'ceph-rgw']>)('browser POST uploads: a client that goes away mid-file (%s)', (name, profile) => {
  it('nothing is stored, no temporary file is left, and the proxy serves the next upload', async () => {
    const be = backend(name);
    const bucket = await createTestBucket('post-gone', name);
    // Its own spool directory: other runs on this machine spool into the shared tmpdir too.
    const spool = mkdtempSync(path.join(tmpdir(), 'osp-e2e-spool-'));
    const proxy = await startProxy({
      buckets: { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey, profile } },
      hmacKeystore: [CLIENT],
      postSpoolDirectory: spool,
    });
    const direct = backendClient(name);
    try {
      const key = `gone/${randomBytes(4).toString('hex')}`;
      const mint = async () =>
        JSON.parse(
          (
            await run('python3', [path.join(__dirname, 'py', 'presigned_post_boto3.py'), proxy.endpoint, bucket, key, CLIENT.accessKey, CLIENT.secretKey, 's3v4', '{}', '[]', '300'], {
              timeout: 60_000,
            })
          ).stdout,
        ) as { url: string; fields: Record<string, string> };
      const m = await mint();
      await postAndGoAway(m.url, m.fields);
      await expect(direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      expect(readdirSync(spool)).toEqual([]);
      const again = await mint();
      const form = new FormData();
      for (const [k, v] of Object.entries(again.fields)) form.append(k, v);
      form.append('file', new Blob(['after']), 'f.txt');
      expect((await fetch(again.url, { method: 'POST', body: form })).status).toBe(204);
    } finally {
      direct.destroy();
      await proxy.close();
      rmSync(spool, { recursive: true, force: true });
    }
  });
});
