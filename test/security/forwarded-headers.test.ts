/**
 * What reaches the backend under the proxy's keys (issue [1/5]), against real Ceph RGW:
 *
 * - `x-amz-bypass-governance-retention: true` is checked by RGW against the proxy's credentials,
 *   so the proxy requires `s3:BypassGovernanceRetention` of the caller: a key allowed only to
 *   delete cannot remove a version under governance-mode Object Lock.
 * - Headers the client sends that a backend could act on without the proxy checking them
 *   (vendor-internal, client address, other auth schemes, `_` aliases) never reach it, behind a
 *   recording relay; the signed, allowed ones do.
 */
import { CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, HeadObjectCommand, PutObjectCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { PolicyDocument } from '../../lib/policy/types';
import { backend, backendClient, createTestBucket, uniqueName } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { startRelay, sendRaw, type Relay } from '../helpers/recording-relay';
import { signHeaders } from '../helpers/independent-signer';

const secret = (name: string) => `${name}-secret-0123456789abcdef`;
const DELETE_ONLY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:GetObjectVersion'], Resource: 'arn:aws:s3:::locked/*' }],
};
const MAY_BYPASS: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:BypassGovernanceRetention'], Resource: 'arn:aws:s3:::locked/*' }],
};

describe('governance-mode Object Lock bypass needs s3:BypassGovernanceRetention (Ceph RGW)', () => {
  const rgw = backend('rgw');
  let bucket: string;
  let direct: S3Client;
  let proxy: RunningProxy;
  let deleter: S3Client;
  let admin: S3Client;

  /** A new object version under governance retention for a day, written directly. */
  async function lockedVersion(key: string): Promise<string> {
    const put = await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'LOCKED' }));
    const versionId = put.VersionId as string;
    await direct.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: versionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) } }));
    return versionId;
  }
  const exists = (key: string, versionId: string) =>
    direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).then(
      () => true,
      (err: { $metadata?: { httpStatusCode?: number } }) => (err.$metadata?.httpStatusCode === 404 ? false : Promise.reject(err)),
    );

  beforeAll(async () => {
    bucket = uniqueName('osp-lock');
    direct = backendClient('rgw');
    await direct.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    proxy = await startProxy({
      buckets: { locked: { host: rgw.host, port: rgw.port, tls: false, addressingStyle: 'path', backendBucket: bucket, accessKey: rgw.accessKey, secretKey: rgw.secretKey, profile: 'ceph-rgw' } },
      hmacKeystore: [
        { accessKey: 'lock-deleter', secretKey: secret('lock-deleter'), policies: [DELETE_ONLY] },
        { accessKey: 'lock-admin', secretKey: secret('lock-admin'), policies: [MAY_BYPASS] },
      ],
    });
    deleter = proxyClient(proxy.endpoint, 'lock-deleter', secret('lock-deleter'), { requestChecksumCalculation: 'WHEN_REQUIRED' });
    admin = proxyClient(proxy.endpoint, 'lock-admin', secret('lock-admin'), { requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
  afterAll(async () => {
    deleter?.destroy();
    admin?.destroy();
    direct?.destroy();
    await proxy?.close();
  });

  it('RGW itself refuses to delete the locked version without the bypass', async () => {
    const versionId = await lockedVersion('plain.txt');
    await expect(deleter.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'plain.txt', VersionId: versionId }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(await exists('plain.txt', versionId)).toBe(true);
  });

  it('DeleteObject with the bypass from a key allowed only to delete: 403 AccessDenied from the proxy, the version stays', async () => {
    const versionId = await lockedVersion('a.txt');
    const err = await deleter.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'a.txt', VersionId: versionId, BypassGovernanceRetention: true })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((err as Error).message).toContain('s3:BypassGovernanceRetention');
    expect(await exists('a.txt', versionId)).toBe(true);
  });

  it('a hand-signed request with the header name and value in other case is refused the same way', async () => {
    const versionId = await lockedVersion('b.txt');
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({
      method: 'DELETE',
      host,
      path: '/locked/b.txt',
      query: { versionId },
      headers: { 'X-Amz-Bypass-Governance-Retention': 'TRUE' },
      accessKeyId: 'lock-deleter',
      secretAccessKey: secret('lock-deleter'),
    });
    const res = await sendRaw(proxy.port, { method: 'DELETE', target: `/locked/b.txt?versionId=${encodeURIComponent(versionId)}`, headers });
    expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
    expect(res.body).toContain('s3:BypassGovernanceRetention'); // the proxy's answer, not RGW's
    expect(await exists('b.txt', versionId)).toBe(true);
  });

  it('an `_` alias of the header (which RGW reads as the header) never reaches RGW: the locked version stays', async () => {
    const versionId = await lockedVersion('u.txt');
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({
      method: 'DELETE',
      host,
      path: '/locked/u.txt',
      query: { versionId },
      headers: { x_amz_bypass_governance_retention: 'true' },
      accessKeyId: 'lock-deleter',
      secretAccessKey: secret('lock-deleter'),
    });
    const res = await sendRaw(proxy.port, { method: 'DELETE', target: `/locked/u.txt?versionId=${encodeURIComponent(versionId)}`, headers });
    expect([res.status, res.code]).toEqual([403, 'AccessDenied']); // RGW's answer: the version is locked
    expect(res.body).not.toContain('s3:BypassGovernanceRetention');
    expect(await exists('u.txt', versionId)).toBe(true);
  });

  it('DeleteObjects with the bypass: refused as a whole, the version stays', async () => {
    const versionId = await lockedVersion('c.txt');
    const err = await deleter
      .send(new DeleteObjectsCommand({ Bucket: 'locked', BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'c.txt', VersionId: versionId }] } }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(await exists('c.txt', versionId)).toBe(true);
  });

  it('a key allowed s3:BypassGovernanceRetention deletes the locked version', async () => {
    const versionId = await lockedVersion('d.txt');
    await admin.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'd.txt', VersionId: versionId, BypassGovernanceRetention: true }));
    expect(await exists('d.txt', versionId)).toBe(false);
    const other = await lockedVersion('e.txt');
    const out = await admin.send(new DeleteObjectsCommand({ Bucket: 'locked', BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'e.txt', VersionId: other }] } }));
    expect(out.Errors ?? []).toEqual([]);
    expect(await exists('e.txt', other)).toBe(false);
  });
});

