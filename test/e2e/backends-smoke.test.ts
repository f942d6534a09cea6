/**
 * The real backends are up, and strict where the proxy's tests rely on it: RGW and Swift verify
 * SigV4 (a wrong secret gets 403 SignatureDoesNotMatch), and RGW's second user cannot read the
 * first user's bucket. Talks to each backend directly, not through the proxy.
 */
import { connect } from 'node:net';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { backend, backendClient, createTestBucket, redisUrl, rgwAltUser, type BackendName } from '../helpers/backends';

async function rejection(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof S3ServiceException) return err;
    throw err;
  }
  throw new Error('expected the request to be rejected, it succeeded');
}

describe.each<BackendName>(['moto', 'rgw', 'swift'])('%s backend', (which) => {
  it('listens on 127.0.0.1', () => {
    expect(backend(which).endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('stores and returns an object', async () => {
    const client = backendClient(which);
    const bucket = await createTestBucket('smoke', which);
    try {
      const body = `hello from the ${which} smoke test ✓`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt', Body: body }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt' }));
      expect(await got.Body?.transformToString()).toBe(body);
      const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(list.Contents?.map((o) => o.Key)).toEqual(['dir/hello.txt']);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt' }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
  });
});

describe.each<BackendName>(['rgw', 'swift'])('%s verifies SigV4', (which) => {
  it('rejects a request signed with a wrong secret: 403 SignatureDoesNotMatch', async () => {
    const bucket = await createTestBucket('sigcheck', which);
    const { accessKey } = backend(which);
    const forged = backendClient(which, { accessKey, secretKey: 'wrong-secret-0000000000000000000000000000' });
    const good = backendClient(which);
    try {
      const err = await rejection(forged.send(new PutObjectCommand({ Bucket: bucket, Key: 'forged.txt', Body: 'must not be stored' })));
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.name).toBe('SignatureDoesNotMatch');
      const list = await good.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(list.Contents ?? []).toEqual([]);
      await good.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      forged.destroy();
      good.destroy();
    }
  });
});

describe('rgw second user (alt)', () => {
  it('works on its own bucket and is denied the main user\u2019s bucket', async () => {
    const alt = rgwAltUser();
    expect(alt.accessKey).not.toBe(backend('rgw').accessKey);
    const main = backendClient('rgw');
    const altClient = backendClient('rgw', alt);
    const mainBucket = await createTestBucket('main-owned', 'rgw');
    const altBucket = await createTestBucket('alt-owned', 'rgw', alt);
    try {
      await main.send(new PutObjectCommand({ Bucket: mainBucket, Key: 'secret.txt', Body: 'main only' }));
      const err = await rejection(altClient.send(new GetObjectCommand({ Bucket: mainBucket, Key: 'secret.txt' })));
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.name).toBe('AccessDenied');

      await altClient.send(new PutObjectCommand({ Bucket: altBucket, Key: 'mine.txt', Body: 'alt data' }));
      const got = await altClient.send(new GetObjectCommand({ Bucket: altBucket, Key: 'mine.txt' }));
      expect(await got.Body?.transformToString()).toBe('alt data');

      await main.send(new DeleteObjectCommand({ Bucket: mainBucket, Key: 'secret.txt' }));
      await main.send(new DeleteBucketCommand({ Bucket: mainBucket }));
      await altClient.send(new DeleteObjectCommand({ Bucket: altBucket, Key: 'mine.txt' }));
      await altClient.send(new DeleteBucketCommand({ Bucket: altBucket }));
    } finally {
      main.destroy();
      altClient.destroy();
    }
  });
});

describe('redis', () => {
  it('answers PING on 127.0.0.1', async () => {
    const url = new URL(redisUrl());
    expect(url.hostname).toBe('127.0.0.1');
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      let data = '';
      socket.setTimeout(5_000, () => socket.destroy(new Error('redis: no reply within 5 s')));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
        if (data.includes('\r\n')) {
          socket.end();
          resolve(data.trim());
        }
      });
      socket.on('error', reject);
    });
    expect(reply).toBe('+PONG');
  });
});
