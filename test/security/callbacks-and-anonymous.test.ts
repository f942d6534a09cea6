/**
 * Adversarial suite, issue [9], part two: anonymous requests never borrow the proxy's keys,
 * regions, and the user's callbacks and hooks under faults (hangs, floods, throws), the bounded
 * caches, and a silent backend behind the `osp` server.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { BucketConfig, OspOptions } from '../../lib/options';
import { resolveOptions } from '../../lib/options';
import { createFrontendSecrets } from '../../lib/auth/frontend-secrets';
import { startServer, type RunningServer } from '../../lib/server';
import { clientSocketIdleTimeoutMs } from '../../lib/server/start-server';
import { backend, backendClient, createTestBucket, type BackendName } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';
import { startRelay, sendRaw, portOf, type Relay } from '../helpers/recording-relay';
import { presignQuery, signHeaders } from '../helpers/independent-signer';

const CLIENT = { accessKeyId: 'sec2-client', secretAccessKey: 'sec2-client-secret-0123456789' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A backend bucket with one private object, and a relay in front of the backend. */
async function privateBucket(name: BackendName): Promise<{ bucket: string; relay: Relay; config(extra?: Partial<BucketConfig>): BucketConfig }> {
  const b = backend(name);
  const bucket = await createTestBucket('sec-anon', name);
  const direct = backendClient(name);
  await direct.send(new PutObjectCommand({ Bucket: bucket, Key: 'private.txt', Body: 'PRIVATE' }));
  direct.destroy();
  const relay = await startRelay({ host: b.host, port: b.port });
  return {
    bucket,
    relay,
    config: (extra = {}) => ({ host: relay.host, port: relay.port, tls: false, addressingStyle: 'path', accessKey: b.accessKey, secretKey: b.secretKey, profile: 'ceph-rgw', ...extra }),
  };
}