describe('ACL and tagging headers on PutObject need s3:PutObjectAcl / s3:PutObjectTagging, as in S3 (Ceph RGW)', () => {
  const rgw = backend('rgw');
  let real: string;
  let proxy: RunningProxy;
  let writer: S3Client;
  let direct: S3Client;
  const PUT_ONLY: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::box/*' }] };

  beforeAll(async () => {
    real = await createTestBucket('osp-acl', 'rgw');
    direct = backendClient('rgw');
    proxy = await startProxy({
      buckets: { box: { host: rgw.host, port: rgw.port, tls: false, addressingStyle: 'path', backendBucket: real, accessKey: rgw.accessKey, secretKey: rgw.secretKey, profile: 'ceph-rgw' } },
      hmacKeystore: [{ accessKey: 'acl-writer', secretKey: secret('acl-writer'), policies: [PUT_ONLY] }],
    });
    writer = proxyClient(proxy.endpoint, 'acl-writer', secret('acl-writer'));
  });
  afterAll(async () => {
    writer?.destroy();
    direct?.destroy();
    await proxy?.close();
  });

  it('a key allowed only s3:PutObject cannot upload a public-read or tagged object; nothing is stored', async () => {
    await writer.send(new PutObjectCommand({ Bucket: 'box', Key: 'plain.txt', Body: 'ok' }));
    for (const [key, extra, action] of [
      ['public.txt', { ACL: 'public-read' as const }, 's3:PutObjectAcl'],
      ['tagged.txt', { Tagging: 'a=b' }, 's3:PutObjectTagging'],
    ] as const) {
      const err = await writer.send(new PutObjectCommand({ Bucket: 'box', Key: key, Body: 'x', ...extra })).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((err as Error).message).toContain(action);
      await expect(direct.send(new HeadObjectCommand({ Bucket: real, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    }
  });

  it('a browser POST upload whose form sets acl or tagging is held to the same rule', async () => {
    const post = async (key: string, fields: Record<string, string>) => {
      const presigned = await createPresignedPost(writer, { Bucket: 'box', Key: key, Fields: fields, Conditions: Object.entries(fields).map(([k, v]) => ({ [k]: v })), Expires: 60 });
      const form = new FormData();
      for (const [k, v] of Object.entries(presigned.fields)) form.append(k, v);
      form.append('file', new Blob(['posted']), 'f.txt');
      const r = await fetch(presigned.url, { method: 'POST', body: form, redirect: 'manual' });
      return { status: r.status, body: await r.text() };
    };
    expect((await post('posted-plain.txt', {})).status).toBe(204);
    const tagging = '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>';
    for (const [key, fields, action] of [
      ['posted-public.txt', { acl: 'public-read' }, 's3:PutObjectAcl'],
      ['posted-tagged.txt', { tagging }, 's3:PutObjectTagging'],
    ] as const) {
      const refused = await post(key, fields);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain(action);
      await expect(direct.send(new HeadObjectCommand({ Bucket: real, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    }
  });
});

describe('headers a client sends that the backend must never act on (Ceph RGW behind a recording relay)', () => {
  const rgw = backend('rgw');
  let relay: Relay;
  let proxy: RunningProxy;
  let host: string;
  const CLIENT = { accessKeyId: 'hdr-client', secretAccessKey: secret('hdr-client') };

  beforeAll(async () => {
    const real = await createTestBucket('osp-hdr', 'rgw');
    relay = await startRelay({ host: rgw.host, port: rgw.port });
    const bucket = { host: relay.host, port: relay.port, tls: false, addressingStyle: 'path' as const, backendBucket: real, accessKey: rgw.accessKey, secretKey: rgw.secretKey };
    proxy = await startProxy({
      buckets: {
        plain: { ...bucket, profile: 'ceph-rgw' },
        // A profile that lets RGW receive one family of vendor headers, when the client signs them.
        vendor: { ...bucket, profile: { preset: 'ceph-rgw', forwardHeaders: ['x-rgw-test-*'] } },
      },
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
    });
    host = `127.0.0.1:${proxy.port}`;
  });
  afterAll(async () => {
    await proxy?.close();
    await relay?.close();
  });
  beforeEach(() => relay.clear());

  const HOSTILE: Record<string, string> = {
    'x-rgw-storage-class': 'COLD',
    'x-minio-internal-server-side-encryption-sealed-key': 'forged',
    'x-minio-source-replication-request': 'true',
    'x-minio-force-delete': 'true',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    forwarded: 'for=10.0.0.1;proto=https',
    'x-real-ip': '10.0.0.1',
    'x-auth-token': 'AUTH_tk-forged',
    'x-storage-token': 'AUTH_tk-forged',
    'x-backend-storage-policy-index': '1',
    'x-object-sysmeta-s3api-acl': 'forged',
    x_amz_acl: 'public-read',
    'ibm-service-instance-id': 'someone-elses-instance',
  };

  it('vendor-internal, client-address, auth-token and _-aliased headers are dropped, signed or not; S3 headers arrive', async () => {
    // Everything signed by the client: signing does not make an internal header acceptable.
    const headers = await signHeaders({
      method: 'PUT',
      host,
      path: '/plain/h.txt',
      headers: { ...HOSTILE, 'x-amz-meta-kept': 'yes', 'content-type': 'text/plain', 'content-length': '2' },
      ...CLIENT,
    });
    const res = await sendRaw(proxy.port, { method: 'PUT', target: '/plain/h.txt', headers: { ...headers, 'cache-control': 'no-cache' }, body: 'hi' });
    expect(res.status).toBe(200); // RGW verified the proxy's signature over what it forwarded
    expect(relay.requests).toHaveLength(1);
    const seen = relay.requests[0]!.headers;
    for (const name of Object.keys(HOSTILE)) expect([name, seen[name]]).toEqual([name, undefined]);
    expect(seen['x-amz-meta-kept']).toBe('yes');
    expect(seen['content-type']).toBe('text/plain');
    expect(seen['cache-control']).toBe('no-cache'); // unsigned standard header, as S3 takes it
  });

  it('a vendor header the profile allows arrives only when the client signed it', async () => {
    const headers = await signHeaders({ method: 'GET', host, path: '/vendor/none.txt', headers: { 'x-rgw-test-signed': '1', 'x-minio-force-delete': 'true' }, ...CLIENT });
    const res = await sendRaw(proxy.port, { method: 'GET', target: '/vendor/none.txt', headers: { ...headers, 'x-rgw-test-unsigned': '1', 'x-forwarded-for': '10.0.0.1' } });
    expect(res.status).toBe(404); // no such key, answered by RGW
    const seen = relay.requests[0]!.headers;
    expect(seen['x-rgw-test-signed']).toBe('1');
    expect(seen['x-rgw-test-unsigned']).toBeUndefined();
    expect(seen['x-minio-force-delete']).toBeUndefined(); // not in this profile's list
    expect(seen['x-forwarded-for']).toBeUndefined();
  });
});
