/**
 * IAM-style policies on keys (issue [13]) end to end against Ceph RGW, with @aws-sdk/client-s3:
 * a read-only-prefix key, a deny-delete key, IP-restricted keys, a copy needing both source and
 * target permissions, DeleteObjects with one forbidden key, policies from hmacFetcher, and the
 * combination with an `authorize` callback.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BucketConfig } from '../../lib/options';
import type { PolicyDocument } from '../../lib/policy/types';
import { backend, backendClient, createTestBucket, type Backend } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';

const secret = (name: string) => `${name}-secret-000000000000000`;
const key = (name: string, policies: (string | PolicyDocument)[], tags?: Record<string, string>) => ({ accessKey: name, secretKey: secret(name), policies, ...(tags ? { tags } : {}) });

const readOnlyReports: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'SeeBuckets', Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' },
    { Sid: 'ListReports', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::data', Condition: { StringLike: { 's3:prefix': 'reports/*' } } },
    { Sid: 'ReadReports', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/reports/*' },
  ],
};

/** The S3 error a command failed with: name, status and message. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('the request succeeded');
}

describe('policies (Ceph RGW)', () => {
  let be: Backend;
  let data: string;
  let other: string;
  let direct: S3Client;
  let proxy: RunningProxy;
  const clients: S3Client[] = [];
  const client = (name: string) => {
    const c = proxyClient(proxy.endpoint, name, secret(name));
    clients.push(c);
    return c;
  };
  const bucketConfig = (backendBucket: string): BucketConfig => ({
    host: be.host,
    port: be.port,
    addressingStyle: 'path',
    backendBucket,
    accessKey: be.accessKey,
    secretKey: be.secretKey,
    profile: 'ceph-rgw',
  });
  const exists = async (k: string) =>
    direct.send(new HeadObjectCommand({ Bucket: data, Key: k })).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    be = backend('rgw');
    data = await createTestBucket('pol-data', 'rgw');
    other = await createTestBucket('pol-other', 'rgw');
    direct = backendClient('rgw');
    for (const k of ['reports/q1.csv', 'reports/q2.csv', 'secret/plan.txt', 'src/a.txt', 'keep/b.txt', 'tmp/a.txt', 'tmp/c.txt']) {
      await direct.send(new PutObjectCommand({ Bucket: data, Key: k, Body: Buffer.from(`content of ${k}`) }));
    }
    proxy = await startProxy({
      buckets: { data: bucketConfig(data), other: bucketConfig(other) },
      policies: { readOnlyReports },
      hmacKeystore: [
        key('reader', ['readOnlyReports']),
        key('nodelete', [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:*', Resource: ['arn:aws:s3:::data', 'arn:aws:s3:::data/*'] },
              { Effect: 'Deny', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: 'arn:aws:s3:::data/*' },
            ],
          },
        ]),
        key('ip-local', [
          { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } } }] },
        ]),
        key('ip-private', [
          { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }] },
        ]),
        key('copier', [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/src/*' },
              { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::data/dst/*' },
            ],
          },
        ]),
        key('cleaner', [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::data/*' },
              { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::data/keep/*' },
            ],
          },
        ]),
        key('team', [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/${aws:PrincipalTag/area}/*' }] }], { area: 'reports' }),
        { accessKey: 'plain', secretKey: secret('plain') },
      ],
      hmacFetcher: (accessKey) => {
        if (accessKey === 'fetched-reader') return { secretKey: secret('fetched-reader'), policies: ['readOnlyReports'] };
        if (accessKey === 'fetched-plain') return secret('fetched-plain');
        if (accessKey === 'fetched-bad') return { secretKey: secret('fetched-bad'), policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:Fly', Resource: '*' }] }] } as never;
        return null;
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    direct.destroy();
    await proxy.close();
  });

  it('a read-only-prefix key lists and reads reports/ only, and writes nothing', async () => {
    const c = client('reader');
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'reports/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['reports/q1.csv', 'reports/q2.csv']);
    expect(await (await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' }))).Body?.transformToString()).toBe('content of reports/q1.csv');

    const listAll = await failure(c.send(new ListObjectsV2Command({ Bucket: 'data' })));
    expect(listAll).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(listAll.message).toMatch(/s3:ListBucket on arn:aws:s3:::data\b/);
    expect(listAll.message).not.toMatch(/reports\/\*|Statement|Sid/); // never the policy text
    expect(await failure(c.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'secret/' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    const read = await failure(c.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' })));
    expect(read).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(read.message).toMatch(/s3:GetObject on arn:aws:s3:::data\/secret\/plan\.txt/);
    const write = await failure(c.send(new PutObjectCommand({ Bucket: 'data', Key: 'reports/new.csv', Body: Buffer.from('x') })));
    expect(write.message).toMatch(/s3:PutObject/);
    expect(await exists('reports/new.csv')).toBe(false);
    expect(await failure(c.send(new GetObjectCommand({ Bucket: 'other', Key: 'reports/q1.csv' })))).toMatchObject({ name: 'AccessDenied' });
  });

  it('ListBuckets shows only the buckets where the key may do something; it needs s3:ListAllMyBuckets', async () => {
    const seen = await client('reader').send(new ListBucketsCommand({}));
    expect(seen.Buckets?.map((b) => b.Name)).toEqual(['data']);
    expect((await client('plain').send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort()).toEqual(['data', 'other']);
    const denied = await failure(client('nodelete').send(new ListBucketsCommand({})));
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(denied.message).toMatch(/s3:ListAllMyBuckets/);
  });

  it('a deny-delete key writes and reads but cannot delete', async () => {
    const c = client('nodelete');
    await c.send(new PutObjectCommand({ Bucket: 'data', Key: 'nd/x.txt', Body: Buffer.from('kept') }));
    expect(await (await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'nd/x.txt' }))).Body?.transformToString()).toBe('kept');
    const del = await failure(c.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'nd/x.txt' })));
    expect(del).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(del.message).toMatch(/s3:DeleteObject on arn:aws:s3:::data\/nd\/x\.txt because an explicit deny/);
    expect(await exists('nd/x.txt')).toBe(true);
    expect(await failure(c.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'nd/x.txt' }] } })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await exists('nd/x.txt')).toBe(true);
  });

  it('aws:SourceIp: a key allowed from 127.0.0.1/32 reads, one allowed only from 10.0.0.0/8 does not', async () => {
    expect(await (await client('ip-local').send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' }))).Body?.transformToString()).toBe('content of reports/q1.csv');
    expect(await failure(client('ip-private').send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  it('CopyObject needs s3:GetObject on the source and s3:PutObject on the target', async () => {
    const c = client('copier');
    await c.send(new CopyObjectCommand({ Bucket: 'data', Key: 'dst/a.txt', CopySource: 'data/src/a.txt' }));
    expect(await (await direct.send(new GetObjectCommand({ Bucket: data, Key: 'dst/a.txt' }))).Body?.transformToString()).toBe('content of src/a.txt');
    const noTarget = await failure(c.send(new CopyObjectCommand({ Bucket: 'data', Key: 'src/b.txt', CopySource: 'data/src/a.txt' })));
    expect(noTarget.message).toMatch(/s3:PutObject on arn:aws:s3:::data\/src\/b\.txt/);
    const noSource = await failure(c.send(new CopyObjectCommand({ Bucket: 'data', Key: 'dst/plan.txt', CopySource: 'data/secret/plan.txt' })));
    expect(noSource).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(noSource.message).toMatch(/s3:GetObject on arn:aws:s3:::data\/secret\/plan\.txt/);
    expect(await exists('src/b.txt')).toBe(false);
    expect(await exists('dst/plan.txt')).toBe(false);
  });

  it('DeleteObjects with one forbidden key is refused as a whole: nothing is deleted', async () => {
    const c = client('cleaner');
    const refused = await failure(c.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'tmp/a.txt' }, { Key: 'keep/b.txt' }, { Key: 'tmp/c.txt' }] } })));
    expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(refused.message).toMatch(/s3:DeleteObject on arn:aws:s3:::data\/keep\/b\.txt/);
    expect(await Promise.all(['tmp/a.txt', 'keep/b.txt', 'tmp/c.txt'].map(exists))).toEqual([true, true, true]);
    const done = await c.send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'tmp/a.txt' }, { Key: 'tmp/c.txt' }] } }));
    expect(done.Deleted?.map((d) => d.Key).sort()).toEqual(['tmp/a.txt', 'tmp/c.txt']);
    expect(await Promise.all(['tmp/a.txt', 'keep/b.txt', 'tmp/c.txt'].map(exists))).toEqual([false, true, false]);
  });

  it('aws:PrincipalTag variables come from the key tags', async () => {
    const c = client('team');
    expect((await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q2.csv' }))).$metadata.httpStatusCode).toBe(200);
    expect(await failure(c.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' })))).toMatchObject({ name: 'AccessDenied' });
  });

  it('hmacFetcher may answer { secretKey, policies }; a plain secret string still works without policies', async () => {
    const f = client('fetched-reader');
    expect((await f.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' }))).$metadata.httpStatusCode).toBe(200);
    expect(await failure(f.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    // Cached answer: the policy still applies on the second request.
    expect(await failure(f.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect((await client('fetched-plain').send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' }))).$metadata.httpStatusCode).toBe(200);
  });

  it('an hmacFetcher answer with an invalid policy fails closed with 500, without the policy or secret in the answer', async () => {
    const bad = await failure(client('fetched-bad').send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' })));
    expect(bad).toMatchObject({ name: 'InternalError', status: 500 });
    expect(bad.message).not.toMatch(/s3:Fly|secret/);
  });

  it('presigned URLs are held to the key policies too', async () => {
    const c = client('reader');
    const ok = await fetch(await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' }), { expiresIn: 60 }));
    expect(ok.status).toBe(200);
    const no = await fetch(await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' }), { expiresIn: 60 }));
    expect(no.status).toBe(403);
    expect(await no.text()).toMatch(/<Code>AccessDenied<\/Code>.*s3:GetObject on arn:aws:s3:::data\/secret\/plan\.txt/s);
  });

  it('browser POST uploads are PutObject of the form key for the policies (keystore and hmacFetcher keys)', async () => {
    const post = async (name: string, key: string) => {
      const { url, fields } = await createPresignedPost(client(name), { Bucket: 'data', Key: key, Expires: 60 });
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob(['posted']), 'f.txt');
      const r = await fetch(url, { method: 'POST', body: form, redirect: 'manual' });
      return { status: r.status, body: await r.text() };
    };
    expect((await post('nodelete', 'posted/ok.txt')).status).toBe(204);
    expect(await exists('posted/ok.txt')).toBe(true);
    for (const name of ['reader', 'fetched-reader']) {
      const refused = await post(name, 'reports/posted.csv');
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/s3:PutObject on arn:aws:s3:::data\/reports\/posted\.csv/);
    }
    expect(await exists('reports/posted.csv')).toBe(false);
  });

  it('a policy and an authorize callback combine: both must allow', async () => {
    const calls: string[] = [];
    const both = await startProxy({
      buckets: { data: bucketConfig(data) },
      policies: { readOnlyReports },
      hmacKeystore: [key('reader', ['readOnlyReports'])],
      authorize: (_token, _bucket, r) => {
        calls.push(r.key ?? '');
        return r.key !== 'reports/q2.csv';
      },
    });
    const c = proxyClient(both.endpoint, 'reader', secret('reader'));
    try {
      expect((await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q1.csv' }))).$metadata.httpStatusCode).toBe(200);
      expect(await failure(c.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/q2.csv' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(await failure(c.send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/plan.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
      // The policy refused secret/ before the callback was asked.
      expect(calls).toEqual(['reports/q1.csv', 'reports/q2.csv']);
    } finally {
      c.destroy();
      await both.close();
    }
  });
});
