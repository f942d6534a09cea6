/**
 * Shared state across instances (Redis): two proxy instances in this process, each with its own
 * middleware and Redis connection, behind a pretend load balancer (requests alternate). Presigned
 * usage limits are exact across them, revocations and bucket invalidations reach the other
 * instance within a second, opt-in shared caches serve both (secrets sealed, never in clear).
 * A redis-server of our own is stopped, frozen and restarted: presigned requests fail fast with
 * 503 and recover, header-signed requests keep working, metrics and the log say so.
 * A standalone server with threads: 2 and Redis shares the counters with an in-process instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createClient } from 'redis';
import pino from 'pino';
import { lineSink } from '../helpers/log-lines';
import { backend, createTestBucket, redisUrl } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { freePort, metric, parseMetrics, requestPids, s3Client, spawnTs, waitFor } from './server-helpers';
import { createApp, type OspApp } from '../../lib/server/create-app';
import type { OspOptions } from '../../lib/options';
import { createRedisStore } from '../../lib/cache/redis-store';

const AK = 'shared-ak';
const SK = 'shared-secret-key-0000000000';
const ENCRYPTION_KEY = randomBytes(32).toString('hex');

interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** GET `url`'s path and query on `port`, keeping the Host the URL was signed for. */
function getVia(port: number, url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `${u.pathname}${u.search}`, headers: { host: u.host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let moto: ReturnType<typeof backend>;
let backendBucket: string;
const bucketsFor = (): OspOptions['buckets'] => ({
  data: { host: moto.host, port: moto.port, addressingStyle: 'path', backendBucket, accessKey: moto.accessKey, secretKey: moto.secretKey, profile: 'moto' },
});

beforeAll(async () => {
  moto = backend('moto');
  backendBucket = await createTestBucket('shared', 'moto');
  const c = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: moto.accessKey, secretAccessKey: moto.secretKey } });
  await c.send(new PutObjectCommand({ Bucket: backendBucket, Key: 'hello.txt', Body: 'hello shared world' }));
  c.destroy();
});

