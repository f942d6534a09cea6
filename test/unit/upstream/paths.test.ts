/**
 * Every path to another server goes through the upstream module (issue [2/5] item 3): proxied
 * requests, IBM bearer retries, browser POST uploads, the ListBuckets fan-out, IAM token requests
 * and CORS lookups. The observable is the options' `upstreamLookup`: each path talks to a host name
 * of its own, and the lookup of the one agent policy records which names it resolved. The agents
 * are shared by the stages of one generation (one pool: one TCP connection for the proxied and the
 * POST path to one host), and `close()` closes every connection.
 *
 * The upstream is an in-process recording server on 127.0.0.1 port 0 (it answers 200 with what a
 * path needs); what a real backend makes of the requests is the e2e suite's concern.
 */
import http from 'node:http';
import type { AddressInfo, LookupFunction, Socket } from 'node:net';
import { ListBucketsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startProxy, proxyClient, loopbackLookup, type RunningProxy } from '../../helpers/proxy-server';
import { startIamStandIn, type IamStandIn } from '../../helpers/iam-stand-in';
import { call } from '../../helpers/raw-http';
import type { OspOptions } from '../../../lib/options';
import * as tracing from '../../../lib/tracing/request-tracing';

interface Seen {
  method: string;
  host: string;
  url: string;
  authorization?: string;
}

/** A recording upstream: answers every request 200 (ListBuckets XML for `GET /`, CORS headers for OPTIONS). */
async function startUpstream(): Promise<{ port: number; seen: Seen[]; connections: () => number; open: () => number; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', host: req.headers.host ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      if (req.method === 'OPTIONS') {
        res.writeHead(200, { 'access-control-allow-origin': req.headers.origin ?? '*' });
        return res.end();
      }
      if (req.method === 'GET' && req.url === '/') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        return res.end('<ListAllMyBucketsResult><Buckets><Bucket><Name>tenant-a</Name><CreationDate>2024-01-02T03:04:05.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>');
      }
      res.writeHead(200, { etag: '"abc"', 'content-length': '2' });
      res.end('ok');
    });
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => connections,
    open: () => sockets.size,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** `loopbackLookup`, recording every name asked. */
function recordingLookup(names: string[]): LookupFunction {
  return ((host: string, opts: unknown, cb?: unknown) => {
    names.push(host);
    (loopbackLookup as unknown as (h: string, o: unknown, c?: unknown) => void)(host, opts, cb);
  }) as unknown as LookupFunction;
}

