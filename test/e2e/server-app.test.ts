/**
 * startServer (single process) against moto through real clients: S3 behaviour, headers,
 * 100-continue, exact metric values after a known sequence, request counts, and logs free of secrets.
 */
import net from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { lineSink } from '../helpers/log-lines';
import { Sha256 } from '../helpers/independent-signer';
import { startServer, type RunningServer } from '../../lib/server';
import { freePort, metric, parseMetrics, raw, s3Client, startMoto, uniqueName, waitFor, type Moto } from './server-helpers';

const AK = 'frontend-ak';
const SK = 'frontend-secret-key-do-not-log';
const BACKEND_SK = 'backend-secret-key-do-not-log';

let moto: Moto;
let server: RunningServer;
let bucket: string;
let client: S3Client;
const logLines: string[] = [];
const authorizationHeaders: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  bucket = uniqueName('osp-app');
  await moto.createBucket(bucket);
  const deadPort = await freePort();
  const sink = lineSink(logLines);
  server = await startServer(
    {
      host: '127.0.0.1',
      httpPort: 0,
      metricsPort: 0,
      enableRequestCounting: true,
      serverName: 'osp-test',
      maxPresignUrlUsageAttempts: 2,
      buckets: {
        [bucket]: { host: moto.host, port: moto.port, tls: false, addressingStyle: 'path', accessKey: 'backend-ak', secretKey: BACKEND_SK },
        dead: { host: '127.0.0.1', port: deadPort, tls: false, addressingStyle: 'path', accessKey: 'x', secretKey: 'y' },
      },
      hmacKeystore: [{ accessKey: AK, secretKey: SK }],
    },
    { logDestination: sink },
  );
  client = s3Client(server.addresses.http, AK, SK);
  client.middlewareStack.add(
    (next) => async (args) => {
      const h = (args.request as { headers?: Record<string, string> }).headers;
      if (h?.authorization) authorizationHeaders.push(h.authorization);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureAuthorization' },
  );
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  moto?.stop();
});

const presign = (c: S3Client, b: string, key: string, expiresIn = 300) => getSignedUrl(c, new GetObjectCommand({ Bucket: b, Key: key }), { expiresIn });