describe('anonymous requests go upstream unsigned (RGW decides by its ACLs)', () => {
  let env: Awaited<ReturnType<typeof privateBucket>>;
  let proxy: RunningProxy;
  beforeAll(async () => {
    env = await privateBucket('rgw');
    proxy = await startProxy({
      buckets: { open: env.config({ backendBucket: env.bucket }), lent: env.config({ backendBucket: env.bucket, signAnonymousRequests: true }) },
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
      allowAnonymous: true,
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await env?.relay.close();
  });
  beforeEach(() => env.relay.clear());

  it('an unsigned PUT reaches the backend without credentials and is refused there', async () => {
    const res = await sendRaw(proxy.port, { method: 'PUT', target: '/open/planted.txt', body: 'planted' });
    expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
    expect(env.relay.requests).toHaveLength(1);
    expect(env.relay.requests[0]!.headers.authorization).toBeUndefined();
  });
  it('an unsigned GET of a private object is refused by the backend', async () => {
    const res = await sendRaw(proxy.port, { method: 'GET', target: '/open/private.txt' });
    expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
    expect(res.body).not.toContain('PRIVATE');
    expect(env.relay.requests[0]!.headers.authorization).toBeUndefined();
  });
  it('a bucket that opts in (signAnonymousRequests) lends its credentials', async () => {
    const res = await sendRaw(proxy.port, { method: 'GET', target: '/lent/private.txt' });
    expect([res.status, res.body]).toEqual([200, 'PRIVATE']);
    expect(String(env.relay.requests[0]!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 /);
  });
  it('signed requests are still signed upstream', async () => {
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${proxy.port}`, path: '/open/private.txt', ...CLIENT });
    const res = await sendRaw(proxy.port, { method: 'GET', target: '/open/private.txt', headers });
    expect([res.status, res.body]).toEqual([200, 'PRIVATE']);
  });
});

describe('acceptedRegions', () => {
  let env: Awaited<ReturnType<typeof privateBucket>>;
  let strict: RunningProxy;
  let lenient: RunningProxy;
  beforeAll(async () => {
    env = await privateBucket('moto');
    const base: OspOptions = { buckets: { data: env.config({ backendBucket: env.bucket, profile: 'moto' }) }, hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }] };
    strict = await startProxy({ ...base, acceptedRegions: ['us-east-1'] });
    lenient = await startProxy(base);
  });
  afterAll(async () => {
    await strict?.close();
    await lenient?.close();
    await env?.relay.close();
  });
  it('by default any region in the scope is accepted', async () => {
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${lenient.port}`, path: '/data/private.txt', region: 'eu-west-1', ...CLIENT });
    expect((await sendRaw(lenient.port, { method: 'GET', target: '/data/private.txt', headers })).status).toBe(200);
  });
  it('with a list, another region gets 400 naming the expected one', async () => {
    env.relay.clear();
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${strict.port}`, path: '/data/private.txt', region: 'eu-west-1', ...CLIENT });
    const res = await sendRaw(strict.port, { method: 'GET', target: '/data/private.txt', headers });
    expect([res.status, res.code]).toEqual([400, 'AuthorizationHeaderMalformed']);
    expect(res.body).toContain('<Region>us-east-1</Region>');
    const query = await presignQuery({ method: 'GET', host: `127.0.0.1:${strict.port}`, path: '/data/private.txt', region: 'eu-west-1', ...CLIENT });
    const presigned = await sendRaw(strict.port, { method: 'GET', target: `/data/private.txt?${query}` });
    expect([presigned.status, presigned.code]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(env.relay.requests).toHaveLength(0);
  });
});

describe('callbacks under faults (moto)', () => {
  let env: Awaited<ReturnType<typeof privateBucket>>;
  const proxies: RunningProxy[] = [];
  const start = async (options: Partial<OspOptions>) => {
    const p = await startProxy({ buckets: { data: env.config({ backendBucket: env.bucket, profile: 'moto' }) }, ...options } as OspOptions);
    proxies.push(p);
    return p;
  };
  const get = async (p: RunningProxy, accessKeyId = CLIENT.accessKeyId, secretAccessKey = CLIENT.secretAccessKey) => {
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${p.port}`, path: '/data/private.txt', accessKeyId, secretAccessKey });
    return sendRaw(p.port, { method: 'GET', target: '/data/private.txt', headers });
  };
  beforeAll(async () => {
    env = await privateBucket('moto');
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await env?.relay.close();
  });

  it('a hung hmacFetcher → 503 at hmacFetcherTimeoutMs; the next request asks the fetcher afresh', async () => {
    let calls = 0;
    const p = await start({
      hmacFetcher: (key) => (++calls === 1 ? new Promise<string>(() => undefined) : key === CLIENT.accessKeyId ? CLIENT.secretAccessKey : null),
      hmacFetcherTimeoutMs: 300,
    });
    const t0 = Date.now();
    const first = await get(p);
    expect([first.status, first.code]).toEqual([503, 'ServiceUnavailable']);
    expect(Date.now() - t0).toBeLessThan(3000);
    const second = await get(p);
    expect([second.status, second.body]).toEqual([200, 'PRIVATE']);
    expect(calls).toBe(2);
  });
  it('a hung bucketCredsFetcher → 503; the hung lookup does not block that (token, bucket)', async () => {
    let calls = 0;
    const b = backend('moto');
    const p = await startProxy({
      buckets: { data: { host: env.relay.host, port: env.relay.port, tls: false, addressingStyle: 'path', backendBucket: env.bucket, profile: 'moto' } },
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
      bucketCredsFetcher: () => (++calls === 1 ? new Promise<never>(() => undefined) : { accessKey: b.accessKey, secretKey: b.secretKey }),
      bucketCredsFetcherTimeoutMs: 300,
    });
    proxies.push(p);
    expect((await get(p)).status).toBe(503);
    expect((await get(p)).status).toBe(200);
    expect(calls).toBe(2);
  });
  it('a hung buckets resolver → 503, then it serves again', async () => {
    let calls = 0;
    const config = env.config({ backendBucket: env.bucket, profile: 'moto' });
    const p = await startProxy({
      buckets: () => (++calls === 1 ? new Promise<never>(() => undefined) : config),
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
      bucketResolverTimeoutMs: 300,
    });
    proxies.push(p);
    expect((await get(p)).status).toBe(503);
    expect((await get(p)).status).toBe(200);
  });
  it('20 concurrent first requests of one key: one hmacFetcher call and one authorize call', async () => {
    let fetches = 0;
    let decisions = 0;
    const p = await start({
      hmacFetcher: async (key) => {
        fetches++;
        await sleep(100);
        return key === CLIENT.accessKeyId ? CLIENT.secretAccessKey : null;
      },
      authorize: async () => {
        decisions++;
        await sleep(100);
        return true;
      },
    });
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(p)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect([fetches, decisions]).toEqual([1, 1]);
  });
  it('an observation hook that throws after an asynchronous denial: the client still gets its 403, the proxy keeps serving', async () => {
    const p = await start({
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
      authorize: async () => false,
      on: {
        error: () => {
          throw new Error('hook exploded');
        },
      },
    });
    for (let i = 0; i < 3; i++) {
      const res = await get(p);
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
    }
  });
  it('a spray of random access keys is answered 403 InvalidAccessKeyId, each a fetcher call', async () => {
    let fetches = 0;
    const p = await start({ hmacFetcher: () => (fetches++, null) });
    for (let i = 0; i < 200; i++) {
      const res = await get(p, `spray-${randomBytes(8).toString('hex')}`, 'whatever-secret');
      expect([res.status, res.code]).toEqual([403, 'InvalidAccessKeyId']);
    }
    expect(fetches).toBe(200);
  });
});

