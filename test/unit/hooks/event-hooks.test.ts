/**
 * Issue [2/5] item 5: one hook vocabulary. Every hook lives in `options.on` (a set, or an array of
 * sets merged in order); each fires at its moment through the whole chain (in process: a local
 * upstream on port 0, the IAM stand-in, stores of our own); a hook that throws is logged once and
 * ignored; the former positional hooks argument throws an error that says what to write instead.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Registry } from 'prom-client';
import { ospMiddleware } from '../../../lib/osp-middleware';
import { limitPresignedUrlUsage } from '../../../lib/middleware/limit-presigned-usage';
import { resolveBackend } from '../../../lib/middleware/resolve-backend';
import { s3Proxy } from '../../../lib/middleware/proxy';
import { ospMetrics } from '../../../lib/metrics';
import { createMemorySharedStore, type SharedStateStore } from '../../../lib/cache/shared-store';
import { createMemoryUsageStore } from '../../../lib/cache/memory-usage-store';
import { UsageShareExhaustedError, type UsageCounterStore } from '../../../lib/cache/usage-store';
import { OspConfigError } from '../../../lib/errors';
import type { OspEventHooks, OspLogger, OspOptions } from '../../../lib/options';
import { startIamStandIn, type IamStandIn } from '../../helpers/iam-stand-in';
import { proxyClient, startProxy, type RunningProxy } from '../../helpers/proxy-server';

const CLIENT = { accessKey: 'hooks-ak', secretKey: 'hooks-secret-0123456789' };
const FLOODER = { accessKey: 'flooder-ak', secretKey: 'flooder-secret-0123456789' };
const HOOK_NAMES = ['request', 'error', 'backendResponse', 'backendFailure', 'presignedUse', 'presignedRejected', 'presignedShareExhausted', 'iamTokenRefresh', 'sharedStoreStatus'] as const;

let upstream: http.Server;
let upstreamPort: number;
let iam: IamStandIn;
/** A port nothing listens on (a closed server's). */
let deadPort: number;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': 2 }).end('ok'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  const dead = http.createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  deadPort = (dead.address() as AddressInfo).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  iam = await startIamStandIn();
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await iam?.close();
});

/** A shared store whose status the test drives (the memory store reports none). */
function storeWithStatus(): { store: SharedStateStore; emit(event: 'up' | 'down' | 'error'): void; close(): Promise<void> } {
  const memory = createMemorySharedStore();
  const listeners = new Set<(event: 'up' | 'down' | 'error') => void>();
  const store: SharedStateStore = Object.assign(Object.create(memory) as SharedStateStore, {
    onStatus(listener: (event: 'up' | 'down' | 'error') => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  return { store, emit: (event) => listeners.forEach((l) => l(event)), close: () => memory.close() };
}

/** Counts presigned uses in memory, but the flooder's key is always at its share. */
function usageStoreWithFlooder(): UsageCounterStore & { close(): void } {
  const memory = createMemoryUsageStore({ sweepIntervalMs: 0 });
  return {
    increment: (key, expiresAtMs, opts) => (opts?.owner === FLOODER.accessKey ? Promise.reject(new UsageShareExhaustedError(FLOODER.accessKey, 1)) : memory.increment(key, expiresAtMs, opts)),
    decrement: (key) => memory.decrement(key),
    get: (key) => memory.get(key),
    close: () => memory.close(),
  };
}

function options(on: OspOptions['on'], extra: Partial<OspOptions> = {}): OspOptions {
  return {
    buckets: {
      data: { host: '127.0.0.1', port: upstreamPort, tls: false, addressingStyle: 'path', accessKey: 'backend-ak', secretKey: 'backend-sk' },
      down: { host: '127.0.0.1', port: deadPort, tls: false, addressingStyle: 'path', accessKey: 'backend-ak', secretKey: 'backend-sk' },
      cos: { host: '127.0.0.1', port: upstreamPort, tls: false, addressingStyle: 'path', profile: 'ibm-cos', apiKey: 'test-api-key' },
    },
    hmacKeystore: [CLIENT, FLOODER],
    iamEndpoint: iam.url,
    maxPresignedUrlUses: 1,
    on,
    ...extra,
  };
}

/** One round of requests that makes every hook fire at least once. */
async function exercise(proxy: RunningProxy, emitStatus: (event: 'up' | 'down' | 'error') => void, round = 1): Promise<void> {
  const client = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey);
  const flooder = proxyClient(proxy.endpoint, FLOODER.accessKey, FLOODER.secretKey);
  const wrong = proxyClient(proxy.endpoint, CLIENT.accessKey, 'not-the-secret');
  try {
    await client.send(new HeadObjectCommand({ Bucket: 'data', Key: 'k' })); // request, backendResponse
    await client.send(new HeadObjectCommand({ Bucket: 'cos', Key: 'k' })); // iamTokenRefresh (then backendResponse)
    await expect(client.send(new HeadObjectCommand({ Bucket: 'down', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 502 } }); // backendFailure
    await expect(wrong.send(new HeadObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } }); // error
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'data', Key: `p${round}` }), { expiresIn: 60 });
    expect((await fetch(url)).status).toBe(200); // presignedUse
    expect((await fetch(url)).status).toBe(403); // presignedRejected
    const flooded = await getSignedUrl(flooder, new GetObjectCommand({ Bucket: 'data', Key: 'p' }), { expiresIn: 60 });
    expect((await fetch(flooded)).status).toBe(503); // presignedShareExhausted
    emitStatus('down'); // sharedStoreStatus
  } finally {
    client.destroy();
    flooder.destroy();
    wrong.destroy();
  }
}

