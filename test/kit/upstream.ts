/**
 * The kit's upstream: an in-process HTTP server on 127.0.0.1:0 that stands where a backend stands
 * in a unit test. It records every request the proxy sends (method, raw path, decoded query,
 * headers, body bytes), re-checks the proxy's SigV4 signature with an independent signer
 * (@smithy/signature-v4, not the proxy's own code) and the body against `x-amz-content-sha256`,
 * and answers with the canned response the test queued. It is not a backend: it stores nothing
 * and knows no S3 semantics (e2e tests keep real RGW, Swift and moto).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../helpers/independent-signer';

/** The backend keys the kit upstream accepts (its buckets' `accessKey`/`secretKey`). */
export const UPSTREAM_KEYS = { accessKey: 'UPSTREAM-AK', secretKey: 'UPSTREAM-SK' } as const;

/** How the proxy authenticated its request to the upstream, as re-checked by the kit. */
export type UpstreamAuth =
  /** SigV4 with a known key; `valid` says whether the independent signer computed the same signature. */
  | { kind: 'sigv4'; accessKeyId: string; region: string; signedHeaders: string[]; valid: boolean }
  | { kind: 'bearer'; token: string }
  /** No Authorization header at all (anonymous requests, CORS preflights). */
  | { kind: 'none' }
  /** An Authorization header the kit cannot parse, or an unknown key. */
  | { kind: 'invalid'; reason: string };

/** One request as it reached the upstream. */
export interface UpstreamRequest {
  method: string;
  /** The request target's path, still percent-encoded, as sent. */
  path: string;
  /** The raw query string (without `?`), as sent. */
  rawQuery: string;
  /** Decoded query parameters (a name without `=` has the value `''`). */
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  auth: UpstreamAuth;
  /**
   * Whether the body matches `x-amz-content-sha256` when that is a hex digest (a backend checks
   * it); `undefined` for UNSIGNED-PAYLOAD, STREAMING-* or no header.
   */
  payloadValid: boolean | undefined;
}

/**
 * What the upstream answers. `destroy`: the socket is destroyed without an answer (a dead backend);
 * `hang`: no answer at all until the upstream closes (a stuck backend, for timeouts).
 */
export type CannedResponse = { status?: number; headers?: Record<string, string>; body?: string | Buffer } | 'destroy' | 'hang';

export interface KitUpstreamOptions {
  /** Backend keys accepted (access key → secret). @default {@link UPSTREAM_KEYS} */
  keys?: Record<string, string>;
  /** Answer used when nothing is queued. @default 200 with an empty body */
  fallback?: CannedResponse | ((r: UpstreamRequest) => CannedResponse);
}

export interface KitUpstream {
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: UpstreamRequest[];
  /** The last request received (throws when there was none). */
  last(): UpstreamRequest;
  /** Queues answers, one per coming request (FIFO); functions see the request. */
  reply(...answers: (CannedResponse | ((r: UpstreamRequest) => CannedResponse))[]): void;
  clear(): void;
  close(): Promise<void>;
}

function splitQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    // S3 query values: `+` is a literal plus, not a space.
    const name = decodeURIComponent(eq === -1 ? part : part.slice(0, eq));
    out[name] = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1));
  }
  return out;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Re-signs the request as received with @smithy/signature-v4 and compares. */
async function checkAuth(req: http.IncomingMessage, path: string, query: Record<string, string>, keys: Record<string, string>): Promise<UpstreamAuth> {
  const authorization = req.headers.authorization;
  if (authorization === undefined) return { kind: 'none' };
  if (authorization.startsWith('Bearer ')) return { kind: 'bearer', token: authorization.slice(7) };
  const m = AUTH.exec(authorization);
  if (!m) return { kind: 'invalid', reason: `unparseable Authorization: ${authorization.slice(0, 40)}` };
  const [, accessKeyId, , region, signedList, signature] = m as unknown as [string, string, string, string, string, string];
  const secret = keys[accessKeyId];
  if (secret === undefined) return { kind: 'invalid', reason: `unknown access key ${accessKeyId}` };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return { kind: 'invalid', reason: 'missing or bad x-amz-date' };
  const signingDate = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  const signedHeaders = signedList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const v = req.headers[name];
    headers[name] = Array.isArray(v) ? v.join(',') : (v ?? '');
  }
  const sessionToken = req.headers['x-amz-security-token'] as string | undefined;
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey: secret, sessionToken }, region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: String(req.headers.host ?? '').split(':')[0]!, path, query, headers },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  return { kind: 'sigv4', accessKeyId, region, signedHeaders, valid: expected === signature };
}

/** Starts a kit upstream on 127.0.0.1:0. Close it in `afterAll`/`afterEach`. */
export async function startKitUpstream(options: KitUpstreamOptions = {}): Promise<KitUpstream> {
  const keys = options.keys ?? { [UPSTREAM_KEYS.accessKey]: UPSTREAM_KEYS.secretKey };
  const queue: (CannedResponse | ((r: UpstreamRequest) => CannedResponse))[] = [];
  const requests: UpstreamRequest[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      void (async () => {
        const target = req.url ?? '/';
        const q = target.indexOf('?');
        const path = q === -1 ? target : target.slice(0, q);
        const rawQuery = q === -1 ? '' : target.slice(q + 1);
        const query = splitQuery(rawQuery);
        const body = Buffer.concat(parts);
        const declared = req.headers['x-amz-content-sha256'];
        const record: UpstreamRequest = {
          method: req.method ?? '',
          path,
          rawQuery,
          query,
          headers: req.headers,
          body,
          auth: await checkAuth(req, path, query, keys).catch((err: Error) => ({ kind: 'invalid', reason: err.message }) as const),
          payloadValid: typeof declared === 'string' && /^[0-9a-f]{64}$/.test(declared) ? createHash('sha256').update(body).digest('hex') === declared : undefined,
        };
        requests.push(record);
        const next = queue.shift() ?? options.fallback ?? {};
        const answer = typeof next === 'function' ? next(record) : next;
        if (answer === 'destroy') return void req.socket.destroy();
        if (answer === 'hang') return;
        res.writeHead(answer.status ?? 200, answer.headers ?? {});
        res.end(answer.body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    last() {
      const r = requests[requests.length - 1];
      if (!r) throw new Error('the kit upstream received no request');
      return r;
    },
    reply: (...answers) => void queue.push(...answers),
    clear() {
      requests.length = 0;
      queue.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Canned S3-shaped bodies. */
export const s3Xml = {
  error: (code: string, message = code): string => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  listBuckets: (owner: string, buckets: { name: string; date: string }[]): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult><Owner><ID>${owner}</ID><DisplayName>${owner}</DisplayName></Owner><Buckets>${buckets
      .map((b) => `<Bucket><Name>${b.name}</Name><CreationDate>${b.date}</CreationDate></Bucket>`)
      .join('')}</Buckets></ListAllMyBucketsResult>`,
  copyObjectResult: (etag: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><ETag>${etag}</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>`,
  deleteResult: (keys: string[]): string => `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>${keys.map((k) => `<Deleted><Key>${k}</Key></Deleted>`).join('')}</DeleteResult>`,
};