function multipartForm(fields: Record<string, string>, file: Buffer): { body: Buffer; contentType: string } {
  const boundary = '----osp-upstream-test';
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n`), file, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('every path to a backend goes through the upstream module', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let iam: IamStandIn;
  let proxy: RunningProxy | undefined;
  const names: string[] = [];

  beforeEach(async () => {
    names.length = 0;
    upstream = await startUpstream();
    iam = await startIamStandIn();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await upstream.close();
    await iam.close();
  });

  const options = (): OspOptions => {
    const at = (host: string) => ({ host, port: upstream.port, tls: false, addressingStyle: 'path' as const });
    return {
      hmacKeystore: [{ accessKey: 'client', secretKey: 'client-secret' }],
      allowAnonymous: true,
      authorize: (token, bucket) => bucket !== 'closed' || token !== null,
      upstreamLookup: recordingLookup(names),
      iamEndpoint: `http://iam.test:${new URL(iam.url).port}`,
      buckets: {
        data: { ...at('proxied.test'), accessKey: 'AK', secretKey: 'SK' },
        forms: { ...at('post.test'), accessKey: 'AK', secretKey: 'SK' },
        closed: { ...at('cors.test'), accessKey: 'AK', secretKey: 'SK' },
        cos: { ...at('bearer.test'), apiKey: 'test-api-key' },
        'tenant-*': { ...at('list.test'), accessKey: 'AK', secretKey: 'SK' },
      },
    };
  };

  it('proxied requests', async () => {
    proxy = await startProxy(options());
    const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }));
    expect(await got.Body?.transformToString()).toBe('ok');
    expect(names).toEqual(['proxied.test']);
    expect(upstream.seen.map((s) => [s.method, s.url.split('?')[0]])).toEqual([['GET', '/data/k']]);
  });

  it('IBM bearer requests (the retry path) and the IAM token request', async () => {
    proxy = await startProxy(options());
    const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'cos', Key: 'k' }));
    expect(await got.Body?.transformToString()).toBe('ok');
    expect(names).toEqual(['iam.test', 'bearer.test']);
    expect(iam.requests()).toBe(1);
    expect(upstream.seen[0]?.authorization).toBe(`Bearer ${iam.currentToken()}`);
  });

  it('browser POST uploads', async () => {
    proxy = await startProxy(options());
    const form = multipartForm({ key: 'up.txt' }, Buffer.from('hello'));
    const answer = await call(`${proxy.endpoint}/forms`, 'POST', { 'content-type': form.contentType }, form.body);
    expect(answer.status).toBe(204);
    expect(names).toEqual(['post.test']);
    expect(upstream.seen.map((s) => [s.method, s.url])).toEqual([['PUT', '/forms/up.txt']]);
  });

  it('CORS lookups for the proxy’s own answers', async () => {
    proxy = await startProxy(options());
    const answer = await call(`${proxy.endpoint}/closed/k`, 'GET', { origin: 'https://app.example' });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(names).toEqual(['cors.test']);
    expect(upstream.seen.map((s) => [s.method, s.url])).toEqual([['OPTIONS', '/closed']]);
  });

  it('the ListBuckets fan-out', async () => {
    proxy = await startProxy(options());
    const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain('tenant-a');
    expect(names).toContain('list.test');
    expect(upstream.seen.every((s) => s.method === 'GET' && s.url === '/')).toBe(true);
  });

  it('one agent set per generation: proxied, POST, CORS and ListBuckets requests to one host share one connection; update() makes a new set', async () => {
    const shared = options();
    const at = { host: 'proxied.test', port: upstream.port, tls: false, addressingStyle: 'path' as const, accessKey: 'AK', secretKey: 'SK' };
    shared.buckets = { data: at, forms: at, closed: at, 'tenant-*': at };
    proxy = await startProxy(shared);
    const before = proxy.middleware.stages.s3Proxy.agent;
    const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
    await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).Body?.transformToString();
    const form = multipartForm({ key: 'up.txt' }, Buffer.from('hello'));
    expect((await call(`${proxy.endpoint}/forms`, 'POST', { 'content-type': form.contentType }, form.body)).status).toBe(204);
    expect((await call(`${proxy.endpoint}/closed/k`, 'GET', { origin: 'https://app.example' })).status).toBe(403);
    await s3.send(new ListBucketsCommand({}));
    await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'k2' }))).Body?.transformToString();
    expect(upstream.seen.map((s) => s.method)).toEqual(['GET', 'PUT', 'OPTIONS', 'GET', 'GET', 'GET']);
    expect(upstream.connections()).toBe(1);
    proxy.middleware.update(shared);
    expect(proxy.middleware.stages.s3Proxy.agent).not.toBe(before);
    s3.destroy();
  });

  it('the proxied, bearer and POST paths call the one tracing hook once per upstream request', async () => {
    proxy = await startProxy(options());
    const traced = jest.spyOn(tracing, 'traceUpstream');
    try {
      const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
      await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).Body?.transformToString();
      await (await s3.send(new GetObjectCommand({ Bucket: 'cos', Key: 'k' }))).Body?.transformToString();
      const form = multipartForm({ key: 'up.txt' }, Buffer.from('hello'));
      await call(`${proxy.endpoint}/forms`, 'POST', { 'content-type': form.contentType }, form.body);
      expect(traced.mock.calls.map(([u]) => u.path.split('?')[0])).toEqual(['/data/k', '/cos/k', '/forms/up.txt']);
      s3.destroy();
    } finally {
      traced.mockRestore();
    }
  });

  it('close() closes the connections of every path', async () => {
    proxy = await startProxy(options());
    const s3 = proxyClient(proxy.endpoint, 'client', 'client-secret');
    await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).Body?.transformToString();
    await (await s3.send(new GetObjectCommand({ Bucket: 'cos', Key: 'k' }))).Body?.transformToString();
    await s3.send(new ListBucketsCommand({}));
    const form = multipartForm({ key: 'up.txt' }, Buffer.from('hello'));
    await call(`${proxy.endpoint}/forms`, 'POST', { 'content-type': form.contentType }, form.body);
    await call(`${proxy.endpoint}/closed/k`, 'GET', { origin: 'https://app.example' });
    expect(upstream.open()).toBeGreaterThanOrEqual(4); // keep-alive: one per host name
    await proxy.middleware.close();
    await waitFor(() => upstream.open() === 0);
    s3.destroy();
  });
});