describe('options.on: every hook fires at its moment', () => {
  it('one per hook name, with its arguments; a second set in an array fires after the first', async () => {
    const seen = new Map<string, unknown[][]>();
    const order: string[] = [];
    const record =
      (set: string) =>
      (name: string) =>
      (...args: unknown[]) => {
        if (set === 'first') seen.set(name, [...(seen.get(name) ?? []), args]);
        order.push(`${set}:${name}`);
      };
    const first = Object.fromEntries(HOOK_NAMES.map((name) => [name, record('first')(name)])) as OspEventHooks;
    const second: OspEventHooks = { error: record('second')('error') };
    const status = storeWithStatus();
    const usage = usageStoreWithFlooder();
    const proxy = await startProxy(options([first, second], { sharedStore: status.store, usageStore: usage }));
    try {
      await exercise(proxy, status.emit);
      expect(HOOK_NAMES.filter((name) => !seen.has(name))).toEqual([]);
      expect(seen.get('backendResponse')![0]).toEqual([expect.objectContaining({ method: 'HEAD' }), 200, expect.any(Number)]);
      expect(seen.get('backendFailure')![0]![1]).toMatchObject({ s3Code: 'BackendUnreachable' });
      expect(seen.get('error')!.map((args) => (args[1] as { s3Code: string }).s3Code)).toContain('SignatureDoesNotMatch');
      expect(seen.get('presignedUse')).toEqual([['data']]);
      expect(seen.get('presignedRejected')).toEqual([['data']]);
      expect(seen.get('presignedShareExhausted')).toEqual([[FLOODER.accessKey]]);
      expect(seen.get('iamTokenRefresh')).toEqual([['ok']]);
      expect(seen.get('sharedStoreStatus')).toEqual([['down']]);
      expect(seen.get('request')!.length).toBeGreaterThanOrEqual(7);
      const errors = order.filter((o) => o.endsWith(':error'));
      expect(errors.slice(0, 2)).toEqual(['first:error', 'second:error']);
    } finally {
      await proxy.close();
      await status.close();
      usage.close();
    }
  });

  it("update() replaces the hooks: the new options' on fire, the old ones no more", async () => {
    const calls: string[] = [];
    const status = storeWithStatus();
    const proxy = await startProxy(options({ sharedStoreStatus: (e) => void calls.push(`old:${e}`) }, { sharedStore: status.store }));
    try {
      status.emit('up');
      proxy.middleware.update(options({ sharedStoreStatus: (e) => void calls.push(`new:${e}`) }, { sharedStore: status.store }));
      status.emit('down');
      expect(calls).toEqual(['old:up', 'new:down']);
    } finally {
      await proxy.close();
      await status.close();
    }
  });

  it('ospMetrics(registry) is a set for on: its metrics count what the hooks report', async () => {
    const registry = new Registry();
    const metrics = ospMetrics(registry, { bucketNames: ['data'] });
    expect(Object.keys(metrics).filter((name) => !(HOOK_NAMES as readonly string[]).includes(name))).toEqual([]);
    const proxy = await startProxy(options([metrics, {}]));
    const wrong = proxyClient(proxy.endpoint, CLIENT.accessKey, 'not-the-secret');
    try {
      await expect(wrong.send(new HeadObjectCommand({ Bucket: 'data', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      const text = await registry.metrics();
      expect(text).toMatch(/osp_request_errors_total\{[^}]*error="SignatureDoesNotMatch"[^}]*\} 1/);
      expect(text).toMatch(/osp_requests_total\{[^}]*status="403"[^}]*\} 1/);
    } finally {
      wrong.destroy();
      await proxy.close();
    }
  });
});