describe('two instances sharing the runner redis', () => {
  const keyPrefix = `osp-test-${randomBytes(4).toString('hex')}:`;
  const secrets = new Map<string, string>();
  let allow = true;
  let fetches = 0;
  let authorizeCalls = 0;
  let a: RunningProxy;
  let b: RunningProxy;

  const options = (): OspOptions => ({
    buckets: bucketsFor(),
    hmacKeystore: [{ accessKey: AK, secretKey: SK }],
    hmacFetcher: (ak) => {
      fetches++;
      return secrets.get(ak) ?? null;
    },
    authorize: () => {
      authorizeCalls++;
      return allow;
    },
    maxPresignUrlUsageAttempts: 3,
    redis: { url: redisUrl(), keyPrefix },
    sharedCache: { decisions: true, frontendSecrets: true, encryptionKey: ENCRYPTION_KEY },
  });

  beforeAll(async () => {
    a = await startProxy(options());
    b = await startProxy(options());
    expect(await a.middleware.sharedStore!.ready!(5000)).toBe(true);
    expect(await b.middleware.sharedStore!.ready!(5000)).toBe(true);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a presigned URL with limit 3 used 10 times round-robin over both instances succeeds exactly 3 times', async () => {
    const client = proxyClient(a.endpoint, AK, SK);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }), { expiresIn: 600 });
    client.destroy();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await getVia(i % 2 === 0 ? a.port : b.port, url)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(7);
    // Concurrent uses of a fresh URL: still exactly 3.
    const client2 = proxyClient(b.endpoint, AK, SK);
    const url2 = await getSignedUrl(client2, new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }), { expiresIn: 600 });
    client2.destroy();
    const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => getVia(i % 2 === 0 ? a.port : b.port, url2)));
    expect(concurrent.filter((r) => r.status === 200)).toHaveLength(3);
  });

  it('the counter lives in redis with the URL expiry', async () => {
    const r = createClient({ url: redisUrl() });
    await r.connect();
    try {
      const keys = await r.keys(`${keyPrefix}pu:*`);
      expect(keys.length).toBe(2);
      for (const k of keys) {
        const ttl = await r.pTTL(k);
        expect(ttl).toBeGreaterThan(500_000);
        expect(ttl).toBeLessThanOrEqual(600_000);
      }
    } finally {
      r.destroy();
    }
  });

  it('revokeAccessKey on A: B rejects the key within a second', async () => {
    secrets.set('rotating', 'rotating-secret-000000000000');
    const ca = proxyClient(a.endpoint, 'rotating', 'rotating-secret-000000000000');
    const cb = proxyClient(b.endpoint, 'rotating', 'rotating-secret-000000000000');
    fetches = 0;
    await ca.send(new HeadBucketCommand({ Bucket: 'data' }));
    await cb.send(new HeadBucketCommand({ Bucket: 'data' }));
    expect(fetches).toBe(1); // B got the secret from the shared cache
    secrets.delete('rotating');
    await cb.send(new HeadBucketCommand({ Bucket: 'data' })); // still cached on B
    expect(await a.middleware.revokeAccessKey('rotating')).toBe(true);
    const t0 = Date.now();
    let status = 200;
    while (Date.now() - t0 < 1000) {
      status = await cb.send(new HeadBucketCommand({ Bucket: 'data' })).then(
        () => 200,
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode ?? 0,
      );
      if (status === 403) break;
      await sleep(50);
    }
    expect(status).toBe(403);
    ca.destroy();
    cb.destroy();
  });

  it('invalidateBucket on B: A asks authorize again within a second', async () => {
    secrets.set('other', 'other-secret-00000000000000');
    const ca = proxyClient(a.endpoint, 'other', 'other-secret-00000000000000');
    const cb = proxyClient(b.endpoint, 'other', 'other-secret-00000000000000');
    allow = true;
    authorizeCalls = 0;
    await ca.send(new HeadBucketCommand({ Bucket: 'data' }));
    await cb.send(new HeadBucketCommand({ Bucket: 'data' }));
    expect(authorizeCalls).toBe(1); // B used A's decision from the shared cache
    allow = false;
    await ca.send(new HeadBucketCommand({ Bucket: 'data' })); // cached "allow"
    expect(await b.middleware.invalidateBucket('data')).toBe(true);
    const t0 = Date.now();
    let status = 200;
    while (Date.now() - t0 < 1000) {
      status = await ca.send(new HeadBucketCommand({ Bucket: 'data' })).then(
        () => 200,
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode ?? 0,
      );
      if (status === 403) break;
      await sleep(50);
    }
    expect(status).toBe(403);
    allow = true;
    ca.destroy();
    cb.destroy();
  });

  it('frontend secrets are sealed in redis, never in clear', async () => {
    secrets.set('sealed', 'sealed-secret-plaintext-000000');
    const ca = proxyClient(a.endpoint, 'sealed', 'sealed-secret-plaintext-000000');
    await ca.send(new HeadBucketCommand({ Bucket: 'data' }));
    ca.destroy();
    const r = createClient({ url: redisUrl() });
    await r.connect();
    try {
      const key = `${keyPrefix}v:sec:${Buffer.from('sealed').toString('hex')}`;
      await waitFor(async () => (await r.get(key)) !== null, 2000, 'the shared secret entry');
      const stored = (await r.get(key))!;
      expect(stored.startsWith('v1.')).toBe(true);
      expect(stored).not.toContain('sealed-secret-plaintext');
      expect(Buffer.from(stored.slice(3), 'base64url').toString('latin1')).not.toContain('sealed-secret-plaintext');
    } finally {
      r.destroy();
    }
  });
});

describe('redis store with a proxy clock off from Redis', () => {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  it.each([-30_000, 30_000])('Date.now off by %i ms: increments still count, once each (the deadline goes in Redis’s clock)', async (skewMs) => {
    const realNow = Date.now.bind(Date);
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
    const store = createRedisStore({ url: redisUrl(), keyPrefix: `osp-test-${randomBytes(4).toString('hex')}:` }, silent);
    try {
      expect(await store.ready!(5000)).toBe(true);
      const expiresAtMs = realNow() + 600_000;
      expect(await store.increment('url', expiresAtMs)).toBe(1);
      expect(await store.increment('url', expiresAtMs)).toBe(2);
      expect(await store.get('url')).toBe(2);
    } finally {
      spy.mockRestore();
      await store.close();
    }
  });
});

