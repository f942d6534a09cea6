/**
 * Query-string helpers: decoding for callbacks, and the query the proxy forwards upstream.
 */
import { decodeUriComponentStrict, uriEncode } from '../sigv4/uri-encode';

/**
 * Parameters of SigV4 query authentication: they authenticate the client to us, never forwarded.
 * `X-Amz-Content-Sha256` (the JS SDK puts `UNSIGNED-PAYLOAD` there) is part of the client's
 * signature too; the proxy sends its value as the `x-amz-content-sha256` header it signs.
 */
const PRESIGN_AUTH_PARAMS: ReadonlySet<string> = new Set([
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-signedheaders',
  'x-amz-signature',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

/** Parameters of SigV2 query authentication (case-sensitive, as S3 reads them): never forwarded. */
const SIGV2_AUTH_PARAMS: ReadonlySet<string> = new Set(['AWSAccessKeyId', 'Signature', 'Expires']);

/** Decodes a raw query into name → value (first value wins, `?uploads` → `uploads: ''`). */
export function decodeQuery(rawQuery: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!rawQuery) return out;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeUriComponentStrict(eq === -1 ? part : part.slice(0, eq));
    if (!(name in out)) out[name] = eq === -1 ? '' : decodeUriComponentStrict(part.slice(eq + 1));
  }
  return out;
}

/** The forwarded query in wire form and in SigV4 canonical form. */
export interface BackendQuery {
  /** Sent upstream (without `?`): every parameter re-encoded with AWS UriEncode, order kept. */
  wire: string;
  /** SigV4 canonical query of `wire`. */
  canonical: string;
}

/**
 * Builds the upstream query. Every name and value is decoded and re-encoded with AWS UriEncode,
 * so the backend computes the same canonical query as we sign, whatever encoding quirks the
 * client had (`+`, lowercase hex, unescaped `*`). Valueless parameters (`?uploads`) stay valueless
 * on the wire (some backends dislike `uploads=`) and become `uploads=` in the canonical form.
 *
 * @param stripPresignAuth - drop the client's query-auth parameters (presigned URLs): SigV4
 *   `X-Amz-*` ones and SigV2 `AWSAccessKeyId`, `Signature`, `Expires`.
 * @throws OspError 400 InvalidURI on malformed percent-encoding.
 */
export function buildBackendQuery(rawQuery: string, stripPresignAuth: boolean): BackendQuery {
  if (!rawQuery) return { wire: '', canonical: '' };
  const wire: string[] = [];
  const canonical: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeUriComponentStrict(eq === -1 ? part : part.slice(0, eq));
    if (stripPresignAuth && (PRESIGN_AUTH_PARAMS.has(name.toLowerCase()) || SIGV2_AUTH_PARAMS.has(name))) continue;
    const encName = uriEncode(name, true);
    const encValue = eq === -1 ? '' : uriEncode(decodeUriComponentStrict(part.slice(eq + 1)), true);
    wire.push(eq === -1 ? encName : `${encName}=${encValue}`);
    canonical.push([encName, encValue]);
  }
  canonical.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return { wire: wire.join('&'), canonical: canonical.map(([n, v]) => `${n}=${v}`).join('&') };
}
