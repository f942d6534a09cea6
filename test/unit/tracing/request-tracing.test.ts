/**
 * The middleware's spans in process, against a local upstream that records what it receives:
 * without an SDK nothing is added (the client's own traceparent passes through untouched); with
 * one, the spans nest as documented; a sampled-out request still propagates its context; a span
 * made by an HTTP instrumentation in front becomes the parent (no second SERVER span); a stage
 * error ends as the span status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SamplingDecision, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { signRequest } from '../../../lib/sigv4/sign-request';
import { startProxy, type RunningProxy } from '../../helpers/proxy-server';

const CLIENT = { accessKey: 'unit-ak', secretKey: 'unit-secret-key' };
const received: http.IncomingHttpHeaders[] = [];
let upstream: http.Server;
let proxy: RunningProxy;
let sampling = SamplingDecision.RECORD_AND_SAMPLED;
const exporter = new InMemorySpanExporter();
/** Set by a middleware in front of the proxy: the context an HTTP instrumentation would make active. */
let outer: Context | undefined;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': 2 }).end('ok'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  proxy = await startProxy(
    {
      buckets: { data: { host: '127.0.0.1', port, tls: false, addressingStyle: 'path', accessKey: 'backend-ak', secretKey: 'backend-sk' } },
      hmacKeystore: [CLIENT],
      authorize: (_token, _bucket, req) => req.operation !== 'DeleteObject',
    },
    { before: [(_req, _res, next) => (outer ? context.with(outer, next) : next())] },
  );
});

afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** A header-signed request through the proxy (no body); `traceparent` is sent unsigned. */
function send(method: string, path: string, traceparent?: string): Promise<number> {
  const host = `127.0.0.1:${proxy.port}`;
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const s = signRequest({ method, canonicalUri: path, canonicalQuery: '', headers, accessKeyId: CLIENT.accessKey, secretKey: CLIENT.secretKey, region: 'us-east-1', now: new Date() });
  const all = { ...headers, 'x-amz-date': s.amzDate, authorization: s.authorization, ...(traceparent ? { traceparent } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method, path, headers: all, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const newTraceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

/** Spans of one trace once the server span has ended (it ends on the response's close). */
async function spansOf(traceId: string): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100; i++) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.some((s) => s.name.includes('/'))) return spans;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no request span');
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

test('without an SDK: no span, no header added; a client traceparent passes through unchanged', async () => {
  received.length = 0;
  expect(await send('GET', '/data/a.txt')).toBe(200);
  expect(received[0]?.traceparent).toBeUndefined();
  const tp = newTraceparent();
  expect(await send('GET', '/data/a.txt', tp)).toBe(200);
  expect(received[1]?.traceparent).toBe(tp);
});

describe('with an SDK registered', () => {
  beforeAll(() => {
    const provider = new NodeTracerProvider({
      sampler: { shouldSample: () => ({ decision: sampling }), toString: () => 'switchable' },
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
  });
  beforeEach(() => {
    sampling = SamplingDecision.RECORD_AND_SAMPLED;
    outer = undefined;
    exporter.reset();
    received.length = 0;
  });

  test('a GET: server span under the client span, stage spans, client span sent upstream', async () => {
    const tp = newTraceparent();
    const [, traceId, parentId] = tp.split('-') as [string, string, string];
    expect(await send('GET', '/data/dir/a.txt', tp)).toBe(200);
    const spans = await spansOf(traceId);
    const server = spans.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.name).toBe('GET /{bucket}/{key}');
    expect(parentOf(server)).toBe(parentId);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/data/dir/a.txt',
      'http.response.status_code': 200,
      'osp.bucket': 'data',
      'osp.operation': 'GetObject',
      'osp.backend.host': '127.0.0.1',
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    const children = spans.filter((s) => parentOf(s) === server.spanContext().spanId);
    expect(children.map((s) => `${s.name}:${s.kind}`).sort()).toEqual([
      `GET:${SpanKind.CLIENT}`,
      `osp.authorize:${SpanKind.INTERNAL}`,
      `osp.resolveBackend:${SpanKind.INTERNAL}`,
      `osp.verifySignature:${SpanKind.INTERNAL}`,
    ]);
    const client = children.find((s) => s.kind === SpanKind.CLIENT) as ReadableSpan;
    expect(received[0]?.traceparent).toBe(`00-${traceId}-${client.spanContext().spanId}-01`);
  });

  test('a refused DELETE: error status with the S3 code on the request and authorize spans, no client span', async () => {
    const tp = newTraceparent();
    expect(await send('DELETE', '/data/a.txt', tp)).toBe(403);
    const spans = await spansOf(tp.split('-')[1] as string);
    const server = spans.find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.status).toEqual({ code: SpanStatusCode.ERROR, message: 'AccessDenied' });
    expect(server.attributes['error.type']).toBe('AccessDenied');
    expect(spans.find((s) => s.name === 'osp.authorize')?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'AccessDenied' });
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT)).toEqual([]);
    expect(received).toEqual([]);
  });

  test('a bad signature: the verifySignature span carries SignatureDoesNotMatch', async () => {
    const tp = newTraceparent();
    const saved = CLIENT.secretKey;
    CLIENT.secretKey = 'wrong-secret';
    try {
      expect(await send('GET', '/data/a.txt', tp)).toBe(403);
    } finally {
      CLIENT.secretKey = saved;
    }
    const spans = await spansOf(tp.split('-')[1] as string);
    expect(spans.find((s) => s.name === 'osp.verifySignature')?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SignatureDoesNotMatch' });
    expect(spans.map((s) => s.name).sort()).toEqual(['GET /{bucket}/{key}', 'osp.verifySignature']);
  });

  test('sampled out: nothing recorded, but the context still goes upstream (sampled flag off)', async () => {
    sampling = SamplingDecision.NOT_RECORD;
    const tp = newTraceparent();
    const traceId = tp.split('-')[1] as string;
    expect(await send('GET', '/data/a.txt', tp)).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const sent = received[0]?.traceparent as string;
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(sent).not.toBe(tp);
  });

  test('under a span of an HTTP instrumentation: an INTERNAL request span, no second SERVER span', async () => {
    const instrumentation = trace.getTracer('instrumentation-http').startSpan('GET', { kind: SpanKind.SERVER });
    outer = trace.setSpan(context.active(), instrumentation);
    expect(await send('GET', '/data/a.txt', newTraceparent())).toBe(200);
    instrumentation.end();
    const spans = await spansOf(instrumentation.spanContext().traceId);
    const request = spans.find((s) => s.name === 'GET /{bucket}/{key}') as ReadableSpan;
    expect(request.kind).toBe(SpanKind.INTERNAL);
    expect(parentOf(request)).toBe(instrumentation.spanContext().spanId);
    expect(spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.instrumentationScope.name)).toEqual(['instrumentation-http']);
  });
});
