/**
 * A local stand-in for IBM Cloud IAM's `POST /identity/token` (API-key grant), for tests.
 *
 * Follows IBM's documented exchange:
 *   request:  POST /identity/token, Content-Type: application/x-www-form-urlencoded,
 *             body grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>
 *   answer:   200 { access_token, refresh_token, token_type: 'Bearer', expires_in, expiration, scope }
 *   errors:   { errorCode, errorMessage, errorDetails?, context: { requestId, requestType, url, ... } }
 *             e.g. 400 BXNIM0109E "Property missing or empty." (missing grant_type/apikey),
 *                  400 BXNIM0415E "Provided API key could not be found." (unknown key).
 *   (The error code used for an unsupported grant_type is not documented where we looked; the
 *   stand-in answers 400 BXNIM0109E-style with a different errorDetails.)
 *
 * Modes: 'ok' | 'error500' | 'slow' (answers after `slowMs`, far beyond client timeouts) |
 * 'down' (accepts then immediately destroys every connection) | 'badjson' (200 with a non-JSON body).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type IamStandInMode = 'ok' | 'error500' | 'slow' | 'down' | 'badjson';

export interface IamStandInOptions {
  /** API keys IAM knows; any other key gets 400 BXNIM0415E. Default `['test-api-key']`. */
  apiKeys?: string[];
  /** `expires_in` of issued tokens in seconds, default 3600. */
  expiresIn?: number;
  /** Delay of the 'slow' mode, default 60 000 ms. */
  slowMs?: number;
  mode?: IamStandInMode;
}

export interface IamStandInRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Form fields as received (the apikey included: this is test-only data). */
  form: Record<string, string>;
}

export interface IamStandIn {
  url: string;
  /** Number of token requests received (every mode, including failed and dropped ones). */
  requests(): number;
  setMode(m: IamStandInMode): void;
  setExpiresIn(sec: number): void;
  /** All tokens issued so far, oldest first. */
  issuedTokens(): string[];
  /** The most recently issued token. */
  currentToken(): string | undefined;
  /** Tokens issued for a given API key, oldest first. */
  tokensFor(apiKey: string): string[];
  /** The last request that reached the handler ('down' requests never do). */
  lastRequest(): IamStandInRequest | undefined;
  close(): Promise<void>;
}

const GRANT_TYPE = 'urn:ibm:params:oauth:grant-type:apikey';

export async function startIamStandIn(opts: IamStandInOptions = {}): Promise<IamStandIn> {
  const knownKeys = new Set(opts.apiKeys ?? ['test-api-key']);
  let expiresIn = opts.expiresIn ?? 3600;
  const slowMs = opts.slowMs ?? 60_000;
  let mode: IamStandInMode = opts.mode ?? 'ok';
  let requestCount = 0;
  const issued: { token: string; apiKey: string }[] = [];
  let last: IamStandInRequest | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/identity/token') {
        return sendJson(res, 404, ibmError('BXNIM0060E', 'Not found.', `No resource at ${path}`, req));
      }
      requestCount++;
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      last = { method: req.method ?? '', path, headers: req.headers, form };

      if (mode === 'slow') {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) answer(req, res, form);
        }, slowMs);
        timers.add(t);
        res.on('close', () => {
          clearTimeout(t);
          timers.delete(t);
        });
        return;
      }
      answer(req, res, form);
    });
  });

  server.on('connection', (socket: Socket) => {
    if (mode === 'down') {
      // Count the attempt, then drop the connection: the client sees ECONNRESET / socket hang up.
      requestCount++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function answer(req: http.IncomingMessage, res: http.ServerResponse, form: Record<string, string>): void {
    if (mode === 'error500') {
      return sendJson(res, 500, ibmError('BXNIM0999E', 'Internal server error.', 'Stand-in error500 mode', req));
    }
    if (req.method !== 'POST') {
      return sendJson(res, 405, ibmError('BXNIM0060E', "Web application exception 'javax.ws.rs.ClientErrorException' during request processing.", 'HTTP 405 Method Not Allowed', req));
    }
    const ct = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (ct !== 'application/x-www-form-urlencoded') {
      return sendJson(res, 400, ibmError('BXNIM0109E', 'Property missing or empty.', "Property 'grant_type' either missing or empty.", req));
    }
    if (!form.grant_type) {
      return sendJson(res, 400, ibmError('BXNIM0109E', 'Property missing or empty.', "Property 'grant_type' either missing or empty.", req));
    }
    if (form.grant_type !== GRANT_TYPE) {
      return sendJson(res, 400, ibmError('BXNIM0109E', 'Property missing or empty.', "Property 'grant_type' has an unsupported value.", req));
    }
    if (!form.apikey) {
      return sendJson(res, 400, ibmError('BXNIM0109E', 'Property missing or empty.', "Property 'apikey' either missing or empty.", req));
    }
    if (!knownKeys.has(form.apikey)) {
      return sendJson(res, 400, ibmError('BXNIM0415E', 'Provided API key could not be found.', undefined, req));
    }
    if (mode === 'badjson') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"access_token": "truncated');
      return;
    }
    const token = fakeJwt(issued.length + 1);
    issued.push({ token, apiKey: form.apikey });
    const nowSec = Math.floor(Date.now() / 1000);
    sendJson(res, 200, {
      access_token: token,
      refresh_token: 'not_supported',
      ims_user_id: 1234567,
      token_type: 'Bearer',
      expires_in: expiresIn,
      expiration: nowSec + expiresIn,
      scope: 'ibm openid',
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requestCount,
    setMode: (m) => {
      mode = m;
    },
    setExpiresIn: (sec) => {
      expiresIn = sec;
    },
    issuedTokens: () => issued.map((i) => i.token),
    currentToken: () => issued[issued.length - 1]?.token,
    tokensFor: (apiKey) => issued.filter((i) => i.apiKey === apiKey).map((i) => i.token),
    lastRequest: () => last,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function ibmError(errorCode: string, errorMessage: string, errorDetails: string | undefined, req: http.IncomingMessage) {
  const start = new Date();
  return {
    errorCode,
    errorMessage,
    ...(errorDetails ? { errorDetails } : {}),
    context: {
      requestId: randomUUID().replace(/-/g, ''),
      requestType: 'incoming.Identity_Token',
      userAgent: String(req.headers['user-agent'] ?? ''),
      url: 'https://iam.cloud.ibm.com',
      instanceId: 'iam-stand-in',
      threadId: '1',
      host: 'iam-stand-in',
      startTime: start.toUTCString(),
      endTime: new Date().toUTCString(),
      elapsedTime: '0',
      locale: 'en_US',
      clusterName: 'iam-stand-in-local',
    },
  };
}

/** An opaque JWT-shaped token: header.payload.signature, unique per issue. */
function fakeJwt(serial: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ kid: 'stand-in', alg: 'RS256' })}.${b64({ serial, iat: Math.floor(Date.now() / 1000) })}.${randomBytes(16).toString('base64url')}`;
}