describe('bounded caches', () => {
  it('100,000 random access keys against hmacFetcher: memory stays flat once the cache is full', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const secrets = createFrontendSecrets(resolveOptions({ buckets: {}, hmacFetcher: () => null, hmacNegativeCacheTtl: 3600 }));
    const spray = async (n: number) => {
      for (let i = 0; i < n; i += 1000) {
        await Promise.all(Array.from({ length: 1000 }, () => secrets.fetch(randomBytes(16).toString('hex'))));
      }
    };
    await spray(100_000); // fills the cache to its bound
    gc();
    const full = process.memoryUsage().heapUsed;
    await spray(100_000); // 100,000 more: each evicts the oldest
    gc();
    const after = process.memoryUsage().heapUsed;
    // 100,000 more entries would cost ~20 MB if the cache grew; evicting keeps it flat.
    expect(after - full).toBeLessThan(4 * 1024 * 1024);
  });
});

describe('a silent backend behind the osp server', () => {
  let silent: net.Server;
  let server: RunningServer;
  beforeAll(async () => {
    silent = net.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    server = await startServer({
      host: '127.0.0.1',
      httpPort: 0,
      logLevel: 'silent',
      buckets: { slow: { host: '127.0.0.1', port: portOf(silent), tls: false, addressingStyle: 'path', accessKey: 'x', secretKey: 'y' } },
      hmacKeystore: [{ accessKey: CLIENT.accessKeyId, secretKey: CLIENT.secretAccessKey }],
      upstreamIdleTimeoutMs: 1500,
    });
  });
  afterAll(async () => {
    await server?.close();
    silent?.close();
  });
  it('the client gets 504 BackendTimeout, not a reset connection', async () => {
    const host = `127.0.0.1:${server.httpPort}`;
    const headers = await signHeaders({ method: 'GET', host, path: '/slow/k', ...CLIENT });
    const res = await sendRaw(server.httpPort, { method: 'GET', target: '/slow/k', headers });
    expect([res.status, res.code]).toEqual([504, 'BackendTimeout']);
  });
  it('client sockets outlive the backend idle timeout, at the default and at any other', () => {
    for (const upstream of [undefined, 1500, 300_000, 900_000]) {
      expect(clientSocketIdleTimeoutMs(upstream)).toBeGreaterThan(upstream ?? 300_000);
    }
  });
});