describe('redis stopped, frozen and restarted', () => {
  let dir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  let app: OspApp;
  let server: http.Server;
  let proxyPort: number;
  const logLines: string[] = [];
  const PASSWORD = 'not-logged-password';

  const startRedis = async () => {
    // As the README asks for exact limits: AOF fsynced every second, no eviction of counters.
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--dir', dir, '--requirepass', PASSWORD],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => {
        const c = createClient({ url: `redis://:${PASSWORD}@127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
        c.on('error', () => {});
        try {
          await c.connect();
          await c.ping();
          return true;
        } finally {
          c.destroy();
        }
      },
      10_000,
      'redis-server',
    );
  };
  const stopRedis = async () => {
    const r = redis;
    redis = undefined;
    if (!r || r.exitCode !== null) return;
    const exited = new Promise((resolve) => r.once('exit', resolve));
    r.kill('SIGKILL');
    await exited;
  };
  const presignedUrl = async () => {
    const c = proxyClient(`http://127.0.0.1:${proxyPort}`, AK, SK);
    const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }), { expiresIn: 600 });
    c.destroy();
    return url;
  };
  const headerSigned = async () => {
    const c = proxyClient(`http://127.0.0.1:${proxyPort}`, AK, SK);
    try {
      const r = await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }));
      return await r.Body!.transformToString();
    } finally {
      c.destroy();
    }
  };
  const metrics = async () => parseMetrics(await app.metrics.registry.metrics());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osp-redis-'));
    port = await freePort();
    await startRedis();
    const logger = pino({ level: 'info' }, lineSink(logLines));
    app = createApp(
      {
        buckets: bucketsFor(),
        hmacKeystore: [{ accessKey: AK, secretKey: SK }],
        maxPresignUrlUsageAttempts: 100,
        redis: { url: `redis://:${PASSWORD}@127.0.0.1:${port}`, commandTimeoutMs: 500, connectTimeoutMs: 500 },
      },
      { logger },
    );
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyPort = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app?.osp.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (redis?.exitCode === null) redis.kill('SIGCONT');
    await stopRedis();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails presigned requests fast with 503 while redis is down, serves header-signed ones, recovers', async () => {
    expect(await app.osp.sharedStore!.ready!(5000)).toBe(true);
    expect((await getVia(proxyPort, await presignedUrl())).status).toBe(200);
    expect(metric(await metrics(), 'osp_redis_up')).toBe(1);

    await stopRedis();
    const url = await presignedUrl();
    const down = await getVia(proxyPort, url);
    expect(down.status).toBe(503);
    expect(down.body).toContain('<Code>ServiceUnavailable</Code>');
    expect(down.ms).toBeLessThan(2000);
    expect(await headerSigned()).toBe('hello shared world');
    const m = await metrics();
    expect(metric(m, 'osp_redis_up')).toBe(0);
    expect(metric(m, 'osp_redis_errors_total')).toBeGreaterThan(0);
    expect(logLines.some((l) => l.includes('shared state store (Redis) unavailable'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(PASSWORD);

    await startRedis();
    await waitFor(async () => (await getVia(proxyPort, url)).status === 200, 10_000, 'presigned requests to work again');
    expect(metric(await metrics(), 'osp_redis_up')).toBe(1);
    expect(logLines.filter((l) => l.includes('shared state store (Redis) connected')).length).toBeGreaterThanOrEqual(2);
  });

  it('a frozen redis (SIGSTOP) costs at most the command timeout, then 503', async () => {
    const url = await presignedUrl();
    expect((await getVia(proxyPort, url)).status).toBe(200);
    redis!.kill('SIGSTOP');
    try {
      const frozen = await getVia(proxyPort, url);
      expect(frozen.status).toBe(503);
      expect(frozen.ms).toBeLessThan(2000);
      expect(await headerSigned()).toBe('hello shared world');
    } finally {
      redis!.kill('SIGCONT');
    }
    await waitFor(async () => (await getVia(proxyPort, url)).status === 200, 10_000, 'presigned requests after SIGCONT');
  });

  /** Its own instance with a limit of 3 on the same redis-server; `up()` reads its osp_redis_up. */
  const startLimited = async () => {
    const limited = createApp(
      {
        buckets: bucketsFor(),
        hmacKeystore: [{ accessKey: AK, secretKey: SK }],
        maxPresignUrlUsageAttempts: 3,
        redis: { url: `redis://:${PASSWORD}@127.0.0.1:${port}`, commandTimeoutMs: 500, connectTimeoutMs: 500 },
      },
      { logger: pino({ level: 'silent' }) },
    );
    const limitedServer = http.createServer(limited);
    await new Promise<void>((resolve) => limitedServer.listen(0, '127.0.0.1', resolve));
    const limitedPort = (limitedServer.address() as AddressInfo).port;
    expect(await limited.osp.sharedStore!.ready!(5000)).toBe(true);
    const c = proxyClient(`http://127.0.0.1:${limitedPort}`, AK, SK);
    const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }), { expiresIn: 600 });
    c.destroy();
    return {
      url,
      use: async () => (await getVia(limitedPort, url)).status,
      up: async () => metric(parseMetrics(await limited.metrics.registry.metrics()), 'osp_redis_up'),
      async close() {
        await limited.osp.close();
        limitedServer.closeAllConnections();
        await new Promise<void>((resolve) => limitedServer.close(() => resolve()));
      },
    };
  };

  it('uses answered 503 during a stall are not counted: a URL limited to 3 uses still gives exactly 3 after SIGCONT; osp_redis_up is 0 during the stall', async () => {
    const limited = await startLimited();
    try {
      expect(await limited.up()).toBe(1);
      redis!.kill('SIGSTOP');
      try {
        // Sequential and concurrent uses while Redis is frozen: all 503 (their increments stay queued on the connection).
        for (let i = 0; i < 3; i++) expect(await limited.use()).toBe(503);
        expect(await Promise.all(Array.from({ length: 4 }, () => limited.use()))).toEqual([503, 503, 503, 503]);
        expect(await limited.up()).toBe(0);
      } finally {
        redis!.kill('SIGCONT');
      }
      // Back up without traffic (the store probes), then the URL's 3 uses are all there.
      await waitFor(async () => (await limited.up()) === 1, 5000, 'osp_redis_up back to 1');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await limited.use());
      expect(statuses).toEqual([200, 200, 200, 403, 403]);
    } finally {
      redis!.kill('SIGCONT');
      await limited.close();
    }
  });

  it('an increment Redis still grants after the proxy gave up (its clock stepped forward, so the deadline was generous) is given back', async () => {
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const store = createRedisStore({ url: `redis://:${PASSWORD}@127.0.0.1:${port}`, commandTimeoutMs: 300 }, silent);
    const realNow = Date.now.bind(Date);
    let spy: jest.SpyInstance | undefined;
    try {
      expect(await store.ready!(5000)).toBe(true);
      await sleep(100); // the clock offset is sampled
      spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_000);
      redis!.kill('SIGSTOP');
      try {
        await expect(store.increment('late', realNow() + 600_000)).rejects.toMatchObject({ status: 503 });
      } finally {
        redis!.kill('SIGCONT');
      }
      // Redis runs the queued increment (within the 30 s margin) and answers 1: the store gives it back.
      await waitFor(async () => (await store.get('late').catch(() => -1)) === 0, 5000, 'the late use to be given back');
    } finally {
      spy?.mockRestore();
      redis!.kill('SIGCONT');
      await store.close();
    }
  });

  it('with the README configuration (appendonly yes, appendfsync everysec) the counts survive kill -9 and restart of Redis', async () => {
    const limited = await startLimited();
    try {
      expect([await limited.use(), await limited.use()]).toEqual([200, 200]);
      await stopRedis(); // SIGKILL
      await startRedis();
      await waitFor(async () => (await limited.up()) === 1, 10_000, 'the store to reconnect');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push(await limited.use());
      expect(statuses).toEqual([200, 403, 403]);
    } finally {
      await limited.close();
    }
  });
});