describe('a hook that throws', () => {
  it('is logged once per hook and ignored: every request is answered as without it, the other set still fires', async () => {
    const errors: { hook?: string }[] = [];
    const logger: OspLogger = { debug() {}, info() {}, warn() {}, error: (obj) => void errors.push(obj as { hook?: string }) };
    const throwing = Object.fromEntries(
      HOOK_NAMES.map((name) => [
        name,
        () => {
          throw new Error(`${name} hook broke`);
        },
      ]),
    ) as OspEventHooks;
    const fired = new Set<string>();
    const counting = Object.fromEntries(HOOK_NAMES.map((name) => [name, () => void fired.add(name)])) as OspEventHooks;
    const status = storeWithStatus();
    const usage = usageStoreWithFlooder();
    const proxy = await startProxy(options([throwing, counting], { sharedStore: status.store, usageStore: usage, logger }));
    try {
      await exercise(proxy, status.emit);
      await exercise(proxy, status.emit, 2); // a second round: nothing more is logged
      expect([...fired].sort()).toEqual([...HOOK_NAMES].sort());
      const logged = errors.map((e) => e.hook).filter((h): h is string => h !== undefined);
      expect(logged.sort()).toEqual(HOOK_NAMES.map((name) => `on[0].${name}`).sort());
    } finally {
      await proxy.close();
      await status.close();
      usage.close();
    }
  });
});

describe('the former positional hooks argument', () => {
  const plain = (): OspOptions => ({ buckets: { data: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }, hmacKeystore: [CLIENT] });
  const call = (factory: unknown, ...args: unknown[]) => (factory as (...a: unknown[]) => unknown)(...args);

  it('ospMiddleware(options, hooks) throws ERR_OSP_HOOKS_ARGUMENT saying what to write instead', () => {
    let error: unknown;
    try {
      call(ospMiddleware, plain(), { onError() {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OspConfigError);
    expect(error).toMatchObject({ code: 'ERR_OSP_HOOKS_ARGUMENT', option: 'ospMiddleware(options, hooks)' });
    const message = (error as Error).message;
    expect(message).toContain('give them in options.on');
    expect(message).toContain('ospMiddleware({ ...options, on: ospMetrics(registry) })');
    expect(message).toContain('ospMiddleware({ ...options, on: { backendResponse(req, status, latencyMs) {…}');
    // Even an empty or undefined second argument: it used to be accepted, so it is a caller to fix.
    expect(() => call(ospMiddleware, plain(), {})).toThrow(/ERR_OSP_HOOKS_ARGUMENT/);
    expect(() => call(ospMiddleware, plain(), undefined)).toThrow(/ERR_OSP_HOOKS_ARGUMENT/);
  });

  it('so do the stage factories that took hooks (s3Proxy, limitPresignedUrlUsage, resolveBackend)', () => {
    expect(() => call(s3Proxy, plain(), { onBackendResponse() {} })).toThrow(/ERR_OSP_HOOKS_ARGUMENT s3Proxy\(options, hooks\)/);
    expect(() => call(limitPresignedUrlUsage, plain(), { onHit() {} })).toThrow(/ERR_OSP_HOOKS_ARGUMENT limitPresignedUrlUsage\(options, hooks\)/);
    expect(() => call(resolveBackend, plain(), { onIamTokenRefresh() {} })).toThrow(/ERR_OSP_HOOKS_ARGUMENT resolveBackend\(options, hooks\)/);
  });

  it('app.use(ospMiddleware) (Express calling the factory) still says to call the factory', () => {
    expect(() => call(ospMiddleware, { method: 'GET', headers: {} }, {}, () => {})).toThrow(/ERR_OSP_FACTORY_NOT_CALLED/);
  });

  it('unknown hook names and non-functions in on are refused, in a set or in an array', () => {
    expect(() => ospMiddleware({ ...plain(), on: { onError() {} } as unknown as OspEventHooks })).toThrow(/ERR_OSP_UNKNOWN_OPTION on\.onError: unknown hook; known: request, error/);
    expect(() => ospMiddleware({ ...plain(), on: [{}, { proxy: {} } as unknown as OspEventHooks] })).toThrow(/ERR_OSP_UNKNOWN_OPTION on\[1\]\.proxy/);
    expect(() => ospMiddleware({ ...plain(), on: [{ error: 1 } as unknown as OspEventHooks] })).toThrow(/on\[0\]\.error: must be a function/);
    expect(() => ospMiddleware({ ...plain(), on: [null] as unknown as OspEventHooks[] })).toThrow(/on\[0\]: must be an object of hook functions/);
  });
});
