/**
 * The kit's proxy side: the chain in an Express app on 127.0.0.1:0 (test/helpers/proxy-server.ts)
 * and a client that signs with the independent signer (test/helpers/independent-signer.ts).
 */
import { createHash } from 'node:crypto';
import type { BucketConfig, HmacKey, OspOptions } from '../../lib/options';
import { startProxy, type RunningProxy, type StartProxyOptions } from '../helpers/proxy-server';
import { presignQuery, signHeaders } from '../helpers/independent-signer';
import { call, type Answer } from '../helpers/raw-http';
import { UPSTREAM_KEYS, type KitUpstream } from './upstream';

/** The frontend key the kit's client signs with by default. */
export const FRONTEND: HmacKey = { accessKey: 'CLIENT-AK', secretKey: 'CLIENT-SK' };

/** A bucket entry pointing at the kit upstream (plain HTTP, path style, the upstream's keys). */
export function kitBucket(upstream: KitUpstream, extra: Partial<BucketConfig> = {}): BucketConfig {
  return { host: '127.0.0.1', port: upstream.port, tls: false, addressingStyle: 'path', accessKey: UPSTREAM_KEYS.accessKey, secretKey: UPSTREAM_KEYS.secretKey, ...extra };
}

export interface KitRequest {
  method?: string;
  /** Percent-encoded path as sent, e.g. `/photos/a%20b.txt`. */
  path: string;
  /** Decoded query parameters (encoded here as the signer does). */
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** `header` (default), `presign` or `none` (unsigned). */
  sign?: 'header' | 'presign' | 'none';
  /** Frontend key. @default FRONTEND */
  key?: { accessKey: string; secretKey: string };
  signingDate?: Date;
  /** Presigned URL lifetime in seconds. @default 300 */
  expiresIn?: number;
  /** Headers added after signing (not covered by the signature). */
  unsignedHeaders?: Record<string, string>;
}

/** RFC 3986 encoding, as SigV4 canonicalizes query parameters. */
export const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface KitChain extends RunningProxy {
  /** Signs (unless `sign: 'none'`) and sends one request; resolves with status, headers, body and the S3 error code. */
  send(request: KitRequest): Promise<Answer>;
}

/** `ospMiddleware(options)` (or `extra.handler`) on 127.0.0.1:0. */
export async function startChain(options: OspOptions, extra: StartProxyOptions = {}): Promise<KitChain> {
  const proxy = await startProxy(options, extra);
  const host = `127.0.0.1:${proxy.port}`;
  const send = async (r: KitRequest): Promise<Answer> => {
    const method = r.method ?? 'GET';
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    const key = r.key ?? FRONTEND;
    const signInput = { method, host, path: `${extra.mountPath ?? ''}${r.path}`, query: r.query, accessKeyId: key.accessKey, secretAccessKey: key.secretKey, signingDate: r.signingDate };
    let query = Object.entries(r.query ?? {})
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
      .join('&');
    let headers: Record<string, string> = { host, ...(r.headers ?? {}) };
    if ((r.sign ?? 'header') === 'header') {
      const payload = body === undefined ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(body).digest('hex');
      headers = await signHeaders({ ...signInput, headers: { 'x-amz-content-sha256': payload, ...(r.headers ?? {}) } });
    } else if (r.sign === 'presign') {
      query = await presignQuery({ ...signInput, headers: r.headers, expiresIn: r.expiresIn });
    }
    const base = `http://${host}${extra.mountPath ?? ''}`;
    return call(`${base}${r.path}${query ? `?${query}` : ''}`, method, { ...headers, ...(r.unsignedHeaders ?? {}) }, body);
  };
  return Object.assign(proxy, { send });
}
