/**
 * The upstream module on its own (lib/upstream/): the agent policy of `createUpstream` (TLS
 * verification on and off, `upstreamLookup`, connect timeout, keep-alive or not), the request
 * function's bounds (deadline, silence, body size), the one error mapping, and the tracing hook.
 * Against in-process HTTP and HTTPS servers on 127.0.0.1 port 0 (a self-signed certificate from openssl).
 */
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { Request } from 'express';
import { createUpstream, type Upstream, type UpstreamPolicy } from '../../../lib/upstream/upstream';
import { openUpstream, upstreamRequest, UPSTREAM_TOO_LARGE_CODE } from '../../../lib/upstream/request';
import { backendFailureToS3Error, upstreamFailureKind, upstreamFailureReason } from '../../../lib/upstream/errors';
import { UPSTREAM_TIMEOUT_CODE } from '../../../lib/upstream/agent';
import { watchUpstream } from '../../../lib/upstream/watch';
import * as tracing from '../../../lib/tracing/request-tracing';
import { OspError } from '../../../lib/errors';
import { loopbackLookup } from '../../helpers/proxy-server';

const policy = (extra: Partial<UpstreamPolicy> = {}): UpstreamPolicy => ({ verify: true, upstreamConnectTimeoutMs: 10_000, upstreamIdleTimeoutMs: 300_000, ...extra });

function recordingLookup(names: string[]): LookupFunction {
  return ((host: string, opts: unknown, cb?: unknown) => {
    names.push(host);
    (loopbackLookup as unknown as (h: string, o: unknown, c?: unknown) => void)(host, opts, cb);
  }) as unknown as LookupFunction;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: NodeJS.ErrnoException) => e,
  );

describe('upstream agent policy', () => {
  let up: Upstream | undefined;
  afterEach(() => up?.close());

  describe('TLS verification', () => {
    let dir: string;
    let server: https.Server;
    let port: number;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'osp-upstream-cert-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
        ],
        {
          stdio: 'ignore',
        },
      );
      server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
      port = await listen(server);
    });
    afterAll(async () => {
      await stop(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(['backends', 'iam'] as const)('verify: true refuses a self-signed certificate (%s agent): 502 BackendUnreachable (TLS)', async (which) => {
      up = createUpstream(policy({ verify: true }));
      const err = await failureOf(upstreamRequest(up[which], { protocol: 'https:', hostname: 'localhost', port }, { method: 'GET', path: '/', headers: {} }));
      expect(upstreamFailureKind(err)).toBe('tls');
      const s3 = backendFailureToS3Error(err);
      expect([s3.status, s3.s3Code, s3.message]).toEqual([502, 'BackendUnreachable', 'The storage backend could not be reached securely (TLS error).']);
    });

    it.each(['backends', 'iam'] as const)('verify: false accepts it (%s agent)', async (which) => {
      up = createUpstream(policy({ verify: false }));
      const answer = await upstreamRequest(up[which], { protocol: 'https:', hostname: 'localhost', port }, { method: 'GET', path: '/', headers: {} });
      expect([answer.status, answer.body.toString()]).toEqual([200, 'secret']);
    });
  });

  describe('with a plain HTTP server', () => {
    let server: http.Server;
    let port: number;
    let connections = 0;
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        if (req.url === '/silent') return; // never answers
        if (req.url === '/big') return res.end(Buffer.alloc(4096, 'x'));
        req.resume();
        req.on('end', () => res.end(`${req.method} ${req.headers.host}`));
      });
      server.on('connection', () => connections++);
      port = await listen(server);
    });
    afterAll(() => stop(server));

    it.each(['backends', 'iam'] as const)('resolves host names with upstreamLookup (%s agent)', async (which) => {
      const names: string[] = [];
      up = createUpstream(policy({ upstreamLookup: recordingLookup(names) }));
      const answer = await upstreamRequest(up[which], { protocol: 'http:', hostname: `${which}.example.test`, port }, { method: 'GET', path: '/', headers: {} });
      expect(answer.status).toBe(200);
      expect(names).toEqual([`${which}.example.test`]);
    });

    it('keeps backend connections alive, and IAM ones not', async () => {
      up = createUpstream(policy());
      const target = { protocol: 'http:' as const, hostname: '127.0.0.1', port };
      for (const which of ['backends', 'iam'] as const) {
        const from = connections;
        await upstreamRequest(up[which], target, { method: 'GET', path: '/', headers: {} });
        await upstreamRequest(up[which], target, { method: 'GET', path: '/', headers: {} });
        expect([which, connections - from]).toEqual([which, which === 'backends' ? 1 : 2]);
      }
    });

    it('sends the body and the headers given', async () => {
      up = createUpstream(policy());
      const answer = await upstreamRequest(
        up.backends,
        { protocol: 'http:', hostname: '127.0.0.1', port },
        { method: 'POST', path: '/', headers: { host: 'named.example' }, body: Buffer.from('form') },
      );
      expect(answer.body.toString()).toBe('POST named.example');
    });

    it('deadlineMs bounds the whole exchange: a timeout (504 BackendTimeout)', async () => {
      up = createUpstream(policy());
      const started = Date.now();
      const err = await failureOf(upstreamRequest(up.backends, { protocol: 'http:', hostname: '127.0.0.1', port }, { method: 'GET', path: '/silent', headers: {}, deadlineMs: 200 }));
      expect(err.code).toBe(UPSTREAM_TIMEOUT_CODE);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(backendFailureToS3Error(err).s3Code).toBe('BackendTimeout');
    });

    it('idleTimeoutMs fails a silent exchange, and the agent idle timeout does without it', async () => {
      up = createUpstream(policy({ upstreamIdleTimeoutMs: 250 }));
      const target = { protocol: 'http:' as const, hostname: '127.0.0.1', port };
      expect((await failureOf(upstreamRequest(up.backends, target, { method: 'GET', path: '/silent', headers: {}, idleTimeoutMs: 150 }))).code).toBe(UPSTREAM_TIMEOUT_CODE);
      expect((await failureOf(upstreamRequest(up.backends, target, { method: 'GET', path: '/silent', headers: {} }))).code).toBe(UPSTREAM_TIMEOUT_CODE);
    });

    it('fails an answer larger than maxResponseBytes', async () => {
      up = createUpstream(policy());
      const err = await failureOf(upstreamRequest(up.backends, { protocol: 'http:', hostname: '127.0.0.1', port }, { method: 'GET', path: '/big', headers: {}, maxResponseBytes: 1024 }));
      expect(err.code).toBe(UPSTREAM_TOO_LARGE_CODE);
    });

    it('discardBody resolves on the headers', async () => {
      up = createUpstream(policy());
      const answer = await upstreamRequest(up.backends, { protocol: 'http:', hostname: '127.0.0.1', port }, { method: 'GET', path: '/big', headers: {}, discardBody: true });
      expect([answer.status, answer.body.length]).toEqual([200, 0]);
    });

    it('watchUpstream: the tracing hook and onBackendResponse run for a request made for a client', async () => {
      up = createUpstream(policy());
      const traced = jest.spyOn(tracing, 'traceUpstream');
      try {
        const responses: number[] = [];
        const client = { method: 'GET', headers: {} } as unknown as Request;
        const u = openUpstream(up.backends, { protocol: 'http:', hostname: '127.0.0.1', port }, { method: 'GET', path: '/', headers: {} });
        watchUpstream(u, client, { onBackendResponse: (req, status) => responses.push(req === client ? status : -1) });
        expect(traced).toHaveBeenCalledWith(u, client);
        await new Promise<void>((resolve, reject) => {
          u.once('response', (r) => r.resume().once('end', resolve));
          u.once('error', reject);
          u.end();
        });
        expect(responses).toEqual([200]);
      } finally {
        traced.mockRestore();
      }
    });
  });
});

