/**
 * `options.on`: the observation hooks fire at their moments (moto backend), several sets in an
 * array all fire, in order, and a hook that throws changes nothing for the client.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { backend, createTestBucket } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';

const KEY = { accessKey: 'hooks-client', secretKey: 'hooks-client-secret-0123456789' };

describe('on: { … } observation hooks', () => {
  let proxy: RunningProxy;
  const seen: string[] = [];
  beforeAll(async () => {
    const b = backend('moto');
    const bucket = await createTestBucket('hooks', 'moto');
    proxy = await startProxy({
      buckets: { data: { host: b.host, port: b.port, tls: false, addressingStyle: 'path', backendBucket: bucket, accessKey: b.accessKey, secretKey: b.secretKey, profile: 'moto' } },
      hmacKeystore: [KEY],
      maxPresignedUrlUses: 1,
      on: [
        {
          error: (_req, err) => {
            seen.push(`error:${err.s3Code}`);
            throw new Error('a broken metrics hook');
          },
          backendResponse: (_req, status) => void seen.push(`backend:${status}`),
          presignedUse: (bucketName) => void seen.push(`presigned:${bucketName}`),
          presignedRejected: (bucketName) => void seen.push(`rejected:${bucketName}`),
        },
        { error: (_req, err) => void seen.push(`second:${err.s3Code}`) },
      ],
    });
  });
  afterAll(async () => proxy?.close());

  it('fire at their moments; a throwing hook is ignored', async () => {
    const client = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'k', Body: 'v' }));
    expect(seen).toEqual(['backend:200']);
    const wrong = proxyClient(proxy.endpoint, KEY.accessKey, 'wrong-secret');
    await expect(wrong.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(seen.slice(1)).toEqual(['error:SignatureDoesNotMatch', 'second:SignatureDoesNotMatch']);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'data', Key: 'k' }), { expiresIn: 60 });
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(403);
    expect(seen.slice(3)).toEqual(['presigned:data', 'backend:200', 'rejected:data', 'error:AccessDenied', 'second:AccessDenied']);
    client.destroy();
    wrong.destroy();
  });
});
