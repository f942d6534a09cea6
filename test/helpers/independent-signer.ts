/**
 * SigV4 signatures made by @smithy/signature-v4 (an independent signer, not the proxy's own) for
 * requests the tests craft by hand: hostile encodings, extra headers, presigned URLs.
 */
import { createHash, createHmac, type Hash as NodeHash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** SHA-256 for @smithy/signature-v4, on node:crypto. */
export class Sha256 {
  private readonly h: NodeHash | Hmac;
  constructor(secret?: unknown) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as Uint8Array);
  }
  update(data: unknown): void {
    this.h.update(data as Uint8Array);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export interface SignInput {
  method: string;
  /** `127.0.0.1:PORT` (what the client puts in Host). */
  host: string;
  /** Canonical path as the signer should see it, e.g. `/bucket/key`. */
  path: string;
  /** Decoded query parameters. */
  query?: Record<string, string>;
  /** Headers to sign (lowercase names); `host` is added. */
  headers?: Record<string, string>;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** Signing time (default now). */
  signingDate?: Date;
}

function signer(input: SignInput): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    region: input.region ?? 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
}

function request(input: SignInput) {
  const [hostname, port] = input.host.split(':');
  return {
    method: input.method,
    protocol: 'http:',
    hostname: hostname!,
    port: Number(port),
    path: input.path,
    query: input.query ?? {},
    headers: { host: input.host, ...(input.headers ?? {}) },
  };
}

/** Header-signed: returns every header to send (the given ones, host, x-amz-date, authorization). */
export async function signHeaders(input: SignInput): Promise<Record<string, string>> {
  const headers = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...(input.headers ?? {}) };
  const signed = await signer({ ...input, headers }).sign(request({ ...input, headers }), { signingDate: input.signingDate });
  return signed.headers as Record<string, string>;
}

/** A presigned URL's query string (raw, without `?`), valid for `expiresIn` seconds. */
export async function presignQuery(input: SignInput & { expiresIn?: number }): Promise<string> {
  // As S3 presigners do: the payload is unsigned (smithy would otherwise sign the empty body's hash).
  const headers = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...(input.headers ?? {}) };
  const presigned = await signer(input).presign(request({ ...input, headers }), { expiresIn: input.expiresIn ?? 300, signingDate: input.signingDate });
  return Object.entries(presigned.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
}
