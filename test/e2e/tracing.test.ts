/**
 * OpenTelemetry traces of the `osp` server (issue [13] part 3). The real CLI (ts-node) runs with
 * the standard OTEL_* variables and exports OTLP/HTTP JSON to a local receiver; the backend is moto
 * behind a recording relay, so the test sees what reached the backend. Checked: the spans of a PUT
 * (server span under the client's traceparent, stage spans, an upstream CLIENT span whose context
 * reached the backend as `traceparent`), of a denied GET (error status AccessDenied, nothing
 * upstream), of a presigned GET (signature redacted), and that nothing exported carries a secret.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { freePort, raw, s3Client, spawnTs, startMoto, uniqueName, waitFor, type Moto } from './server-helpers';
import { startRelay, type Relay } from '../helpers/recording-relay';
import { SPAN_KIND, STATUS, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';

const AK = 'trace-frontend-ak';
const SK = 'trace-frontend-secret-do-not-export';
const LIMITED_AK = 'trace-limited-ak';
const LIMITED_SK = 'trace-limited-secret-do-not-export';
const BACKEND_AK = 'trace-backend-ak';
const BACKEND_SK = 'trace-backend-secret-do-not-export';

let moto: Moto;
let relay: Relay;
let receiver: OtlpReceiver;
let bucket: string;
let dir: string;
let child: ChildProcess;
let exit: Promise<number | null>;
let httpUrl: string;
let client: S3Client;
const signatures: string[] = [];

/** A client whose requests carry `traceparent` (signed like any header) and whose signatures are kept. */
function tracedClient(ak: string, sk: string, traceparent: () => string | undefined): S3Client {
  const c = s3Client(httpUrl, ak, sk);
  c.middlewareStack.add(
    (next) => async (args) => {
      const tp = traceparent();
      const h = (args.request as { headers?: Record<string, string> }).headers;
      if (tp && h) h.traceparent = tp;
      return next(args);
    },
    { step: 'build', name: 'addTraceparent' },
  );
  c.middlewareStack.add(
    (next) => async (args) => {
      const auth = (args.request as { headers?: Record<string, string> }).headers?.authorization;
      const sig = auth && /Signature=([0-9a-f]+)/.exec(auth)?.[1];
      if (sig) signatures.push(sig);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureSignature' },
  );
  return c;
}

const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
const one = (spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
  const found = spans.filter(pred);
  if (found.length !== 1) throw new Error(`expected one ${what}, got ${found.length}: ${JSON.stringify(spans.map((s) => [s.name, s.kind]))}`);
  return found[0] as ReceivedSpan;
};

beforeAll(async () => {
  [moto, receiver] = await Promise.all([startMoto(), startOtlpReceiver()]);
  relay = await startRelay({ host: moto.host, port: moto.port });
  bucket = uniqueName('osp-trace');
  await moto.createBucket(bucket);
  dir = mkdtempSync(join(tmpdir(), 'osp-trace-'));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      httpPort: await freePort(),
      buckets: { [bucket]: { host: relay.host, port: relay.port, tls: false, addressingStyle: 'path', accessKey: BACKEND_AK, secretKey: BACKEND_SK } },
      hmacKeystore: [
        { accessKey: AK, secretKey: SK },
        { accessKey: LIMITED_AK, secretKey: LIMITED_SK, buckets: ['some-other-bucket'] },
      ],
    }),
  );
  const started = spawnTs('lib/server/cli.ts', ['--config', config], 'ignore', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_SERVICE_NAME: 'osp-under-test',
  });
  child = started.child;
  exit = started.exit;
  await waitFor(async () => started.lines.some((l) => l.startsWith('osp listening:')), 90_000, 'osp to listen');
  httpUrl = /http=(\S+)/.exec(started.lines.find((l) => l.startsWith('osp listening:'))!)![1]!;
  client = tracedClient(AK, SK, () => undefined);
});

afterAll(async () => {
  client?.destroy();
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await exit;
  }
  await relay?.close();
  await receiver?.close();
  moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a PUT: server span under the client trace, stage spans, upstream client span, traceparent at the backend', async () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  const c = tracedClient(AK, SK, () => `00-${traceId}-${parentId}-01`);
  relay.clear();
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/traced.txt', Body: 'hello tracing', ContentLength: 13 }));
  c.destroy();
  await waitFor(async () => spansOf(traceId).some((s) => s.kind === SPAN_KIND.server), 15_000, 'the server span');
  const spans = spansOf(traceId);

  const server = one(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
  expect(server.parentSpanId).toBe(parentId);
  expect(server.name).toBe('PUT /{bucket}/{key}');
  expect(server.scope).toBe('object-storage-proxy');
  expect(server.resource['service.name']).toBe('osp-under-test');
  expect(server.status.code).toBe(STATUS.unset);
  expect(server.attributes).toMatchObject({
    'http.request.method': 'PUT',
    'url.path': `/${bucket}/dir/traced.txt`,
    'url.scheme': 'http',
    'server.address': '127.0.0.1',
    'http.response.status_code': 200,
    'osp.bucket': bucket,
    'osp.operation': 'PutObject',
    'osp.backend.host': '127.0.0.1',
    'osp.auth.method': 'header',
  });

  const stages = spans.filter((s) => s.kind === SPAN_KIND.internal);
  expect(stages.map((s) => s.name).sort()).toEqual(['osp.authorize', 'osp.resolveBackend', 'osp.verifySignature']);
  for (const s of stages) {
    expect(s.parentSpanId).toBe(server.spanId);
    expect(s.status.code).toBe(STATUS.unset);
  }

  const upstream = one(spans, (s) => s.kind === SPAN_KIND.client, 'client span');
  expect(upstream.parentSpanId).toBe(server.spanId);
  expect(upstream.attributes).toMatchObject({
    'http.request.method': 'PUT',
    'server.address': '127.0.0.1',
    'server.port': relay.port,
    'http.response.status_code': 200,
    'url.full': `http://127.0.0.1:${relay.port}/${bucket}/dir/traced.txt?x-id=PutObject`,
    'osp.operation': 'PutObject',
  });
  // The backend saw the client span as the parent, and the re-signed request was accepted.
  const put = relay.requests.find((r) => r.method === 'PUT');
  expect(put?.headers.traceparent).toBe(`00-${traceId}-${upstream.spanId}-01`);
  expect(put?.status).toBe(200);
});