describe('startServer: one known request sequence', () => {
  const body = Buffer.alloc(1000, 'a');
  const errorBodies: Record<string, number> = {};
  const presignedUrls: string[] = [];

  test('the sequence behaves as S3 would', async () => {
    // 1. PUT 1000 bytes, 2. GET them back (header-signed, SDK)
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: body, ContentLength: body.length }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);

    // 3. presigned GET on an unknown bucket → 404 NoSuchBucket (bucket label "other")
    const nope = await presign(client, 'not-configured-bucket', 'x');
    presignedUrls.push(nope);
    const r3 = await raw(nope);
    expect(r3.status).toBe(404);
    expect(r3.body.toString()).toContain('<Code>NoSuchBucket</Code>');
    errorBodies.other = r3.body.length;

    // 4. wrong secret → SignatureDoesNotMatch; 5. unknown key → InvalidAccessKeyId
    const bad = await presign(s3Client(server.addresses.http, AK, 'wrong-secret'), bucket, 'a.txt');
    presignedUrls.push(bad);
    const r4 = await raw(bad);
    expect(r4.status).toBe(403);
    expect(r4.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const unknown = await presign(s3Client(server.addresses.http, 'unknown-ak', 'whatever'), bucket, 'a.txt');
    const r5 = await raw(unknown);
    expect(r5.body.toString()).toContain('<Code>InvalidAccessKeyId</Code>');

    // 6. a presigned URL used 3 times with a limit of 2
    const good = await presign(client, bucket, 'a.txt');
    presignedUrls.push(good);
    const uses = [await raw(good), await raw(good), await raw(good)];
    expect(uses.map((u) => u.status)).toEqual([200, 200, 403]);
    expect(uses[0]!.body.equals(body)).toBe(true);

    // 7. anonymous → AccessDenied
    const r7 = await raw(`${server.addresses.http}/${bucket}/a.txt`);
    expect(r7.status).toBe(403);

    // 8. backend down → 502 BackendUnreachable
    const dead = await presign(client, 'dead', 'x');
    const r8 = await raw(dead);
    expect(r8.status).toBe(502);
    expect(r8.body.toString()).toContain('<Code>BackendUnreachable</Code>');
    errorBodies.dead = r8.body.length;
    errorBodies.demo403 = r4.body.length + r5.body.length + uses[2]!.body.length + r7.body.length;
  });

  test('/metrics shows exact values', async () => {
    await waitFor(async () => metric(parseMetrics((await raw(`${server.addresses.metrics}/metrics`)).body.toString()), 'osp_active_connections') === 0, 5000, 'connections to close');
    const text = (await raw(`${server.addresses.metrics}/metrics`)).body.toString();
    const m = parseMetrics(text);
    const B = bucket;
    expect(metric(m, 'osp_requests_total', { method: 'PUT', bucket: B, status: '200' })).toBe(1);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket: B, status: '200' })).toBe(3);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket: B, status: '403' })).toBe(4);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket: 'other', status: '404' })).toBe(1);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket: 'dead', status: '502' })).toBe(1);
    // no label value outside the configured names + "other"
    for (const key of m.keys()) {
      const b = /bucket="([^"]*)"/.exec(key)?.[1];
      if (b !== undefined) expect([B, 'dead', 'other']).toContain(b);
    }
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket: 'other', error: 'NoSuchBucket' })).toBe(1);
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket: B, error: 'SignatureDoesNotMatch' })).toBe(1);
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket: B, error: 'InvalidAccessKeyId' })).toBe(1);
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket: B, error: 'AccessDenied' })).toBe(2);
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket: 'dead', error: 'BackendUnreachable' })).toBe(1);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'rx', bucket: B })).toBe(1000);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'tx', bucket: B })).toBe(3000 + errorBodies.demo403!);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'tx', bucket: 'other' })).toBe(errorBodies.other);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'tx', bucket: 'dead' })).toBe(errorBodies.dead);
    expect(metric(m, 'osp_presigned_url_hits_total', { bucket: B })).toBe(2);
    expect(metric(m, 'osp_presigned_url_hits_total', { bucket: 'other' })).toBe(1);
    expect(metric(m, 'osp_presigned_url_hits_total', { bucket: 'dead' })).toBe(1);
    expect(metric(m, 'osp_presigned_url_rejected_total', { bucket: B })).toBe(1);
    expect(metric(m, 'osp_active_connections')).toBe(0);
    expect(metric(m, 'osp_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(metric(m, 'osp_build_info', { version: '0.1.0', node: process.version })).toBe(1);
    expect(metric(m, 'osp_request_duration_seconds_count', { method: 'GET', bucket: B })).toBe(7);
    expect(metric(m, 'osp_request_duration_seconds_count', { method: 'PUT', bucket: B })).toBe(1);
    expect(metric(m, 'osp_request_duration_seconds_count', { method: 'GET', bucket: 'other' })).toBe(1);
    expect(metric(m, 'osp_response_size_bytes_count', { method: 'GET', bucket: B })).toBe(7);
    expect((metric(m, 'osp_response_size_bytes_sum', { method: 'GET', bucket: B }) ?? 0) + (metric(m, 'osp_response_size_bytes_sum', { method: 'PUT', bucket: B }) ?? 0)).toBe(
      3000 + errorBodies.demo403!,
    );
    expect(metric(m, 'osp_response_size_bytes_bucket', { method: 'GET', bucket: B, le: '1024' })).toBe(7);
    expect(metric(m, 'osp_backend_latency_seconds_count', { method: 'GET', bucket: B })).toBe(3);
    expect(metric(m, 'osp_backend_latency_seconds_count', { method: 'PUT', bucket: B })).toBe(1);
    expect(metric(m, 'osp_backend_latency_seconds_count', { method: 'GET', bucket: 'dead' })).toBeUndefined();
    expect(metric(m, 'osp_signature_failures_total', { reason: 'SignatureDoesNotMatch' })).toBe(1);
    expect(metric(m, 'osp_signature_failures_total', { reason: 'InvalidAccessKeyId' })).toBe(1);
    expect(metric(m, 'osp_signature_failures_total', { reason: 'AccessDenied' })).toBe(1); // the anonymous one, not the usage-limit one
    expect(text).toMatch(/# TYPE osp_iam_token_refreshes_total counter/);
    expect(text).toMatch(/# TYPE osp_active_connections gauge/);
    expect(text).toMatch(/# TYPE osp_request_duration_seconds histogram/);
    // the default registry is not used: no process_* / nodejs_* defaults
    expect(text).not.toMatch(/^process_cpu/m);
  });

  test('osp_active_connections counts open client connections', async () => {
    const socket = net.connect(server.httpPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    await waitFor(async () => metric(parseMetrics((await raw(`${server.addresses.metrics}/metrics`)).body.toString()), 'osp_active_connections') === 1, 5000, 'gauge 1');
    socket.destroy();
    await waitFor(async () => metric(parseMetrics((await raw(`${server.addresses.metrics}/metrics`)).body.toString()), 'osp_active_connections') === 0, 5000, 'gauge 0');
  });

  test('/request-counts and RunningServer.requestCounts()', async () => {
    const counts = JSON.parse((await raw(`${server.addresses.metrics}/request-counts`)).body.toString());
    expect(counts[`/${bucket}/a.txt`]).toBe(8);
    expect(counts['/not-configured-bucket/x']).toBe(1);
    expect(await server.requestCounts()).toEqual(counts);
  });

  test('logs carry request ids and no secrets', async () => {
    const text = logLines.join('\n');
    expect(authorizationHeaders.length).toBeGreaterThan(0);
    const secrets = [SK, BACKEND_SK, 'wrong-secret'];
    for (const h of authorizationHeaders) {
      secrets.push(/Signature=([0-9a-f]+)/.exec(h)![1]!, /Credential=([^,]+)/.exec(h)![1]!);
    }
    for (const u of presignedUrls) {
      const q = new URL(u).searchParams;
      secrets.push(q.get('X-Amz-Signature')!, q.get('X-Amz-Credential')!, encodeURIComponent(q.get('X-Amz-Credential')!));
    }
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).toContain('X-Amz-Signature=[REDACTED]');
    expect(text).not.toMatch(/authorization/i);
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.filter((l) => l.msg === 'request completed' || l.msg === 'request failed');
    expect(access.length).toBe(10); // one line per request of the sequence
    const nosuch = access.find((l) => l.status === 404)!;
    expect(nosuch).toMatchObject({ bucket: 'not-configured-bucket', operation: 'GetObject', bytesOut: expect.any(Number) });
    expect(nosuch.requestId).toMatch(/^[0-9A-F]{16}$/);
    expect(nosuch.reqId).toBe(nosuch.requestId);
    const put = access.find((l) => (l.req as { method: string }).method === 'PUT')!;
    expect(put).toMatchObject({ bytesIn: 1000, status: 200, authMethod: 'header' });
  });
});

describe('HTTP surface', () => {
  test('headers fit an S3 API: nosniff and Server, nothing page-oriented, no HSTS over http', async () => {
    const r = await raw(`${server.addresses.http}/${bucket}/a.txt`);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers.server).toBe('osp-test');
    for (const h of [
      'x-powered-by',
      'content-security-policy',
      'cross-origin-embedder-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'x-frame-options',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
      'strict-transport-security',
    ]) {
      expect(r.headers[h]).toBeUndefined();
    }
    const ok = await raw(await presign(client, bucket, 'a.txt', 301)); // a URL of its own: the one above is used up
    expect(ok.status).toBe(200);
    expect(ok.headers.server).toBe('osp-test');
    expect(ok.headers['cross-origin-resource-policy']).toBeUndefined();
  });

  test('no Express HTML: odd paths and methods get S3 XML', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/%zz'],
      ['PATCH', `/${bucket}/x`],
      ['GET', '//'],
      ['OPTIONS', '/nothing'],
    ] as const) {
      const r = await raw(`${server.addresses.http}${path}`, { method });
      expect(r.headers['content-type']).toMatch(/application\/xml/);
      expect(r.body.toString()).toMatch(/^<\?xml[\s\S]*<Error><Code>/);
      expect(r.body.toString()).not.toMatch(/<html|<pre>|Cannot /i);
    }
  });

  test('Expect: 100-continue: no 100 before authentication; 100 then success when signed', async () => {
    const url = `${server.addresses.http}/${bucket}/continue.txt`;
    const denied = await raw(url, {
      method: 'PUT',
      headers: {
        expect: '100-continue',
        'content-length': '5',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-amz-date': '20200101T000000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=${AK}/20200101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
      body: 'hello',
    });
    expect(denied.status).toBe(403);
    expect(denied.gotContinue).toBe(false);

    const u = new URL(url);
    const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SK }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      headers: { host: u.host, 'content-length': '5', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', expect: '100-continue' },
      query: {},
    });
    const ok = await raw(url, { method: 'PUT', headers: signed.headers as Record<string, string>, body: 'hello' });
    expect(ok.status).toBe(200);
    expect(ok.gotContinue).toBe(true);
    const back = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'continue.txt' }));
    expect(await back.Body!.transformToString()).toBe('hello');
  });

  test('/healthz and /readyz', async () => {
    expect((await raw(`${server.addresses.metrics}/healthz`)).status).toBe(200);
    const ready = await raw(`${server.addresses.metrics}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body.toString())).toEqual({ status: 'ready' });
  });
});
