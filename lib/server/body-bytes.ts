/**
 * Counting the body bytes of a request and of its response, for the access log (`bytesIn`,
 * `bytesOut`) and the metrics (`osp_transfer_bytes_total`, `osp_response_size_bytes`).
 *
 * The count is what passes through the request's `push` (how Node's HTTP parser hands body bytes
 * to the stream: after de-chunking, so a chunked body counts its payload, not its framing) and the
 * response's `write`/`end`. Socket byte counters cannot give that: they include headers and chunk
 * framing, and a keep-alive socket carries several requests, pipelined ones interleaved.
 *
 * Two ways to count the same thing:
 * - {@link countBodyBytesOfApp}: once per Express app, a layer in the prototype chain Express gives
 *   every `req`/`res` (`app.request`/`app.response`). Nothing per request: no closures, no patched
 *   instances (issue [11]: wrapping three methods of every request cost measurable CPU and GC).
 * - {@link countBodyBytes}: per request, on the instances. It does nothing on a request the app
 *   layer already counts.
 * {@link countBodyBytesOfRequest} picks between them for hosts whose app we do not build
 * (`ospMetrics` of middleware users): the app layer on the request's own Express app when it can.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const RX = Symbol('osp.bodyBytes.rx');
const TX = Symbol('osp.bodyBytes.tx');
/** Present (inherited) on requests/responses whose prototype counts. */
const COUNTED_BY_PROTOTYPE = Symbol('osp.bodyBytes.prototype');
type Counted = { [RX]?: number; [TX]?: number; [COUNTED_BY_PROTOTYPE]?: true };

/** Bytes of the request body read so far. */
export function requestBytesRead(req: IncomingMessage): number {
  return (req as IncomingMessage & Counted)[RX] ?? 0;
}

/** Bytes of the response body written so far. */
export function responseBytesWritten(res: ServerResponse): number {
  return (res as ServerResponse & Counted)[TX] ?? 0;
}

function chunkLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

type Push = (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) => boolean;
// Fixed arity (no rest parameters: no array per call); an absent argument and `undefined` mean the same to Node.
type Write = (this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
type End = (this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) => ServerResponse;

/**
 * Makes every request and response of `app` count its body bytes, by putting one layer with
 * counting `push` (request) and `write`/`end` (response) under `app.request`/`app.response`.
 * Express sets those as the prototypes of each `req`/`res` before any middleware runs, and before
 * Node's parser pushes the first body byte (that happens after the 'request' event returns).
 * Call once per app.
 */
export function countBodyBytesOfApp(app: { request: object; response: object }): void {
  const reqProto = Object.getPrototypeOf(app.request) as { push: Push };
  const resProto = Object.getPrototypeOf(app.response) as { write: Write; end: End };
  const push = reqProto.push;
  const write = resProto.write;
  const end = resProto.end;
  const requestLayer = Object.create(reqProto, {
    [COUNTED_BY_PROTOTYPE]: { value: true },
    push: {
      value: function countedPush(this: IncomingMessage & Counted, chunk: unknown, encoding?: BufferEncoding): boolean {
        this[RX] = (this[RX] ?? 0) + chunkLength(chunk, encoding);
        return push.call(this, chunk, encoding);
      },
      writable: true,
      configurable: true,
    },
  }) as object;
  const responseLayer = Object.create(resProto, {
    [COUNTED_BY_PROTOTYPE]: { value: true },
    write: {
      value: function countedWrite(this: ServerResponse & Counted, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
        this[TX] = (this[TX] ?? 0) + chunkLength(chunk, encoding);
        return write.call(this, chunk, encoding, callback);
      },
      writable: true,
      configurable: true,
    },
    end: {
      value: function countedEnd(this: ServerResponse & Counted, chunk?: unknown, encoding?: unknown, callback?: unknown): ServerResponse {
        this[TX] = (this[TX] ?? 0) + chunkLength(chunk, encoding);
        return end.call(this, chunk, encoding, callback);
      },
      writable: true,
      configurable: true,
    },
  }) as object;
  Object.setPrototypeOf(app.request, requestLayer);
  Object.setPrototypeOf(app.response, responseLayer);
}

/**
 * Makes `req`/`res` count their body bytes, at the cheapest place available: when they carry the
 * prototypes of an Express app (`req.app.request`/`req.app.response`, as Express sets them before
 * the first middleware), that app gets the prototype layer of {@link countBodyBytesOfApp}, which
 * counts this request and every later one (they then arrive counted and return at once);
 * otherwise (no Express app, or prototypes swapped by something else) the instances are wrapped
 * ({@link countBodyBytes}). For middleware users' apps (`ospMetrics`), where we do not build the
 * app (issue [12]: the per-request wrappers cost CPU on every request).
 */
export function countBodyBytesOfRequest(req: IncomingMessage, res: ServerResponse): void {
  if ((req as IncomingMessage & Counted)[COUNTED_BY_PROTOTYPE]) return;
  const app = (req as IncomingMessage & { app?: { request: object; response: object } }).app;
  if (app && Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response) return countBodyBytesOfApp(app);
  countBodyBytes(req, res);
}

/**
 * Makes `req`/`res` count their body bytes without changing stream semantics, by wrapping the
 * request's `push` and the response's `write`/`end` on the instances. Attaching a 'data' listener
 * instead would switch the request into flowing mode and lose bytes before the proxy pipes it.
 * Idempotent, and a no-op where {@link countBodyBytesOfApp} already counts.
 */
export function countBodyBytes(req: IncomingMessage, res: ServerResponse): void {
  const r = req as IncomingMessage & Counted;
  const s = res as ServerResponse & Counted;
  if (r[COUNTED_BY_PROTOTYPE] || r[RX] !== undefined) return;
  r[RX] = 0;
  s[TX] = 0;
  const push = req.push as Push;
  req.push = function countedPush(this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
    r[RX] = (r[RX] ?? 0) + chunkLength(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  const write = res.write as Write;
  res.write = function countedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    s[TX] = (s[TX] ?? 0) + chunkLength(chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  } as ServerResponse['write'];
  const end = res.end as End;
  res.end = function countedEnd(this: ServerResponse, chunk?: unknown, ...rest: unknown[]): ServerResponse {
    s[TX] = (s[TX] ?? 0) + chunkLength(chunk, rest[0]);
    return end.call(this, chunk, ...rest);
  } as ServerResponse['end'];
}