test('a denied GET: error status AccessDenied on the server and authorize spans, nothing upstream', async () => {
  const traceId = randomBytes(16).toString('hex');
  const c = tracedClient(LIMITED_AK, LIMITED_SK, () => `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
  relay.clear();
  await expect(c.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/traced.txt' }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  c.destroy();
  await waitFor(async () => spansOf(traceId).some((s) => s.kind === SPAN_KIND.server), 15_000, 'the server span');
  const spans = spansOf(traceId);
  const server = one(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
  expect(server.status).toEqual({ code: STATUS.error, message: 'AccessDenied' });
  expect(server.attributes).toMatchObject({ 'http.response.status_code': 403, 'error.type': 'AccessDenied', 'osp.operation': 'GetObject', 'osp.bucket': bucket });
  expect(server.attributes['osp.backend.host']).toBeUndefined();
  const authorize = one(spans, (s) => s.name === 'osp.authorize', 'authorize span');
  expect(authorize.status).toEqual({ code: STATUS.error, message: 'AccessDenied' });
  expect(one(spans, (s) => s.name === 'osp.verifySignature', 'verify span').status.code).toBe(STATUS.unset);
  expect(spans.filter((s) => s.kind === SPAN_KIND.client || s.name === 'osp.resolveBackend')).toEqual([]);
  expect(relay.requests).toEqual([]);
});

test('a presigned GET: the query is recorded with its signature and credential redacted; a new trace without a client traceparent', async () => {
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'dir/traced.txt' }), { expiresIn: 300 });
  const signature = new URL(url).searchParams.get('X-Amz-Signature') as string;
  const before = new Set(receiver.spans.map((s) => s.traceId));
  const answer = await raw(url);
  expect(answer.status).toBe(200);
  expect(answer.body.toString()).toBe('hello tracing');
  const isNew = (s: ReceivedSpan) => !before.has(s.traceId) && s.attributes['osp.auth.method'] === 'query';
  await waitFor(async () => receiver.spans.some(isNew), 15_000, 'the presigned request span');
  const server = receiver.spans.find(isNew) as ReceivedSpan;
  expect(server.parentSpanId).toBe('');
  const query = server.attributes['url.query'] as string;
  expect(query).toContain('X-Amz-Signature=REDACTED');
  expect(query).toContain('X-Amz-Credential=REDACTED');
  expect(query).toContain('X-Amz-Expires=300');
  expect(JSON.stringify(receiver.spans)).not.toContain(signature);
  expect(
    spansOf(server.traceId)
      .map((s) => s.name)
      .sort(),
  ).toEqual(['GET', 'GET /{bucket}/{key}', 'osp.authorize', 'osp.limitPresignedUrlUsage', 'osp.resolveBackend', 'osp.verifySignature']);
});

test('nothing exported carries a key, a secret, a signature or an Authorization header', async () => {
  expect(receiver.bodies.length).toBeGreaterThan(0);
  expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
  const all = receiver.bodies.join('\n');
  for (const secret of [AK, SK, LIMITED_AK, LIMITED_SK, BACKEND_AK, BACKEND_SK, 'AWS4-HMAC-SHA256 Credential', 'authorization', 'x-amz-security-token', ...signatures]) {
    expect(all).not.toContain(secret);
  }
  expect(all).not.toMatch(/Signature=[0-9a-f]/);
  expect(signatures.length).toBeGreaterThan(1);
});

test('the default protocol is OTLP/HTTP protobuf, also to a traces-specific endpoint', async () => {
  const proto = await startOtlpReceiver();
  const config = join(dir, 'config-proto.json');
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      httpPort: await freePort(),
      buckets: { [bucket]: { host: moto.host, port: moto.port, tls: false, addressingStyle: 'path', accessKey: BACKEND_AK, secretKey: BACKEND_SK } },
      hmacKeystore: [{ accessKey: AK, secretKey: SK }],
    }),
  );
  const started = spawnTs('lib/server/cli.ts', ['--config', config], 'ignore', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${proto.endpoint}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '50' });
  try {
    await waitFor(async () => started.lines.some((l) => l.startsWith('osp listening:')), 90_000, 'osp to listen');
    const url = /http=(\S+)/.exec(started.lines.find((l) => l.startsWith('osp listening:'))!)![1]!;
    const c = s3Client(url, AK, SK);
    await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/traced.txt' }));
    c.destroy();
    await waitFor(async () => proto.bodies.some((b) => b.includes('GET /{bucket}/{key}')), 15_000, 'a protobuf export with the request span');
    expect(proto.contentTypes[0]).toBe('application/x-protobuf');
    expect(proto.spans).toEqual([]);
    const all = proto.bodies.join('');
    for (const name of ['object-storage-proxy', 'osp.verifySignature', 'osp.resolveBackend', 'GetObject']) expect(all).toContain(name);
    for (const secret of [SK, BACKEND_SK, AK]) expect(all).not.toContain(secret);
  } finally {
    started.child.kill('SIGTERM');
    await started.exit;
    await proto.close();
  }
});
