/**
 * Cached secrets and decisions are dropped by revokeAccessKey / invalidateBucket (this process).
 */
import { randomBytes } from 'node:crypto';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { backend, createTestBucket } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';

describe('revocation (moto)', () => {
  let proxy: RunningProxy;
  const secrets = new Map<string, string>([['rotating', 'rotating-secret-00000000']]);
  let allow = true;
  let fetches = 0;

  beforeAll(async () => {
    const be = backend('moto');
    const bucket = await createTestBucket(`revoke-${randomBytes(2).toString('hex')}`, 'moto');
    proxy = await startProxy({
      buckets: { data: { host: be.host, port: be.port, addressingStyle: 'path', backendBucket: bucket, accessKey: be.accessKey, secretKey: be.secretKey, profile: 'moto' } },
      hmacFetcher: (ak) => {
        fetches++;
        return secrets.get(ak) ?? null;
      },
      authorize: () => allow,
    });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('a revoked key keeps working from cache until revokeAccessKey, then fails', async () => {
    const c = proxyClient(proxy.endpoint, 'rotating', 'rotating-secret-00000000');
    await c.send(new HeadBucketCommand({ Bucket: 'data' }));
    await c.send(new HeadBucketCommand({ Bucket: 'data' }));
    expect(fetches).toBe(1); // cached
    secrets.delete('rotating');
    await c.send(new HeadBucketCommand({ Bucket: 'data' })); // still cached (ttl 300 s)
    proxy.middleware.revokeAccessKey('rotating');
    await expect(c.send(new HeadBucketCommand({ Bucket: 'data' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    c.destroy();
  });

  it('invalidateBucket drops cached authorization decisions', async () => {
    secrets.set('other', 'other-secret-000000000000');
    const c = proxyClient(proxy.endpoint, 'other', 'other-secret-000000000000');
    await c.send(new HeadBucketCommand({ Bucket: 'data' }));
    allow = false;
    await c.send(new HeadBucketCommand({ Bucket: 'data' })); // cached "allow"
    proxy.middleware.invalidateBucket('data');
    await expect(c.send(new HeadBucketCommand({ Bucket: 'data' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    c.destroy();
  });
});
