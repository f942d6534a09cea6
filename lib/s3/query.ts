/**
 * The request's query, parsed ONCE into decoded (name, value) pairs. The operation is classified
 * from these pairs, `authorize` sees them, and the query forwarded upstream is re-encoded from
 * them: what is authorized is what is forwarded (issue [9]: `?%64elete` was classified from the
 * raw name but reached the backend as `?delete`).
 */
import { OspError } from '../errors';
import { decodeUriComponentStrict, uriEncode } from '../sigv4/uri-encode';

/** One decoded query parameter. `value` is undefined for a valueless parameter (`?uploads`). */
export interface QueryParam {
  readonly name: string;
  readonly value: string | undefined;
}

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

/** SigV2 query authentication (`AWSAccessKeyId`, `Expires`, `Signature`; case-sensitive, as S3). */
const SIGV2_AUTH_PARAMS: ReadonlySet<string> = new Set(['AWSAccessKeyId', 'Expires', 'Signature']);

/** Whether a (decoded) parameter name belongs to SigV4 query authentication. */
export function isPresignAuthParam(name: string): boolean {
  return PRESIGN_AUTH_PARAMS.has(name.toLowerCase());
}

/** Whether a (decoded) parameter name authenticates a presigned URL (SigV4 or SigV2). */
export function isClientAuthParam(name: string): boolean {
  return isPresignAuthParam(name) || SIGV2_AUTH_PARAMS.has(name);
}

const duplicate = (name: string) => new OspError(400, 'InvalidArgument', 'A query parameter appears more than once.', { ArgumentName: name.slice(0, 128) });

/**
 * Splits and strictly decodes a raw query (without `?`): `+` stays a literal `+` (SigV4 rules),
 * empty parts (`a&&b`) are skipped.
 *
 * A name may appear only once: with two values, the proxy's callbacks could see one and the
 * backend act on the other. No S3 API takes a repeated parameter.
 *
 * @throws OspError 400 InvalidURI on malformed percent-encoding, 400 InvalidArgument on a
 *   repeated or empty name.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (!rawQuery) return out;
  let seen: Set<string> | undefined;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeUriComponentStrict(eq === -1 ? part : part.slice(0, eq));
    if (name === '') throw new OspError(400, 'InvalidArgument', 'A query parameter has an empty name.', { ArgumentName: '' });
    if (out.length > 0) {
      seen ??= new Set(out.map((p) => p.name));
      if (seen.has(name)) throw duplicate(name);
      seen.add(name);
    }
    out.push({ name, value: eq === -1 ? undefined : decodeUriComponentStrict(part.slice(eq + 1)) });
  }
  return out;
}

/** Name → value (`''` for valueless parameters), for callbacks. */
export function queryRecord(params: readonly QueryParam[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) out[p.name] = p.value ?? '';
  return out;
}

/** The forwarded query in wire form and in SigV4 canonical form. */
export interface BackendQuery {
  /** Sent upstream (without `?`): every parameter encoded with AWS UriEncode, order kept. */
  wire: string;
  /** SigV4 canonical query of `wire`. */
  canonical: string;
}

/**
 * Builds the upstream query from the parsed parameters. Every name and value is encoded with AWS
 * UriEncode, so the backend computes the same canonical query as we sign, whatever encoding
 * quirks the client had (`+`, lowercase hex, unescaped `*`). Valueless parameters (`?uploads`)
 * stay valueless on the wire (some backends dislike `uploads=`) and become `uploads=` in the
 * canonical form.
 *
 * @param isClientAuthParam - parameters that authenticated the client (presigned URLs): dropped.
 */
export function buildBackendQuery(params: readonly QueryParam[], isClientAuthParam?: (name: string) => boolean): BackendQuery {
  if (params.length === 0) return { wire: '', canonical: '' };
  const wire: string[] = [];
  const canonical: [string, string][] = [];
  for (const p of params) {
    if (isClientAuthParam?.(p.name)) continue;
    const encName = uriEncode(p.name, true);
    const encValue = p.value === undefined ? '' : uriEncode(p.value, true);
    wire.push(p.value === undefined ? encName : `${encName}=${encValue}`);
    canonical.push([encName, encValue]);
  }
  canonical.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return { wire: wire.join('&'), canonical: canonical.map(([n, v]) => `${n}=${v}`).join('&') };
}

/**
 * The SigV4 canonical query of the parsed parameters, as `canonicalizeQuery` computes it from the
 * raw query (decoded, re-encoded with AWS UriEncode, sorted; `name=` when valueless), without
 * splitting the URL again: the query verified is the query parsed at the entry.
 *
 * @param omit - a (decoded) name left out: `X-Amz-Signature` for presigned URLs.
 */
export function canonicalQueryOf(params: readonly QueryParam[], omit?: string): string {
  if (params.length === 0) return '';
  const pairs: [string, string][] = [];
  for (const p of params) if (p.name !== omit) pairs.push([uriEncode(p.name, true), p.value === undefined ? '' : uriEncode(p.value, true)]);
  if (pairs.length > 1) pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = '';
  for (let i = 0; i < pairs.length; i++) out += (i === 0 ? '' : '&') + pairs[i]![0] + '=' + pairs[i]![1];
  return out;
}
