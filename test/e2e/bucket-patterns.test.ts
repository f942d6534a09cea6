/**
 * Bucket patterns and bucket-level operations (issue 8) against Ceph RGW and moto:
 * tenant prefixes, CreateBucket/DeleteBucket through the proxy, ListBuckets merged from the
 * backends, per-caller backend identities, CopyObject within a pattern.
 */
import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutBucketTaggingCommand,
  GetBucketTaggingCommand,
  PutBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetBucketAclCommand,
  PutBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  PutObjectLockConfigurationCommand,
  GetObjectLockConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { backend, rgwAltUser, type Backend } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';

const suffix = randomBytes(3).toString('hex');
const KEYS = {
  root: { accessKey: 'root-user', secretKey: 'root-secret-000000000000', buckets: ['acme-*', 'beta-*'] },
  acme: { accessKey: 'acme-admin', secretKey: 'acme-secret-000000000000', buckets: ['acme-*'] },
  acmeReader: { accessKey: 'acme-reader', secretKey: 'acme-reader-secret-0000', buckets: ['acme-*'] },
  beta: { accessKey: 'beta-user', secretKey: 'beta-secret-000000000000', buckets: ['beta-*'] },
  alice: { accessKey: 'alice', secretKey: 'alice-secret-00000000000', buckets: ['priv-*'] },
  bob: { accessKey: 'bob', secretKey: 'bob-secret-0000000000000', buckets: ['priv-*'] },
};

