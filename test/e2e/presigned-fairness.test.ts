/**
 * Issue 1: one key could block every tenant's presigned URLs. A key used 50 SigV2 presigned URLs
 * expiring in 2100 once each; the bounded presigned-use store filled and every other key's fresh
 * URL got 503 SlowDown until restart. Now SigV2 `Expires` is capped (7 days, as SigV4) and each
 * key holds at most its share of the store. URLs are minted by boto3 (SigV2, its default), sent
 * over real HTTP to the proxy in front of moto.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pino from 'pino';
import { Registry } from 'prom-client';
import { lineSink } from '../helpers/log-lines';
import { backend, backendClient, createTestBucket } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { call } from '../helpers/raw-http';
import { createMemoryUsageStore } from '../../lib/cache/memory-usage-store';
import { ospMetrics } from '../../lib/metrics';
import { metric, parseMetrics } from './server-helpers';

const run = promisify(execFile);
const FLOODER = { accessKey: 'flooder', secretKey: 'flooder-secret-0123456789abcd' };
const VICTIM = { accessKey: 'victim', secretKey: 'victim-secret-0123456789abcdef' };

/** `count` boto3 SigV2 presigned GETs (default config) of distinct keys, each valid `expiresIn` seconds. */
async function boto3Urls(endpoint: string, bucket: string, who: { accessKey: string; secretKey: string }, count: number, expiresIn: number): Promise<string[]> {
  const script = `
import json, sys, boto3
endpoint, bucket, ak, sk, count, expires = sys.argv[1:7]
c = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1")
print(json.dumps([c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k%d" % i}, ExpiresIn=int(expires)) for i in range(int(count))]))
`;
  const { stdout } = await run('python3', ['-c', script, endpoint, bucket, who.accessKey, who.secretKey, String(count), String(expiresIn)], { timeout: 60_000 });
  const urls = JSON.parse(stdout.trim().split('\n').pop() as string) as string[];
  expect(urls[0]).toContain('AWSAccessKeyId=');
  return urls;
}

describe('presigned-use store fairness (store of 50 entries)', () => {
  let bucket: string;
  let proxy: RunningProxy;
  const store = createMemoryUsageStore({ maxEntries: 50 });
  const registry = new Registry();
  const logLines: string[] = [];

  beforeAll(async () => {
    const moto = backend('moto');
    bucket = await createTestBucket('fairness', 'moto');
    const direct = backendClient('moto');
    for (let i = 0; i < 50; i++) await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: `object ${i}` }));
    direct.destroy();
    const logger = pino({ level: 'info' }, lineSink(logLines));
    proxy = await startProxy({
      buckets: { [bucket]: { host: moto.host, port: moto.port, addressingStyle: 'path', accessKey: moto.accessKey, secretKey: moto.secretKey } },
      hmacKeystore: [FLOODER, VICTIM],
      maxPresignUrlUsageAttempts: 1,
      usageStore: store,
      logger,
      on: ospMetrics(registry),
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await store.close();
  });

  it('a SigV2 URL expiring in 2100 is refused with 400 AuthorizationQueryParametersError and takes no room', async () => {
    const until2100 = Math.floor((Date.parse('2100-01-01T00:00:00Z') - Date.now()) / 1000);
    const [url] = await boto3Urls(proxy.endpoint, bucket, FLOODER, 1, until2100);
    expect(Math.abs(Number(new URL(url!).searchParams.get('Expires')) - Date.parse('2100-01-01T00:00:00Z') / 1000)).toBeLessThan(60);
    const a = await call(url!);
    expect(a.status).toBe(400);
    expect(a.code).toBe('AuthorizationQueryParametersError');
    expect(store.size()).toBe(0);
    // Within the cap (7 days), SigV2 URLs work as before.
    const [week] = await boto3Urls(proxy.endpoint, bucket, VICTIM, 1, 604_000);
    expect((await call(week!)).status).toBe(200);
    expect((await call(week!)).status).toBe(403); // single use
  });

  it("one key using 50 URLs once each gets 503 SlowDown past its share (5); the other key's fresh URLs still work; metric and log say so", async () => {
    const before = store.size();
    const urls = await boto3Urls(proxy.endpoint, bucket, FLOODER, 50, 600_000);
    const answers = [];
    for (const url of urls) answers.push(await call(url));
    const ok = answers.filter((a) => a.status === 200);
    const slowDown = answers.filter((a) => a.status === 503 && a.code === 'SlowDown');
    expect(ok).toHaveLength(5);
    expect(slowDown).toHaveLength(45);
    expect(ok[0]!.body.toString()).toBe('object 0');
    expect(store.sizeOf(FLOODER.accessKey)).toBe(5);
    // The flooder's counted URLs stay exact: single use, not reset.
    expect((await call(urls[0]!)).status).toBe(403);

    // The share is the key's, whatever the signature version: its SigV4 URLs are refused too.
    const sigv4 = async (who: { accessKey: string; secretKey: string }) => {
      const c = proxyClient(proxy.endpoint, who.accessKey, who.secretKey);
      const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: bucket, Key: 'k1' }), { expiresIn: 3600 });
      c.destroy();
      return url;
    };
    expect((await call(await sigv4(FLOODER))).status).toBe(503);

    const fresh = [...(await boto3Urls(proxy.endpoint, bucket, VICTIM, 3, 3600)), await sigv4(VICTIM)];
    for (const url of fresh) expect((await call(url)).status).toBe(200);
    expect(store.size()).toBe(before + 5 + 4);

    const m = parseMetrics(await registry.metrics());
    expect(metric(m, 'osp_presigned_share_exhausted_total')).toBe(46);
    const logged = logLines.filter((l) => l.includes('holds its whole share of the presigned-use store'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ accessKey: FLOODER.accessKey, share: 5 });
    // The URLs themselves (their signatures) are never logged.
    const signature = new URL(urls[10]!).searchParams.get('Signature')!;
    expect(logLines.join('\n')).not.toContain(signature);
  });
});
