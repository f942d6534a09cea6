/**
 * HTTP/2 for an Express app. Express 5 swaps the prototypes of req/res for http.IncomingMessage /
 * http.ServerResponse ones, which breaks Http2ServerRequest/Response; rather than emulate those
 * classes, the HTTPS listener terminates TLS + HTTP/2 and forwards each h2 stream, as HTTP/1.1, to
 * a private HTTP/1.1 server that runs the same app on a unix socket (in a 0700 temp directory, one
 * per process). The bridge:
 * - sends `:authority` as `Host` (what the client's SigV4 signer signed) and `:path` unchanged
 *   (raw, still percent-encoded), so signatures verify exactly as over HTTP/1.1;
 * - keeps `Expect: 100-continue` semantics: the body is only forwarded after the app answered 100
 *   (i.e. after authentication), and the 100 is relayed to the h2 client;
 * - streams bodies both ways with backpressure (pipe), and resets the stream when the app cuts a
 *   response short, so a truncated body never looks complete.
 * HTTP/1.1 requests on the HTTPS port (ALPN http/1.1, `allowHTTP1`) go to the app directly.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BRIDGED_REMOTE, VIA_H2, VIA_TLS } from './create-app';

/** Internal header carrying the h2 client's address over the private socket; removed on arrival. */
const REMOTE_HEADER = 'x-osp-bridge-remote';
/**
 * Internal header carrying the h2 pseudo-headers (JSON, URI-encoded). HTTP/1.1 cannot carry
 * `:authority`, but SigV4 signers may sign it (aws-sdk-js v3 over h2 lists `:authority` in
 * SignedHeaders), so they are put back into `req.rawHeaders` — where signature verification reads
 * them — and not into `req.headers`, which are forwarded to the backend.
 */
const PSEUDO_HEADER = 'x-osp-bridge-pseudo';

const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te', 'host', REMOTE_HEADER, PSEUDO_HEADER]);

export type AppHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface H2Bridge {
  /** The private HTTP/1.1 server (on `socketPath`) that runs the app for bridged streams. */
  readonly internal: http.Server;
  readonly socketPath: string;
  /** Handler for the HTTPS server's 'request' and 'checkContinue' events (h2 and HTTP/1.1). */
  handle(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void;
  listen(): Promise<void>;
  /** Closes the private server once its connections are done (call after the HTTPS server closed). */
  close(): Promise<void>;
  closeAllConnections(): void;
}

function isH2(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

export function createH2Bridge(app: AppHandler, configure: (server: http.Server) => void = () => {}): H2Bridge {
  const dir = mkdtempSync(join(tmpdir(), 'osp-h2-'));
  const socketPath = join(dir, 'bridge.sock');
  const onInternal = (req: IncomingMessage, res: ServerResponse) => {
    const marked = req as IncomingMessage & { [VIA_TLS]?: boolean; [BRIDGED_REMOTE]?: string; [VIA_H2]?: boolean };
    marked[VIA_TLS] = true;
    marked[VIA_H2] = true;
    const remote = req.headers[REMOTE_HEADER];
    if (typeof remote === 'string') marked[BRIDGED_REMOTE] = remote;
    const pseudoRaw = req.headers[PSEUDO_HEADER];
    delete req.headers[REMOTE_HEADER];
    delete req.headers[PSEUDO_HEADER];
    const raw: string[] = [];
    if (typeof pseudoRaw === 'string') {
      try {
        for (const [name, value] of Object.entries(JSON.parse(decodeURIComponent(pseudoRaw)) as Record<string, string>)) {
          if (name.startsWith(':') && typeof value === 'string') raw.push(name, value);
        }
      } catch {
        // only the bridge writes this header; ignore anything malformed
      }
    }
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]?.toLowerCase();
      if (name !== REMOTE_HEADER && name !== PSEUDO_HEADER) raw.push(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    }
    req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
    app(req, res);
  };
  const internal = http.createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, onInternal);
  internal.on('checkContinue', onInternal);
  configure(internal);
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });

  const forward = (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
      headers[name] = value;
    }
    const authority = req.headers[':authority'] ?? req.headers.host;
    if (authority) headers.host = authority;
    const remote = req.socket?.remoteAddress;
    if (remote) headers[REMOTE_HEADER] = remote;
    const pseudo: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (name.startsWith(':') && typeof value === 'string') pseudo[name] = value;
    headers[PSEUDO_HEADER] = encodeURIComponent(JSON.stringify(pseudo));
    const expectsContinue = typeof headers.expect === 'string' && headers.expect.toLowerCase() === '100-continue';

    const upstream = http.request({ socketPath, agent, method: req.method, path: req.headers[':path'] ?? req.url, headers, setHost: false });
    let bodyStarted = false;
    const startBody = () => {
      if (bodyStarted) return;
      bodyStarted = true;
      req.pipe(upstream);
    };
    upstream.on('continue', () => {
      res.writeContinue();
      startBody();
    });
    upstream.on('response', (ur: IncomingMessage) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(ur.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      }
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res as unknown as NodeJS.WritableStream);
      ur.on('aborted', () => res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      ur.on('error', () => res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      ur.on('close', () => {
        if (!ur.complete) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      // The app answered without reading the body (e.g. an auth error on a 100-continue upload):
      // there is nothing to forward any more.
      if (!bodyStarted) {
        bodyStarted = true;
        req.resume();
        upstream.end();
      }
    });
    upstream.on('error', () => {
      if (!res.headersSent) {
        const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>';
        res.writeHead(500, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      } else {
        res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (!expectsContinue) startBody();
    else upstream.flushHeaders();
  };

  return {
    internal,
    socketPath,
    handle(req, res) {
      if (isH2(req)) forward(req, res as Http2ServerResponse);
      else app(req as IncomingMessage, res as ServerResponse);
    },
    listen: () =>
      new Promise<void>((resolve, reject) => {
        internal.once('error', reject);
        // exclusive: in a cluster worker the private socket must not be shared through the primary.
        internal.listen({ path: socketPath, exclusive: true }, () => {
          internal.off('error', reject);
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        internal.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        internal.closeIdleConnections();
      }),
    closeAllConnections: () => internal.closeAllConnections(),
  };
}
