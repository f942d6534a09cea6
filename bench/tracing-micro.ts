/**
 * In-process cost of the tracing hooks per request (issue [13] part 3), without sockets: the
 * request span, four traced stages (no-op stage bodies), the upstream span with `traceparent`
 * injection and the span end on `close`. First with no SDK (the middleware's default), then with
 * an SDK registered (batching, spans dropped by the exporter: the cost of making them, not of
 * sending them), and with the request sampled out. Run: node -r ./bench/register.js bench/tracing-micro.ts
 */
import http, { ClientRequest } from 'node:http';
import { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import type { Request, RequestHandler, Response } from 'express';
import { BatchSpanProcessor, NodeTracerProvider, SamplingDecision, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { traceChain, traceRequest, traceUpstream } from '../lib/tracing/request-tracing';

const N = Number(process.env.BENCH_N ?? 200_000);
const noop: RequestHandler = (_req, _res, next) => next();
const stages = { verifySignature: noop, authorize: noop.bind(null), limitPresignedUrlUsage: noop.bind(null), resolveBackend: noop.bind(null), s3Proxy: noop.bind(null) };
const chain = traceChain(stages, Object.values(stages));
const headers = { host: '127.0.0.1:8080', 'user-agent': 'bench', 'x-amz-date': '20261130T000000Z', authorization: 'AWS4-HMAC-SHA256 Credential=x' };
const socket = new Socket();
const backend = { protocol: 'http:', hostname: '127.0.0.1', port: 9000, hostHeader: '127.0.0.1:9000', path: '/bench/k', query: '' };

/** One request through mock objects; `traced`: with the tracing hooks (the mock work is the same either way). */
function oneRequest(traced: boolean): void {
  const req = new http.IncomingMessage(socket) as unknown as Request;
  Object.assign(req, { method: 'GET', url: '/bench/k', originalUrl: '/bench/k', headers, baseUrl: '' });
  const res = new EventEmitter() as unknown as Response;
  Object.assign(res, { statusCode: 200, headersSent: true, writableFinished: true });
  if (traced) traceRequest(req, res);
  const list = traced ? chain : plain;
  let i = 0;
  const step = (): void => {
    const stage = list[i++];
    if (stage) stage(req, res, step);
  };
  step();
  (req as unknown as { osp: unknown }).osp = { requestId: 'R', bucket: 'bench', key: 'k', style: 'path', operation: 'GetObject', backend };
  const upstream = new EventEmitter() as unknown as ClientRequest;
  (upstream as unknown as { setHeader: () => void }).setHeader = () => {};
  if (traced) traceUpstream(upstream, req);
  upstream.emit('response', Object.assign(new EventEmitter(), { statusCode: 200 }));
  upstream.emit('close');
  res.emit('close');
}

function measure(label: string, traced: boolean): void {
  for (let i = 0; i < N / 10; i++) oneRequest(traced); // warm-up
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) oneRequest(traced);
  const d = process.cpuUsage(cpu);
  console.log(`${label}: ${(((d.user + d.system) / N) * 1000).toFixed(0)} ns CPU/request (${N} requests)`);
}

const plain = Object.values(stages);
for (let round = 1; round <= 2; round++) {
  measure(`round ${round}: mock request without the hooks`, false);
  measure(`round ${round}: with the hooks, no SDK (default)`, true);
}
const dropAll: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
let decision = SamplingDecision.RECORD_AND_SAMPLED;
new NodeTracerProvider({ sampler: { shouldSample: () => ({ decision }), toString: () => 'switchable' }, spanProcessors: [new BatchSpanProcessor(dropAll)] }).register();
measure('with the hooks, SDK on (6 spans/request made, batched, dropped)', true);
decision = SamplingDecision.NOT_RECORD;
measure('with the hooks, SDK on, request not sampled', true);
process.exit(0);
