/**
 * Body byte counting through the prototype layer (countBodyBytesOfApp): exact payload bytes for
 * chunked and sized bodies, several requests on one keep-alive socket, and no double counting
 * when the per-request wrapper (countBodyBytes) runs too; countBodyBytesOfRequest (ospMetrics of
 * middleware users) layers the request's own app on first use, and wraps instances where it cannot.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { countBodyBytes, countBodyBytesOfApp, countBodyBytesOfRequest, requestBytesRead, responseBytesWritten } from '../../../lib/server/body-bytes';

type Seen = { rx: number; tx: number };

/** app: the app layer only; app+wrap: plus the instance wrapper; request: countBodyBytesOfRequest per request; sub-app: the same inside a mounted sub-app. */
type Mode = 'app' | 'app+wrap' | 'request' | 'sub-app';

async function withApp(fn: (port: number, seen: Seen[], app: express.Express) => Promise<void>, mode: Mode = 'app'): Promise<void> {
  const app = express();
  if (mode === 'app' || mode === 'app+wrap') countBodyBytesOfApp(app);
  const seen: Seen[] = [];
  const inner = mode === 'sub-app' ? express() : app;
  if (mode === 'sub-app') app.use('/', inner);
  inner.use((req: Request, res: Response) => {
    if (mode === 'app+wrap') countBodyBytes(req, res);
    if (mode === 'request' || mode === 'sub-app') countBodyBytesOfRequest(req, res);
    res.on('close', () => seen.push({ rx: requestBytesRead(req), tx: responseBytesWritten(res) }));
    req.on('data', () => {});
    req.on('end', () => {
      if (req.url === '/chunked') {
        res.write('héllo'); // 6 bytes in UTF-8
        res.write(Buffer.alloc(1000, 'a'));
        res.write('6869', 'hex'); // 2 bytes
        res.end();
      } else {
        res.setHeader('content-length', '5');
        res.end('hello');
      }
    });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port, seen, inner);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Waits until the server saw `n` responses close (their 'close' events record the counts): an event, not a sleep. */
async function closed(seen: readonly unknown[], n: number): Promise<void> {
  for (let i = 0; seen.length < n; i++) {
    if (i > 100_000) throw new Error(`only ${seen.length} of ${n} responses closed`);
    await new Promise((r) => setImmediate(r));
  }
}

function request(port: number, agent: http.Agent, path: string, body?: Buffer[], method = 'PUT'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    for (const chunk of body ?? []) req.write(chunk); // no content-length: chunked
    req.end();
  });
}

test.each<Mode>(['app', 'request', 'sub-app'])('chunked and sized bodies, several requests on one keep-alive socket: payload bytes only (%s)', async (mode) => {
  await withApp(async (port, seen, app) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect(await request(port, agent, '/chunked', [Buffer.alloc(300, 'x'), Buffer.alloc(700, 'y')])).toBe(1008);
    expect(await request(port, agent, '/sized', [Buffer.alloc(10, 'z')])).toBe(5);
    expect(await request(port, agent, '/sized', [], 'HEAD')).toBe(0);
    agent.destroy();
    await closed(seen, 3);
    expect(seen).toEqual([
      { rx: 1000, tx: 1008 },
      { rx: 10, tx: 5 },
      { rx: 0, tx: 5 }, // HEAD: what the app handed to end(), as before (Node sends no body)
    ]);
    // Counted by the app's prototype layer, also where countBodyBytesOfRequest installed it.
    expect(Object.getPrototypeOf(app.request)).toHaveProperty('push', expect.any(Function));
    expect(Object.prototype.hasOwnProperty.call(Object.getPrototypeOf(app.request), 'push')).toBe(true);
  }, mode);
});

test('countBodyBytesOfRequest wraps the instances of a request that carries no Express prototypes', async () => {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    countBodyBytesOfRequest(req, res);
    expect(Object.prototype.hasOwnProperty.call(req, 'push')).toBe(true);
    res.on('close', () => seen.push({ rx: requestBytesRead(req), tx: responseBytesWritten(res) }));
    req.resume();
    req.on('end', () => res.end('hello'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const agent = new http.Agent({ keepAlive: false });
    expect(await request((server.address() as AddressInfo).port, agent, '/', [Buffer.alloc(7)])).toBe(5);
    await closed(seen, 1);
    expect(seen).toEqual([{ rx: 7, tx: 5 }]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the per-request wrapper does not count a second time where the prototype counts', async () => {
  await withApp(async (port, seen) => {
    const agent = new http.Agent({ keepAlive: false });
    await request(port, agent, '/chunked', [Buffer.alloc(42)]);
    await closed(seen, 1);
    expect(seen).toEqual([{ rx: 42, tx: 1008 }]);
  }, 'app+wrap');
});
