/**
 * A recording relay between the proxy and a real backend: every request the proxy sends is
 * recorded (method, raw path, headers, body digest) and passed on byte for byte, Host included,
 * so the backend still verifies the proxy's signature (and answers an `Expect: 100-continue`
 * itself). Tests assert on what reached the backend ("nothing", or "exactly this") instead of
 * assuming it.
 */
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface RelayedRequest {
  method: string;
  /** Request target exactly as received (path and query, still encoded). */
  url: string;
  /** Lowercase name → value (repeated headers joined with `, `). */
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
  /** Whether the body arrived complete (the proxy may abort a forged upload mid-way). */
  complete: boolean;
  /** Backend status, or 0 if the exchange failed. */
  status: number;
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  readonly requests: RelayedRequest[];
  clear(): void;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  const requests: RelayedRequest[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const record: RelayedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, bodySha256: '', complete: false, status: 0 };
    requests.push(record);
    const hash = createHash('sha256');
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: headers as unknown as http.OutgoingHttpHeaders, agent, setHost: false }, (up) => {
      record.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.rawHeaders as unknown as http.OutgoingHttpHeaders);
      up.pipe(res);
    });
    // An `Expect: 100-continue` passed on is the backend's to answer: its 100 is relayed.
    upstream.on('continue', () => res.writeContinue());
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      record.complete = true;
      record.bodySha256 = hash.digest('hex');
    });
    req.on('aborted', () => upstream.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  });
  // Node would answer 100 itself: the backend answers it (or refuses before the body) instead.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    requests,
    clear: () => void requests.splice(0),
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `<Code>` of an S3 XML error body, if any. */
  code?: string;
}

function answerOf(status: number, headers: http.IncomingHttpHeaders, body: string): RawAnswer {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  return { status, headers, body, ...(code !== undefined ? { code } : {}) };
}

/**
 * Sends one request with a request target exactly as given (`target` is path plus `?query`, not
 * re-encoded) on a fresh connection.
 */
export function sendRaw(port: number, init: { method: string; target: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: init.method, path: init.target, headers: init.headers, agent: false, setHost: init.headers?.host === undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(answerOf(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Writes raw bytes on a TCP connection (for requests the http module refuses to send: smuggling,
 * bare LF, absolute-form targets) and returns the parsed answer, or status 0 when the server
 * closed the connection without one.
 */
export function sendBytes(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const split = text.indexOf('\r\n\r\n');
      resolve(answerOf(status, {}, split === -1 ? '' : text.slice(split + 4)));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is enough: stop once a complete XML error (or any body end) is in.
      if (Buffer.concat(chunks).toString('latin1').includes('</Error>')) done();
    });
    socket.on('end', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

/** The port of a started server. */
export function portOf(server: http.Server | net.Server): number {
  return (server.address() as AddressInfo).port;
}
