/**
 * The backends' CORS answers for the proxy's own responses (issue [1/5]): one unsigned preflight
 * per (backend, bucket, origin, method), the allowed answer's Allow-Origin, Allow-Credentials,
 * Expose-Headers and Vary kept for a short time, refusals and failures giving no headers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBackendAgent, type BackendAgent } from '../../../lib/upstream/agent';
import { corsHeadersOf, createBackendCors, type CorsTarget } from '../../../lib/cors/backend-cors';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A server answering preflights as a bucket allowing `https://app.example` to GET and PUT would. */
async function rulesServer(): Promise<{ server: http.Server; seen: Seen[]; target: CorsTarget }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    if (origin === 'https://app.example' && (method === 'GET' || method === 'PUT')) {
      res.writeHead(200, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': method,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Expose-Headers': 'ETag',
        'Access-Control-Max-Age': '60',
        Vary: 'Origin',
      });
      res.end();
      return;
    }
    res.writeHead(403, { 'Content-Type': 'application/xml' });
    res.end('<Error><Code>AccessDenied</Code></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, seen, target: { protocol: 'http:', hostname: '127.0.0.1', port, hostHeader: `127.0.0.1:${port}`, path: '/bucket/some/key' } };
}

const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('corsHeadersOf', () => {
  it('keeps the headers that belong on an actual response, from an answer that allowed the origin', () => {
    const headers = {
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '60',
      'access-control-expose-headers': 'ETag,x-amz-request-id',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
      'content-type': 'text/plain',
    };
    expect(corsHeadersOf(200, headers)).toEqual({
      'access-control-allow-origin': 'https://app.example',
      'access-control-expose-headers': 'ETag,x-amz-request-id',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('gives nothing for a refusal, or an answer without Access-Control-Allow-Origin', () => {
    expect(corsHeadersOf(403, { 'access-control-allow-origin': 'https://app.example', vary: 'Origin' })).toEqual({});
    expect(corsHeadersOf(200, { vary: 'Origin' })).toEqual({});
    expect(corsHeadersOf(500, {})).toEqual({});
  });
});

describe('createBackendCors', () => {
  let agent: BackendAgent;
  beforeEach(() => (agent = createBackendAgent({ rejectUnauthorized: true })));
  afterEach(() => agent.destroy());

  it('asks with an unsigned preflight: OPTIONS, Host, Origin and Access-Control-Request-Method only', async () => {
    const { server, seen, target } = await rulesServer();
    try {
      const cors = createBackendCors({ agent });
      expect(await cors.headersFor('b', target, 'https://app.example', 'PUT')).toEqual({
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'ETag',
        vary: 'Origin',
      });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.method).toBe('OPTIONS');
      expect(seen[0]!.url).toBe('/bucket/some/key');
      const { connection: _connection, ...sent } = seen[0]!.headers;
      expect(sent).toEqual({ host: target.hostHeader, origin: 'https://app.example', 'access-control-request-method': 'PUT' });
      expect(await cors.headersFor('b', target, 'https://evil.example', 'PUT')).toEqual({});
      expect(await cors.headersFor('b', target, 'https://app.example', 'DELETE')).toEqual({});
    } finally {
      await close(server);
    }
  });

  it('asks once per (bucket, origin, method) within the TTL, concurrent questions included, and again after it', async () => {
    const { server, seen, target } = await rulesServer();
    let now = 1_000_000;
    try {
      const cors = createBackendCors({ agent, ttlSeconds: 30, now: () => now });
      await Promise.all([1, 2, 3].map(() => cors.headersFor('b', target, 'https://app.example', 'GET')));
      expect(seen).toHaveLength(1);
      await cors.headersFor('b', target, 'https://app.example', 'GET');
      await cors.headersFor('b', target, 'https://evil.example', 'GET'); // refusals are cached too
      await cors.headersFor('b', target, 'https://evil.example', 'GET');
      expect(seen).toHaveLength(2);
      await cors.headersFor('other', target, 'https://app.example', 'GET');
      await cors.headersFor('b', target, 'https://app.example', 'PUT');
      expect(seen).toHaveLength(4);
      now += 30_000;
      await cors.headersFor('b', target, 'https://app.example', 'GET');
      expect(seen).toHaveLength(5);
    } finally {
      await close(server);
    }
  });

  it('keeps at most maxEntries answers', async () => {
    const { server, seen, target } = await rulesServer();
    try {
      const cors = createBackendCors({ agent, maxEntries: 2 });
      for (const origin of ['https://a.example', 'https://b.example', 'https://c.example']) await cors.headersFor('b', target, origin, 'GET');
      await cors.headersFor('b', target, 'https://a.example', 'GET'); // evicted: asked again
      expect(seen).toHaveLength(4);
    } finally {
      await close(server);
    }
  });

  it('gives no headers when the backend does not answer in time, and remembers that for failureTtlSeconds', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const target: CorsTarget = { protocol: 'http:', hostname: '127.0.0.1', port, hostHeader: `127.0.0.1:${port}`, path: '/b' };
    let asked = 0;
    silent.on('request', () => asked++);
    let now = 1_000_000;
    try {
      const cors = createBackendCors({ agent, timeoutMs: 200, failureTtlSeconds: 5, now: () => now });
      const started = Date.now();
      expect(await cors.headersFor('b', target, 'https://app.example', 'GET')).toEqual({});
      expect(Date.now() - started).toBeLessThan(2000);
      await cors.headersFor('b', target, 'https://app.example', 'GET');
      expect(asked).toBe(1);
      now += 5_000;
      await cors.headersFor('b', target, 'https://app.example', 'GET');
      expect(asked).toBe(2);
    } finally {
      silent.closeAllConnections();
      await close(silent);
    }
  });

  it('gives no headers for an unreachable backend, an Origin Node cannot send, or an over-long Origin', async () => {
    const { server, seen, target } = await rulesServer();
    await close(server); // nothing listens on its port any more
    const cors = createBackendCors({ agent });
    expect(await cors.headersFor('b', target, 'https://app.example', 'GET')).toEqual({});
    expect(await cors.headersFor('b', target, 'https://app.example\r\nx-injected: 1', 'GET')).toEqual({});
    expect(await cors.headersFor('b', target, `https://${'a'.repeat(2000)}.example`, 'GET')).toEqual({});
    expect(seen).toHaveLength(0);
  });
});
