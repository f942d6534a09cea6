/**
 * IBM Cloud Object Storage backends end to end: SDK client → proxy → COS stand-in (bearer-token
 * check against the IAM stand-in) → moto, so objects really round-trip. Covers mixed backend auth
 * in one process, single-flight token exchange, early refresh, IAM outage, a token rejected by
 * COS (retry of replayable requests, none for streamed bodies), ibm-service-instance-id and
 * aws-chunked uploads decoded for the 'ibm-cos' profile.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RequestHandler } from 'express';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { backend, backendClient, createTestBucket, uniqueName, type Backend } from '../helpers/backends';
import { startIamStandIn, type IamStandIn } from '../helpers/iam-stand-in';
import { startCosStandIn, type CosStandIn } from '../helpers/cos-stand-in';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { bearerRetryTuning } from '../../lib/backends/ibm-bearer';
import type { BucketConfig, OspOptions } from '../../lib/options';

const CLIENT = { accessKey: 'cos-client', secretKey: 'cos-client-secret-0123456789' };
const KEYS = { b: 'api-key-b', c: 'api-key-c', d: 'api-key-d', conc: 'api-key-conc', short: 'api-key-short', outage: 'api-key-outage' };
const INSTANCE_ID = 'crn:v1:bluemix:public:cloud-object-storage:global:a/0123:4567::';

async function text(out: { Body?: unknown }): Promise<string> {
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).toString('utf8');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IBM COS backends (API key → IAM bearer token)', () => {
  let moto: Backend;
  let iam: IamStandIn;
  let cos: CosStandIn;
  let direct: S3Client;
  const started: { close(): Promise<void> }[] = [];
  const clients: S3Client[] = [];
  const savedEnv = process.env.COS_API_KEY;
  const savedMinAge = bearerRetryTuning.minTokenAgeMs;
  // Buckets on moto: A reached directly with HMAC, the others through the COS stand-in.
  let A: string, B: string, C: string, D: string;

  const cosBucket = (extra: Partial<BucketConfig> = {}, port = cos.port): BucketConfig => ({ host: '127.0.0.1', port, addressingStyle: 'path', profile: 'ibm-cos', ...extra });
  const options = (buckets: Record<string, BucketConfig>, extra: Partial<OspOptions> = {}): OspOptions => ({
    buckets,
    hmacKeystore: [CLIENT],
    iamEndpoint: iam.url,
    ...extra,
  });
  const refreshes: string[] = [];
  async function proxyWith(opts: OspOptions, before?: RequestHandler[]): Promise<{ proxy: RunningProxy; client: S3Client }> {
    const proxy = await startProxy({ ...opts, on: { iamTokenRefresh: (outcome) => void refreshes.push(outcome) } }, before ? { before } : {});
    started.push(proxy);
    const client = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
    clients.push(client);
    return { proxy, client };
  }
  const tokens = (key: string) => iam.tokensFor(key).length;

  let mixed: S3Client;

  beforeAll(async () => {
    moto = backend('moto');
    iam = await startIamStandIn({ apiKeys: Object.values(KEYS) });
    cos = await startCosStandIn({ iam, backendEndpoint: moto.endpoint, backendAccessKey: moto.accessKey, instanceId: INSTANCE_ID });
    direct = backendClient('moto');
    [A, B, C, D] = await Promise.all(['cos-a', 'cos-b', 'cos-c', 'cos-d'].map((n) => createTestBucket(n, 'moto')));
    // Read when credentials are resolved, i.e. per request: set in this (the proxy's) process.
    process.env.COS_API_KEY = KEYS.d;
    bearerRetryTuning.minTokenAgeMs = 0;
    ({ client: mixed } = await proxyWith(
      options(
        {
          [A]: { host: moto.host, port: moto.port, addressingStyle: 'path', accessKey: moto.accessKey, secretKey: moto.secretKey, profile: 'moto' },
          [B]: cosBucket({ apiKey: KEYS.b }),
          [C]: cosBucket(),
        },
        // Consulted only for buckets without credentials in their config (C).
        { bucketCredsFetcher: async (_token, bucket) => (bucket === C ? KEYS.c : Promise.reject(new Error(`unexpected bucket ${bucket}`))) },
      ),
    ));
  });

  afterAll(async () => {
    if (savedEnv === undefined) delete process.env.COS_API_KEY;
    else process.env.COS_API_KEY = savedEnv;
    bearerRetryTuning.minTokenAgeMs = savedMinAge;
    for (const c of clients) c.destroy();
    await Promise.all(started.map((s) => s.close()));
    direct?.destroy();
    await cos?.close();
    await iam?.close();
  });

  afterEach(() => {
    iam.setMode('ok');
    iam.setExpiresIn(3600);
    bearerRetryTuning.minTokenAgeMs = 0;
  });

  it('mixed auth in one process: HMAC, API key in config, from bucketCredsFetcher, from COS_API_KEY', async () => {
    // D: a proxy without a fetcher (a fetcher would take precedence over the environment).
    const { client: envClient } = await proxyWith(options({ [D]: cosBucket() }));
    const before = cos.requests().length;
    await mixed.send(new PutObjectCommand({ Bucket: A, Key: 'a.txt', Body: Buffer.from('via hmac') }));
    expect(cos.requests().length).toBe(before); // A never touches the COS stand-in
    await mixed.send(new PutObjectCommand({ Bucket: B, Key: 'b.txt', Body: Buffer.from('via config api key') }));
    await mixed.send(new PutObjectCommand({ Bucket: C, Key: 'c.txt', Body: Buffer.from('via fetcher api key') }));
    await envClient.send(new PutObjectCommand({ Bucket: D, Key: 'd.txt', Body: Buffer.from('via COS_API_KEY') }));
    for (const [bucket, key, body] of [
      [A, 'a.txt', 'via hmac'],
      [B, 'b.txt', 'via config api key'],
      [C, 'c.txt', 'via fetcher api key'],
      [D, 'd.txt', 'via COS_API_KEY'],
    ]) {
      expect(await text(await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key })))).toBe(body); // really stored
    }
    expect(await text(await mixed.send(new GetObjectCommand({ Bucket: C, Key: 'c.txt' })))).toBe('via fetcher api key');
    expect(await text(await envClient.send(new GetObjectCommand({ Bucket: D, Key: 'd.txt' })))).toBe('via COS_API_KEY');
    // One token per key, each used only for its own buckets.
    expect([tokens(KEYS.b), tokens(KEYS.c), tokens(KEYS.d)]).toEqual([1, 1, 1]);
    const seen = cos.requests().slice(before);
    expect(seen.every((r) => r.accepted)).toBe(true);
    expect(seen.map((r) => r.path.split('/')[1]).sort()).toEqual([B, C, C, D, D].sort());
  });

  it('ibm-service-instance-id from the client is forwarded when signed (CreateBucket)', async () => {
    const E = uniqueName('cos-e');
    const { client } = await proxyWith(options({ [E]: cosBucket({ apiKey: KEYS.b }) }));
    await expect(client.send(new CreateBucketCommand({ Bucket: E }))).rejects.toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['ibm-service-instance-id'] = INSTANCE_ID;
        return next(args);
      },
      { step: 'build', name: 'ibmServiceInstanceId' }, // before signing: the header is signed
    );
    await client.send(new CreateBucketCommand({ Bucket: E }));
    const last = cos.requests().at(-1);
    expect(last?.headers['ibm-service-instance-id']).toBe(INSTANCE_ID);
    await direct.send(new PutObjectCommand({ Bucket: E, Key: 'exists', Body: 'x' })); // the bucket exists on moto
  });

  it('serviceInstanceId from the bucket config is sent when the client sends none', async () => {
    const F = uniqueName('cos-f');
    const { client } = await proxyWith(options({ [F]: cosBucket({ apiKey: KEYS.b, serviceInstanceId: INSTANCE_ID }) }));
    await client.send(new CreateBucketCommand({ Bucket: F }));
    expect(cos.requests().at(-1)?.headers['ibm-service-instance-id']).toBe(INSTANCE_ID);
    await direct.send(new PutObjectCommand({ Bucket: F, Key: 'exists', Body: 'x' }));
  });

  it('an ibm-service-instance-id the client did not sign is dropped; the configured one is sent instead', async () => {
    const G = uniqueName('cos-g');
    const { client } = await proxyWith(options({ [G]: cosBucket({ apiKey: KEYS.b, serviceInstanceId: INSTANCE_ID }) }));
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['ibm-service-instance-id'] = 'crn:v1:someone-elses-instance';
        return next(args);
      },
      { step: 'deserialize', name: 'unsignedServiceInstanceId' }, // after signing: the header is not signed
    );
    await client.send(new CreateBucketCommand({ Bucket: G }));
    expect(cos.requests().at(-1)?.headers['ibm-service-instance-id']).toBe(INSTANCE_ID);
    await direct.send(new PutObjectCommand({ Bucket: G, Key: 'exists', Body: 'x' }));
  });

  it('50 simultaneous first requests cause exactly one token request', async () => {
    await direct.send(new PutObjectCommand({ Bucket: B, Key: 'conc.txt', Body: 'concurrent' }));
    const { client } = await proxyWith(options({ [B]: cosBucket({ apiKey: KEYS.conc }) }));
    const iamBefore = iam.requests();
    const results = await Promise.all(Array.from({ length: 50 }, () => client.send(new GetObjectCommand({ Bucket: B, Key: 'conc.txt' })).then(text)));
    expect(results).toEqual(Array(50).fill('concurrent'));
    expect(iam.requests() - iamBefore).toBe(1);
    expect(tokens(KEYS.conc)).toBe(1);
  });

  it('a short-lived token is refreshed once, ahead of expiry, with no request failing', async () => {
    // A COS stand-in that really expires tokens after their lifetime (4 s).
    const strict = await startCosStandIn({ iam, backendEndpoint: moto.endpoint, backendAccessKey: moto.accessKey, tokenLifetimeSeconds: 4 });
    started.push(strict);
    await direct.send(new PutObjectCommand({ Bucket: B, Key: 'short.txt', Body: 'short' }));
    iam.setExpiresIn(4);
    const { client } = await proxyWith(options({ [B]: cosBucket({ apiKey: KEYS.short }, strict.port) }));
    const failures: unknown[] = [];
    let done = 0;
    // When each token appeared (IAM stand-in polled every 10 ms).
    const issuedAt: number[] = [];
    const poll = setInterval(() => {
      while (issuedAt.length < tokens(KEYS.short)) issuedAt.push(Date.now());
    }, 10);
    const until = Date.now() + 5_500; // past the first token's end of life (4-5 s), before the 2nd refresh (6.4 s)
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          try {
            expect(await text(await client.send(new GetObjectCommand({ Bucket: B, Key: 'short.txt' })))).toBe('short');
            done++;
          } catch (e) {
            failures.push(e);
          }
          await sleep(50);
        }
      }),
    );
    clearInterval(poll);
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(50);
    expect(tokens(KEYS.short)).toBe(2); // the first, and one refresh
    // Refreshed ahead of expiry (at 80 % of 4 s = 3.2 s), not when the token ran out (4 s).
    const gap = issuedAt[1] - issuedAt[0];
    expect(gap).toBeGreaterThan(2_500);
    expect(gap).toBeLessThan(3_750);
    expect(strict.rejectedForToken()).toBe(0);
  });

  it('IAM outage → 503 TokenServiceUnavailable at once; recovers when IAM is back', async () => {
    await direct.send(new PutObjectCommand({ Bucket: B, Key: 'outage.txt', Body: 'back' }));
    const { client } = await proxyWith(options({ [B]: cosBucket({ apiKey: KEYS.outage }) }));
    iam.setMode('down');
    refreshes.length = 0;
    const t0 = Date.now();
    await expect(client.send(new GetObjectCommand({ Bucket: B, Key: 'outage.txt' }))).rejects.toMatchObject({ name: 'TokenServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    await expect(client.send(new HeadObjectCommand({ Bucket: B, Key: 'outage.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(Date.now() - t0).toBeLessThan(2_000);
    iam.setMode('ok');
    await sleep(1_100); // the provider's failure backoff (1 s)
    expect(await text(await client.send(new GetObjectCommand({ Bucket: B, Key: 'outage.txt' })))).toBe('back');
    // The metrics hook saw the failed exchange (the HEAD hit the backoff, not IAM) and the recovery.
    expect(refreshes).toEqual(['error', 'ok']);
  });

  it('a replayable GET that meets a rejected token succeeds after exactly one refresh', async () => {
    await mixed.send(new PutObjectCommand({ Bucket: B, Key: 'retry.txt', Body: Buffer.from('retried') }));
    const tokensBefore = tokens(KEYS.b);
    const rejectedBefore = cos.rejectedForToken();
    cos.expireIssuedTokens();
    expect(await text(await mixed.send(new GetObjectCommand({ Bucket: B, Key: 'retry.txt' })))).toBe('retried');
    expect(tokens(KEYS.b)).toBe(tokensBefore + 1);
    expect(cos.rejectedForToken()).toBe(rejectedBefore + 1);
    // Many requests meeting the rejection at once still cause one refresh.
    cos.expireIssuedTokens();
    const heads = await Promise.all(Array.from({ length: 10 }, () => mixed.send(new HeadObjectCommand({ Bucket: B, Key: 'retry.txt' }))));
    expect(heads.map((h) => h.ContentLength)).toEqual(Array(10).fill(7));
    expect(tokens(KEYS.b)).toBe(tokensBefore + 2);
  });

  it('a PUT with a body that meets a rejected token fails with COS’s error; the next PUT succeeds', async () => {
    const tokensBefore = tokens(KEYS.b);
    cos.expireIssuedTokens();
    await expect(mixed.send(new PutObjectCommand({ Bucket: B, Key: 'put.txt', Body: Buffer.from('first') }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(tokens(KEYS.b)).toBe(tokensBefore); // no retry: the body was streamed, not replayed
    await mixed.send(new PutObjectCommand({ Bucket: B, Key: 'put.txt', Body: Buffer.from('second') }));
    expect(tokens(KEYS.b)).toBe(tokensBefore + 1);
    expect(await text(await direct.send(new GetObjectCommand({ Bucket: B, Key: 'put.txt' })))).toBe('second');
  });

  it('a plain AccessDenied for a token obtained moments ago is passed through, not retried', async () => {
    await mixed.send(new PutObjectCommand({ Bucket: B, Key: 'young.txt', Body: Buffer.from('young') }));
    bearerRetryTuning.minTokenAgeMs = 60_000;
    const tokensBefore = tokens(KEYS.b);
    cos.expireIssuedTokens();
    await expect(mixed.send(new GetObjectCommand({ Bucket: B, Key: 'young.txt' }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(tokens(KEYS.b)).toBe(tokensBefore);
    bearerRetryTuning.minTokenAgeMs = 0; // once the token is old enough, the next request renews it
    expect(await text(await mixed.send(new GetObjectCommand({ Bucket: B, Key: 'young.txt' })))).toBe('young');
    expect(tokens(KEYS.b)).toBe(tokensBefore + 1);
  });

  it('an SDK stream upload (STREAMING-UNSIGNED-PAYLOAD-TRAILER) reaches COS as a plain body', async () => {
    const seen: string[] = [];
    const { client } = await proxyWith(options({ [B]: cosBucket({ apiKey: KEYS.b }) }), [
      (req, _res, next) => {
        seen.push(String(req.headers['x-amz-content-sha256']));
        next();
      },
    ]);
    const data = randomBytes(300 * 1024);
    const before = cos.requests().length;
    await client.send(
      new PutObjectCommand({ Bucket: B, Key: 'chunked.bin', Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), ContentLength: data.length, ChecksumAlgorithm: 'CRC32' }),
    );
    expect(seen).toEqual(['STREAMING-UNSIGNED-PAYLOAD-TRAILER']);
    const upstream = cos.requests().slice(before);
    expect(upstream).toHaveLength(1);
    expect(upstream[0].headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(upstream[0].headers['content-length']).toBe(String(data.length));
    expect(upstream[0].headers['content-encoding']).toBeUndefined();
    const stored = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: B, Key: 'chunked.bin' }))).Body!.transformToByteArray());
    expect(stored.equals(data)).toBe(true);
  });
});