describe('the error mapping', () => {
  const fail = (code: string, message = 'x') => Object.assign(new Error(message), { code }) as NodeJS.ErrnoException;
  it.each([
    [UPSTREAM_TIMEOUT_CODE, 'timeout', 504, 'BackendTimeout'],
    ['ETIMEDOUT', 'timeout', 504, 'BackendTimeout'],
    ['ESOCKETTIMEDOUT', 'timeout', 504, 'BackendTimeout'],
    ['CERT_HAS_EXPIRED', 'tls', 502, 'BackendUnreachable'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', 502, 'BackendUnreachable'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls', 502, 'BackendUnreachable'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls', 502, 'BackendUnreachable'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls', 502, 'BackendUnreachable'],
    ['EPROTO', 'tls', 502, 'BackendUnreachable'],
    ['ECONNREFUSED', 'network', 502, 'BackendUnreachable'],
    ['ECONNRESET', 'network', 502, 'BackendUnreachable'],
    ['ENOTFOUND', 'network', 502, 'BackendUnreachable'],
  ])('%s → %s, %i %s', (code, kind, status, s3Code) => {
    expect(upstreamFailureKind(fail(code))).toBe(kind);
    const s3 = backendFailureToS3Error(fail(code, 'connect to secret.internal:443 with key AKIA… failed'));
    expect([s3.status, s3.s3Code]).toEqual([status, s3Code]);
    expect(s3.message).not.toMatch(/secret|AKIA/);
  });

  it('passes an OspError of a body stage through unchanged', () => {
    const stage = new OspError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    expect(backendFailureToS3Error(stage as unknown as NodeJS.ErrnoException)).toBe(stage);
  });

  it('phrases a reason from the code only, never the message', () => {
    expect(upstreamFailureReason(fail('ECONNREFUSED', 'apikey=hunter2'))).toBe('ECONNREFUSED');
    expect(upstreamFailureReason(fail(UPSTREAM_TIMEOUT_CODE))).toBe('timed out');
    expect(upstreamFailureReason(new Error('apikey=hunter2'))).toBe('network error');
  });
});