/** A standalone server (test/fixtures/server/cluster-invalidate.ts) with threads: 2. */
async function startCluster(config: Record<string, unknown>, secrets: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'osp-shared-cluster-'));
  const configPath = join(dir, 'config.json');
  const secretsPath = join(dir, 'secrets.json');
  writeFileSync(configPath, JSON.stringify({ host: '127.0.0.1', threads: 2, httpPort: await freePort(), shutdownTimeoutMs: 2000, buckets: bucketsFor(), ...config }));
  writeFileSync(secretsPath, JSON.stringify(secrets));
  const { child, lines, exit: exited } = spawnTs('test/fixtures/server/cluster-invalidate.ts', [configPath, secretsPath], 'pipe');
  const exit = exited.then(() => undefined);
  await waitFor(async () => lines.some((l) => l.startsWith('READY ')), 90_000, 'the cluster to listen');
  const url = lines.find((l) => l.startsWith('READY '))!.slice(6);
  const pidsSince = (from: number) => requestPids(lines, from);
  return {
    url,
    port: Number(new URL(url).port),
    lines,
    pidsSince,
    setSecrets: (s: Record<string, string>) => writeFileSync(secretsPath, JSON.stringify(s)),
    async command(cmd: string) {
      child.stdin!.write(`${cmd}\n`);
      await waitFor(async () => lines.includes(`done ${cmd}`), 10_000, cmd);
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin!.end();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** HeadBucket with fresh connections (so the cluster round-robins them over its workers); statuses. */
async function headStatuses(endpoint: string, ak: string, sk: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = s3Client(endpoint, ak, sk);
    out.push(
      await c.send(new HeadBucketCommand({ Bucket: 'data' })).then(
        () => 200,
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode ?? 0,
      ),
    );
    c.destroy();
  }
  return out;
}

describe('standalone server, threads: 2', () => {
  it('with redis: a presigned URL (limit 3) used 10 times over the cluster and another instance succeeds 3 times', async () => {
    const keyPrefix = `osp-test-${randomBytes(4).toString('hex')}:`;
    const cluster = await startCluster({ hmacKeystore: [{ accessKey: AK, secretKey: SK }], maxPresignUrlUsageAttempts: 3, redis: { url: redisUrl(), keyPrefix } }, {});
    const other = await startProxy({ buckets: bucketsFor(), hmacKeystore: [{ accessKey: AK, secretKey: SK }], maxPresignUrlUsageAttempts: 3, redis: { url: redisUrl(), keyPrefix } });
    try {
      expect(await other.middleware.sharedStore!.ready!(5000)).toBe(true);
      const c = s3Client(cluster.url, AK, SK);
      const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'hello.txt' }), { expiresIn: 600 });
      c.destroy();
      const from = cluster.lines.length;
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await getVia(i % 3 === 2 ? other.port : cluster.port, url)).status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 403)).toHaveLength(7);
      await waitFor(async () => cluster.pidsSince(from).size === 2, 5000, 'both workers to have served');
    } finally {
      await other.close();
      await cluster.stop();
    }
  });

  it('without redis: revocation reaches both workers, from the primary and from a worker (cluster IPC)', async () => {
    const cluster = await startCluster({}, { rotating: 'rotating-secret-000000000000', second: 'second-secret-0000000000000' });
    try {
      for (const [ak, sk, cmd] of [
        ['rotating', 'rotating-secret-000000000000', 'revoke rotating'],
        ['second', 'second-secret-0000000000000', 'worker-revoke second'],
      ] as const) {
        const from = cluster.lines.length;
        expect(await headStatuses(cluster.url, ak, sk, 6)).toEqual([200, 200, 200, 200, 200, 200]);
        await waitFor(async () => cluster.pidsSince(from).size === 2, 5000, 'both workers to have cached the secret');
        cluster.setSecrets({});
        expect(await headStatuses(cluster.url, ak, sk, 4)).toEqual([200, 200, 200, 200]); // cached in both workers
        await cluster.command(cmd);
        await sleep(300);
        expect(await headStatuses(cluster.url, ak, sk, 6)).toEqual([403, 403, 403, 403, 403, 403]);
        cluster.setSecrets({ second: 'second-secret-0000000000000' });
      }
    } finally {
      await cluster.stop();
    }
  });
});
