/**
 * `OspMiddleware.update(options)` (issue [13], live reload): new options take effect for new
 * requests at once, while a large download that started before the update completes intact.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { backend, createBucketWithBigObject } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import type { OspOptions } from '../../lib/options';
import { OspConfigError } from '../../lib/errors';

const OLD_KEY = { accessKey: 'update-old', secretKey: 'update-old-secret-0123456789' };
const NEW_KEY = { accessKey: 'update-new', secretKey: 'update-new-secret-0123456789' };
const SIZE = 200 * 1024 * 1024;

describe('ospMiddleware update()', () => {
  let proxy: RunningProxy;
  let options: OspOptions;
  let bucket: string;
  let digest: string;
  beforeAll(async () => {
    const b = backend('moto');
    ({ bucket, bigSha256: digest } = await createBucketWithBigObject('update', 'moto', SIZE));
    options = {
      buckets: { data: { host: b.host, port: b.port, tls: false, addressingStyle: 'path', backendBucket: bucket, accessKey: b.accessKey, secretKey: b.secretKey, profile: 'moto' } },
      hmacKeystore: [OLD_KEY],
    };
    proxy = await startProxy(options);
  });
  afterAll(async () => proxy?.close());

  it('a 200 MiB download in flight completes; a removed key is refused and a new key works at once', async () => {
    const oldClient = proxyClient(proxy.endpoint, OLD_KEY.accessKey, OLD_KEY.secretKey);
    const newClient = proxyClient(proxy.endpoint, NEW_KEY.accessKey, NEW_KEY.secretKey);
    const big = await oldClient.send(new GetObjectCommand({ Bucket: 'data', Key: 'big.bin' }));
    const stream = big.Body as http.IncomingMessage;
    const hash = createHash('sha256');
    let received = 0;
    let updated = false;
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        if (!updated && received > 8 * 1024 * 1024) {
          // Mid-transfer: the old key goes, a new one comes.
          updated = true;
          stream.pause();
          proxy.middleware.update({ ...options, hmacKeystore: [NEW_KEY] });
          (async () => {
            const t0 = Date.now();
            await expect(oldClient.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
            const fresh = await newClient.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }));
            expect(await fresh.Body!.transformToString()).toBe('small');
            expect(Date.now() - t0).toBeLessThan(1000);
          })().then(() => stream.resume(), reject);
        }
      });
      stream.on('end', resolve);
      stream.on('error', reject);
      stream.on('close', () => (received === SIZE ? resolve() : reject(new Error(`download cut short at ${received} bytes`))));
    });
    await done;
    expect(updated).toBe(true);
    expect(received).toBe(SIZE);
    expect(hash.digest('hex')).toBe(digest);
    oldClient.destroy();
    newClient.destroy();
  });

  it('invalid options are refused and the current ones stay', async () => {
    expect(() => proxy.middleware.update({ ...options, hmacKeystore: [{ accessKey: '', secretKey: 'x' }] })).toThrow(OspConfigError);
    expect(() => proxy.middleware.update({ ...options, hmacKeystore: [NEW_KEY], redis: 'redis://127.0.0.1:1' })).toThrow(/redis/);
    const client = proxyClient(proxy.endpoint, NEW_KEY.accessKey, NEW_KEY.secretKey);
    const got = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }));
    expect(await got.Body!.transformToString()).toBe('small');
    client.destroy();
  });
});