describe('bucket patterns (RGW + moto)', () => {
  let rgw: Backend;
  let moto: Backend;
  let proxy: RunningProxy;
  const clients: S3Client[] = [];
  const client = (k: { accessKey: string; secretKey: string }) => {
    const c = proxyClient(proxy.endpoint, k.accessKey, k.secretKey);
    clients.push(c);
    return c;
  };
  const fetched: string[] = [];

  beforeAll(async () => {
    rgw = backend('rgw');
    moto = backend('moto');
    const alt = rgwAltUser();
    proxy = await startProxy({
      buckets: {
        'acme-*': { host: rgw.host, port: rgw.port, addressingStyle: 'path', accessKey: rgw.accessKey, secretKey: rgw.secretKey, profile: 'ceph-rgw' },
        'beta-*': { host: moto.host, port: moto.port, addressingStyle: 'path', accessKey: moto.accessKey, secretKey: moto.secretKey, profile: 'moto' },
        // No credentials: each caller acts as their own backend user.
        'priv-*': { host: rgw.host, port: rgw.port, addressingStyle: 'path', profile: 'ceph-rgw', ttl: 60 },
      },
      hmacKeystore: Object.values(KEYS),
      authorize: (token, _bucket, r) => !(token === KEYS.acmeReader.accessKey && ['CreateBucket', 'DeleteBucket', 'PutObject', 'DeleteObject'].includes(r.operation)),
      bucketCredsFetcher: (token) => {
        fetched.push(String(token));
        if (token === KEYS.alice.accessKey) return { accessKey: rgw.accessKey, secretKey: rgw.secretKey };
        if (token === KEYS.bob.accessKey) return JSON.stringify({ accessKey: alt.accessKey, secretKey: alt.secretKey });
        throw new Error('no backend identity for this caller');
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await proxy?.close();
  });

  it('tenant lifecycle: create → put → list → versioned delete → drop bucket', async () => {
    const acme = client(KEYS.acme);
    const bucket = `acme-life-${suffix}`;
    await acme.send(new CreateBucketCommand({ Bucket: bucket }));
    await acme.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await acme.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: Buffer.from('v1') }));
    await acme.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: Buffer.from('v2') }));
    expect((await acme.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((c) => c.Key)).toEqual(['doc.txt']);
    await acme.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc.txt' }));
    const versions = await acme.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(versions.Versions?.length).toBe(2);
    expect(versions.DeleteMarkers?.length).toBe(1);
    for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
      await acme.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
    }
    await acme.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(acme.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('the operation reaches authorize: a reader may list but not create buckets', async () => {
    const acme = client(KEYS.acme);
    const bucket = `acme-ro-${suffix}`;
    await acme.send(new CreateBucketCommand({ Bucket: bucket }));
    const reader = client(KEYS.acmeReader);
    await expect(reader.send(new CreateBucketCommand({ Bucket: `acme-nope-${suffix}` }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(reader.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await reader.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
  });

  it('ListBuckets merges the pattern backends and shows each caller only their tenant', async () => {
    await client(KEYS.acme).send(new CreateBucketCommand({ Bucket: `acme-list-${suffix}` }));
    await client(KEYS.beta).send(new CreateBucketCommand({ Bucket: `beta-list-${suffix}` }));
    const names = async (k: { accessKey: string; secretKey: string }) => ((await client(k).send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name as string);
    const root = await names(KEYS.root);
    expect(root).toEqual(expect.arrayContaining([`acme-list-${suffix}`, `beta-list-${suffix}`]));
    expect(new Set(root).size).toBe(root.length); // de-duplicated
    const acme = await names(KEYS.acme);
    expect(acme).toContain(`acme-list-${suffix}`);
    expect(acme.every((n) => n.startsWith('acme-'))).toBe(true);
    const beta = await names(KEYS.beta);
    expect(beta).toContain(`beta-list-${suffix}`);
    expect(beta.every((n) => n.startsWith('beta-'))).toBe(true);
  });

  it('CopyObject between two buckets of the same pattern; a source the caller may not read is refused', async () => {
    const acme = client(KEYS.acme);
    const a = `acme-cpa-${suffix}`;
    const b = `acme-cpb-${suffix}`;
    await acme.send(new CreateBucketCommand({ Bucket: a }));
    await acme.send(new CreateBucketCommand({ Bucket: b }));
    await acme.send(new PutObjectCommand({ Bucket: a, Key: 'src file.txt', Body: Buffer.from('copied') }));
    await acme.send(new CopyObjectCommand({ Bucket: b, Key: 'dst.txt', CopySource: `${a}/src%20file.txt` }));
    expect(await (await acme.send(new GetObjectCommand({ Bucket: b, Key: 'dst.txt' }))).Body?.transformToString()).toBe('copied');
    // beta-user may write beta-* but not read acme-*: the copy must not read it for them.
    const beta = client(KEYS.beta);
    await beta.send(new CreateBucketCommand({ Bucket: `beta-cp-${suffix}` }));
    await expect(beta.send(new CopyObjectCommand({ Bucket: `beta-cp-${suffix}`, Key: 'stolen', CopySource: `${a}/src%20file.txt` }))).rejects.toMatchObject({ name: 'AccessDenied' });
    // root may read both, but they live on different backends: refused clearly.
    await expect(client(KEYS.root).send(new CopyObjectCommand({ Bucket: `beta-cp-${suffix}`, Key: 'x', CopySource: `${a}/src%20file.txt` }))).rejects.toMatchObject({
      name: 'NotImplemented',
      $metadata: { httpStatusCode: 501 },
    });
  });

  it('bucket sub-resources pass through (tagging, CORS, lifecycle, policy, ACL, encryption, object lock) on moto', async () => {
    const beta = client(KEYS.beta);
    const bucket = `beta-sub-${suffix}`;
    await beta.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await beta.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'team', Value: 'beta' }] } }));
    expect((await beta.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet).toEqual([{ Key: 'team', Value: 'beta' }]);
    await beta.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://app.example'] }] } }));
    expect((await beta.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules?.[0]?.AllowedOrigins).toEqual(['https://app.example']);
    await beta.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }] } }),
    );
    expect((await beta.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules?.[0]?.ID).toBe('expire');
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] });
    await beta.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
    expect(JSON.parse((await beta.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}').Statement[0].Action).toBe('s3:GetObject');
    expect((await beta.send(new GetBucketAclCommand({ Bucket: bucket }))).Grants?.length).toBeGreaterThan(0);
    await beta.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    expect((await beta.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    await beta.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    expect((await beta.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration?.Rule?.DefaultRetention?.Mode).toBe('GOVERNANCE');
  });

  it('per-caller backend identities: alice and bob act as their own RGW users', async () => {
    const alice = client(KEYS.alice);
    const bob = client(KEYS.bob);
    await alice.send(new CreateBucketCommand({ Bucket: `priv-alice-${suffix}` }));
    await bob.send(new CreateBucketCommand({ Bucket: `priv-bob-${suffix}` }));
    for (let i = 0; i < 3; i++) {
      // Interleaved, so a cache keyed by bucket alone would hand one user's credentials to the other.
      await alice.send(new PutObjectCommand({ Bucket: `priv-alice-${suffix}`, Key: `a${i}`, Body: Buffer.from('alice') }));
      await bob.send(new PutObjectCommand({ Bucket: `priv-bob-${suffix}`, Key: `b${i}`, Body: Buffer.from('bob') }));
    }
    // Each backend user owns only their bucket: RGW itself refuses the other one.
    await expect(alice.send(new GetObjectCommand({ Bucket: `priv-bob-${suffix}`, Key: 'b0' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(bob.send(new GetObjectCommand({ Bucket: `priv-alice-${suffix}`, Key: 'a0' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(await (await bob.send(new GetObjectCommand({ Bucket: `priv-bob-${suffix}`, Key: 'b2' }))).Body?.transformToString()).toBe('bob');
    // ListBuckets lists each caller's own backend buckets.
    const aliceNames = ((await alice.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
    const bobNames = ((await bob.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
    expect(aliceNames).toContain(`priv-alice-${suffix}`);
    expect(aliceNames).not.toContain(`priv-bob-${suffix}`);
    expect(bobNames).toEqual([`priv-bob-${suffix}`]);
    // Cached per (caller, bucket): one fetch per pair, not per request.
    expect(fetched.filter((t) => t === 'alice').length).toBeLessThanOrEqual(3);
  });
});
