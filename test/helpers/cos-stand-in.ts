/**
 * A local stand-in for IBM Cloud Object Storage's authentication in front of a real S3 server
 * (moto), for tests: objects really round-trip, but only requests with a bearer token the IAM
 * stand-in issued — and that has not expired — get through.
 *
 * What COS answers for a bad/expired bearer token: `403` with an S3 XML error whose code is
 * `AccessDenied`, message "Access Denied" — the same as for a genuine permission problem. Sources:
 * the COS error table (AccessDenied 403 is its authentication/authorization failure; no
 * token-specific code exists), https://github.com/ibm-cloud-docs/cloud-object-storage/blob/master/common-headers-errors.md;
 * IBM/ibm-cos-sdk-js#7 and #8 (`AccessDenied: Access Denied` once tokens were not refreshed);
 * CODAIT/stocator#259 (403 Forbidden after the first token expired). COS error bodies also carry
 * `<httpStatusCode>`; requests without any Authorization get the same 403.
 *
 * Stand-in strictness (so tests can fail), not verified against COS:
 * - aws-chunked bodies (`x-amz-content-sha256: STREAMING-*` or `Content-Encoding: aws-chunked`)
 *   are refused with 400 InvalidRequest: bearer requests carry no chunk signatures, the proxy must
 *   send plain bodies (the 'ibm-cos' profile);
 * - with `instanceId` set, CreateBucket without a matching `ibm-service-instance-id` header gets
 *   400 InvalidArgument (COS: the header is "required for requests to create or list buckets",
 *   same source; the exact error COS gives is not documented).
 *
 * Forwarding: the Bearer header is replaced by a dummy SigV4 header of the moto user the tests'
 * direct clients use (moto checks no signatures, but derives the account from the access key).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { IamStandIn } from './iam-stand-in';

export interface CosStandInOptions {
  iam: IamStandIn;
  /** The real S3 server behind, e.g. moto's `http://127.0.0.1:PORT`. */
  backendEndpoint: string;
  /** Access key of the moto account objects are stored in. */
  backendAccessKey: string;
  /** Require this `ibm-service-instance-id` on CreateBucket. */
  instanceId?: string;
  /**
   * Reject tokens older than this (from the token's `iat`, whole seconds, plus one second of
   * slack for the rounding). Default: no lifetime check, only explicit expiry.
   */
  tokenLifetimeSeconds?: number;
}

export interface CosStandInRequest {
  method: string;
  path: string;
  /** Request headers without Authorization. */
  headers: http.IncomingHttpHeaders;
  /** Whether the token was accepted. */
  accepted: boolean;
}

export interface CosStandIn {
  url: string;
  port: number;
  /** Every request received, oldest first. */
  requests(): CosStandInRequest[];
  /** Requests refused for their token. */
  rejectedForToken(): number;
  /** Marks every token issued so far as expired (IAM keeps issuing new, valid ones). */
  expireIssuedTokens(): void;
  close(): Promise<void>;
}

export async function startCosStandIn(opts: CosStandInOptions): Promise<CosStandIn> {
  const backend = new URL(opts.backendEndpoint);
  const expired = new Set<string>();
  const log: CosStandInRequest[] = [];
  let rejected = 0;
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });

  function tokenState(auth: string | undefined): 'ok' | 'bad' {
    const m = /^Bearer (\S+)$/.exec(auth ?? '');
    if (!m) return 'bad';
    const token = m[1];
    if (!opts.iam.issuedTokens().includes(token) || expired.has(token)) return 'bad';
    if (opts.tokenLifetimeSeconds !== undefined) {
      const iat = (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { iat: number }).iat;
      if (Date.now() > (iat + opts.tokenLifetimeSeconds + 1) * 1000) return 'bad';
    }
    return 'ok';
  }

  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const { authorization, ...rest } = req.headers;
    const entry: CosStandInRequest = { method: req.method ?? '', path, headers: rest, accepted: false };
    log.push(entry);
    const resource = path.split('?')[0];
    if (tokenState(authorization) !== 'ok') {
      rejected++;
      return s3Error(req, res, 403, 'AccessDenied', 'Access Denied', resource);
    }
    entry.accepted = true;
    const sha = String(req.headers['x-amz-content-sha256'] ?? '');
    if (sha.startsWith('STREAMING-') || /aws-chunked/i.test(String(req.headers['content-encoding'] ?? ''))) {
      return s3Error(req, res, 400, 'InvalidRequest', 'aws-chunked uploads are not accepted with bearer tokens.', resource);
    }
    const segments = resource.split('/').filter(Boolean);
    const isCreateBucket = req.method === 'PUT' && segments.length === 1 && !path.includes('?');
    if (opts.instanceId && isCreateBucket && req.headers['ibm-service-instance-id'] !== opts.instanceId) {
      return s3Error(req, res, 400, 'InvalidArgument', 'Missing or invalid ibm-service-instance-id.', resource);
    }
    const headers: http.OutgoingHttpHeaders = { ...rest, host: backend.host };
    delete headers.connection;
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${opts.backendAccessKey}/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
    const upstream = http.request({ hostname: backend.hostname, port: backend.port, method: req.method, path, headers, agent }, (answer) => {
      const out = { ...answer.headers };
      delete out.connection;
      delete out['keep-alive'];
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) s3Error(req, res, 502, 'InternalError', 'backend unreachable', resource);
      else res.destroy();
    });
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => log.slice(),
    rejectedForToken: () => rejected,
    expireIssuedTokens: () => {
      for (const t of opts.iam.issuedTokens()) expired.add(t);
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function s3Error(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, resource: string): void {
  req.resume();
  const id = randomUUID();
  const body =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<Resource>${resource}</Resource><RequestId>${id}</RequestId><httpStatusCode>${status}</httpStatusCode></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-clv-request-id': id });
  res.end(req.method === 'HEAD' ? undefined : body);
}
