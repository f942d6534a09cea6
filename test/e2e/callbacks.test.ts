/**
 * The user callbacks end to end (moto): bucket resolver, authorize failures, cache TTLs,
 * hmacFetcher caching — and that bad answers become S3 errors, never a crash or a hang.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BucketConfig } from '../../lib/options';
import { backend, createTestBucket, type Backend } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';

const KEY = { accessKey: 'cb-client', secretKey: 'cb-secret-0000000000000' };

function rawRequest(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('callbacks (moto)', () => {
  let be: Backend;
  let bucket: string;
  const started: RunningProxy[] = [];
  const config = (extra: Partial<BucketConfig> = {}): BucketConfig => ({
    host: be.host,
    port: be.port,
    addressingStyle: 'path',
    backendBucket: bucket,
    accessKey: be.accessKey,
    secretKey: be.secretKey,
    profile: 'moto',
    ...extra,
  });
  const start = async (...args: Parameters<typeof startProxy>) => {
    const p = await startProxy(...args);
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    be = backend('moto');
    bucket = await createTestBucket(`cb-${randomBytes(2).toString('hex')}`, 'moto');
  });
  afterAll(async () => {
    for (const p of started) await p.close();
  });

  it('an async bucket resolver routes dynamic names; unknown → NoSuchBucket; a bad answer → 500, not a crash', async () => {
    const seen: Array<string | null> = [];
    const proxy = await start({
      buckets: async (name, { token }) => {
        seen.push(token);
        if (name === 'broken') return { host: 'https://not-a-host' } as BucketConfig;
        return name.startsWith('dyn-') ? config() : undefined;
      },
      hmacKeystore: [KEY],
    });
    const c = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    await c.send(new PutObjectCommand({ Bucket: 'dyn-a', Key: 'r.txt', Body: Buffer.from('resolved') }));
    expect(await (await c.send(new GetObjectCommand({ Bucket: 'dyn-b', Key: 'r.txt' }))).Body?.transformToString()).toBe('resolved');
    await expect(c.send(new GetObjectCommand({ Bucket: 'other', Key: 'r.txt' }))).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    await expect(c.send(new GetObjectCommand({ Bucket: 'broken', Key: 'r.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(seen.every((t) => t === KEY.accessKey)).toBe(true);
    // Still serving after the bad answer.
    await c.send(new HeadBucketCommand({ Bucket: 'dyn-a' }));
    c.destroy();
  });

  it('authorize throwing → 500 InternalError, too slow → 503; both deny, nothing stored', async () => {
    const proxy = await start({
      buckets: { data: config() },
      hmacKeystore: [KEY],
      authorizeTimeoutMs: 200,
      authorize: async (_t, _b, r) => {
        if (r.key === 'throws.txt') throw new Error('policy service exploded');
        if (r.key === 'slow.txt') await new Promise((res) => setTimeout(res, 2_000));
        return true;
      },
    });
    const c = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    await expect(c.send(new PutObjectCommand({ Bucket: 'data', Key: 'throws.txt', Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const t0 = Date.now();
    await expect(c.send(new PutObjectCommand({ Bucket: 'data', Key: 'slow.txt', Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    expect(Date.now() - t0).toBeLessThan(1_500);
    const direct = proxyClient(be.endpoint, be.accessKey, be.secretKey);
    for (const key of ['throws.txt', 'slow.txt']) {
      await expect(direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    }
    direct.destroy();
    c.destroy();
  });

  it('bucket ttl: decisions cached for the ttl, and ttl 0 asks authorize every time', async () => {
    const calls: Record<string, number> = { cached: 0, uncached: 0 };
    const proxy = await start({
      buckets: { cached: config(), uncached: config({ ttl: 0 }) },
      hmacKeystore: [KEY],
      authorize: (_t, b) => {
        calls[b] = (calls[b] ?? 0) + 1;
        return true;
      },
    });
    const c = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    for (let i = 0; i < 3; i++) {
      await c.send(new HeadBucketCommand({ Bucket: 'cached' }));
      await c.send(new HeadBucketCommand({ Bucket: 'uncached' }));
    }
    expect(calls).toEqual({ cached: 1, uncached: 3 });
    c.destroy();
  });

  it('hmacFetcher: found secrets and unknown keys are cached; a throwing fetcher → 503', async () => {
    let fetches = 0;
    const proxy = await start({
      buckets: { data: config() },
      hmacFetcher: async (ak) => {
        fetches++;
        if (ak === 'explodes') throw new Error('secret store down');
        return ak === KEY.accessKey ? KEY.secretKey : null;
      },
    });
    const good = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    const unknown = proxyClient(proxy.endpoint, 'nobody', 'whatever-secret');
    await good.send(new HeadBucketCommand({ Bucket: 'data' }));
    await good.send(new HeadBucketCommand({ Bucket: 'data' }));
    await expect(unknown.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await expect(unknown.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    expect(fetches).toBe(2); // one per key
    const exploding = proxyClient(proxy.endpoint, 'explodes', 'whatever-secret');
    await expect(exploding.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    for (const c of [good, unknown, exploding]) c.destroy();
  });

  it('garbage requests get S3 XML errors, and the proxy keeps serving', async () => {
    const proxy = await start({ buckets: { data: config() }, hmacKeystore: [KEY] });
    for (const [method, path, status] of [
      // The request target is parsed before anything else: a malformed key is a 400 like a malformed bucket.
      ['GET', '/data/%E0%A4%A', 400],
      ['GET', '/%ZZ/key', 400],
      ['PATCH', '/data/key', 403],
      ['GET', '/', 403],
      ['GET', '/data/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=zz', 400],
    ] as const) {
      const res = await rawRequest(proxy.port, method, path);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>\w+<\/Code><Message>[^<]+<\/Message>/);
    }
    const c = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    await c.send(new HeadBucketCommand({ Bucket: 'data' }));
    c.destroy();
  });
});
