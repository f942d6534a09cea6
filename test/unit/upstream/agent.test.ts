/**
 * The backend agent owns the upstream timeouts (issue [11]: no timer per request): a connection
 * that does not connect, and a socket that goes silent, fail their request with the error that
 * becomes 504 BackendTimeout; an idle pooled socket is closed after the idle timeout.
 */
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createBackendAgent, UPSTREAM_TIMEOUT_CODE, watchSocketTimeout, type BackendAgent } from '../../../lib/upstream/agent';
import { backendFailureToS3Error } from '../../../lib/upstream/errors';

function get(agent: BackendAgent, port: number): Promise<{ status?: number; error?: NodeJS.ErrnoException; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent: agent as unknown as http.Agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
    });
    watchSocketTimeout(req);
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error, ms: Date.now() - started }));
    req.end();
  });
}

describe('backend agent timeouts', () => {
  let agent: BackendAgent | undefined;
  afterEach(() => agent?.destroy());

  it('fails a request whose socket goes silent after idleTimeoutMs, as BackendTimeout', async () => {
    const silent = http.createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      agent = createBackendAgent({ rejectUnauthorized: true, idleTimeoutMs: 300 });
      const r = await get(agent, (silent.address() as AddressInfo).port);
      expect(r.error?.code).toBe(UPSTREAM_TIMEOUT_CODE);
      expect(r.ms).toBeGreaterThanOrEqual(250);
      expect(r.ms).toBeLessThan(3000);
      const s3 = backendFailureToS3Error(r.error as NodeJS.ErrnoException);
      expect([s3.status, s3.s3Code]).toEqual([504, 'BackendTimeout']);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('keeps answering requests that are slower in total than idleTimeoutMs but never silent that long', async () => {
    const trickle = http.createServer((_req, res) => {
      res.writeHead(200);
      let n = 0;
      const t = setInterval(() => {
        res.write('x');
        if (++n === 6) {
          clearInterval(t);
          res.end();
        }
      }, 100);
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    try {
      agent = createBackendAgent({ rejectUnauthorized: true, idleTimeoutMs: 300 });
      const r = await get(agent, (trickle.address() as AddressInfo).port);
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(500);
    } finally {
      trickle.close();
    }
  });

  it('closes a pooled keep-alive socket that stays idle for idleTimeoutMs', async () => {
    let closed = 0;
    let onClose: () => void = () => undefined;
    const socketClosed = new Promise<void>((resolve) => (onClose = resolve));
    const server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s: net.Socket) =>
      s.on('close', () => {
        closed++;
        onClose();
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      agent = createBackendAgent({ rejectUnauthorized: true, idleTimeoutMs: 200 });
      expect((await get(agent, (server.address() as AddressInfo).port)).status).toBe(200);
      const idleSince = performance.now();
      expect(closed).toBe(0);
      await socketClosed; // the close event, instead of sleeping past the timeout
      expect(performance.now() - idleSince).toBeGreaterThanOrEqual(150); // not before idleTimeoutMs (timer slack)
      expect(closed).toBe(1);
    } finally {
      server.close();
    }
  });

  describe('connect timeout', () => {
    // A listener that never accepts, its backlog filled: further connection attempts hang in SYN.
    let listener: ChildProcess;
    let port: number;
    const fillers: net.Socket[] = [];
    beforeAll(async () => {
      listener = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      port = await new Promise<number>((resolve) => listener.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      for (let i = 0; i < 4; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        fillers.push(s);
      }
      // A real wait: the kernel must have put the fillers in the listener's backlog (no event tells when).
      await new Promise((r) => setTimeout(r, 200));
    });
    afterAll(() => {
      for (const s of fillers) s.destroy();
      listener.kill();
    });

    it('fails a connection that does not connect within connectTimeoutMs, as BackendTimeout', async () => {
      agent = createBackendAgent({ rejectUnauthorized: true, connectTimeoutMs: 300, idleTimeoutMs: 60_000 });
      const r = await get(agent, port);
      expect(r.error?.code).toBe(UPSTREAM_TIMEOUT_CODE);
      expect(r.error?.message).toBe('backend connect timed out');
      expect(r.ms).toBeGreaterThanOrEqual(250);
      expect(r.ms).toBeLessThan(3000);
    });
  });
});
