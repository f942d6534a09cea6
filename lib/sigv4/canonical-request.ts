/**
 * Building blocks of the SigV4 canonical request, with Amazon S3's rules.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#canonical-request
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { sha256Hex } from './signing-key';
import { decodeUriComponentStrict, uriEncode } from './uri-encode';

/** True when every char is unreserved or `/` (then decode+encode is the identity). */
function isPlainPath(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2f)) {
      return false;
    }
  }
  return true;
}

/**
 * Canonical URI for S3. Unlike other services, S3 neither normalizes the path (`.`/`..`, `//`)
 * nor double-encodes it: each `/`-separated segment of the wire path is decoded once and
 * re-encoded with {@link uriEncode} (so `%7e` and `~` both become `~`, `é` becomes `%C3%A9`).
 * Empty segments (`a//b`) and a trailing `/` are kept; an empty path becomes `/`.
 *
 * @param rawPath - the path as sent on the wire (still percent-encoded).
 * @throws OspError 400 InvalidURI on malformed percent-encoding.
 */
export function canonicalizePath(rawPath: string): string {
  if (rawPath === '') return '/';
  if (isPlainPath(rawPath)) return rawPath;
  const segments = rawPath.split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg !== '') segments[i] = uriEncode(decodeUriComponentStrict(seg), false);
  }
  return segments.join('/');
}

/**
 * Canonical query string: parameters split on `&` (empty parts skipped) and at the first `=`,
 * strictly decoded (`+` stays literal `+`), re-encoded with `uriEncode(x, true)`, sorted by
 * encoded name then encoded value (byte order) and joined as `name=value&…`. A parameter without
 * `=` (`?uploads`) gets an empty value (`uploads=`).
 *
 * @param rawQuery - the query string without `?`, still percent-encoded.
 * @param omit - a parameter name (decoded) to drop, e.g. `X-Amz-Signature` for presigned URLs.
 * @throws OspError 400 InvalidURI on malformed percent-encoding.
 */
export function canonicalizeQuery(rawQuery: string, omit?: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  let start = 0;
  const n = rawQuery.length;
  while (start <= n) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = n;
    if (end > start) {
      const part = rawQuery.slice(start, end);
      const eq = part.indexOf('=');
      const rawName = eq === -1 ? part : part.slice(0, eq);
      const rawValue = eq === -1 ? '' : part.slice(eq + 1);
      const name = decodeUriComponentStrict(rawName);
      if (name !== omit) {
        pairs.push([uriEncode(name, true), uriEncode(decodeUriComponentStrict(rawValue), true)]);
      }
    }
    start = end + 1;
  }
  if (pairs.length > 1) {
    // Encoded strings are ASCII, so UTF-16 comparison equals byte order.
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    out += (i === 0 ? '' : '&') + p[0] + '=' + p[1];
  }
  return out;
}

/**
 * Canonical header value ("Trimall"): trim leading/trailing spaces and tabs and collapse inner
 * runs of spaces/tabs to one space. Quoted strings are not special (AWS collapses them too).
 */
export function canonicalHeaderValue(v: string): string {
  let needsWork = false;
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x09 || (c === 0x20 && (i === 0 || i === n - 1 || v.charCodeAt(i + 1) === 0x20 || v.charCodeAt(i + 1) === 0x09))) {
      needsWork = true;
      break;
    }
  }
  if (!needsWork) return v;
  let out = '';
  let pendingSpace = false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      pendingSpace = out.length > 0;
    } else {
      if (pendingSpace) out += ' ';
      pendingSpace = false;
      out += v[i];
    }
  }
  return out;
}

/**
 * Canonical headers from Node's `req.rawHeaders` (flat `[name, value, …]`, original case, every
 * occurrence). One `name:value\n` line per signed header, in the given order; repeated headers
 * are joined with `,` in arrival order (Node's `req.headers` joins with `, ` or drops duplicates,
 * which would break signatures). For HTTP/2 `:authority` stands in for a missing `host`, and is
 * used as is when the client signed `:authority` itself (the JS SDK's HTTP/2 handler does).
 * An absent signed header gets an empty value (the signature then simply does not match).
 *
 * @param signedHeaders - lowercase names from `SignedHeaders`, in their (sorted) order.
 */
export function canonicalHeadersFromRaw(rawHeaders: readonly string[], signedHeaders: readonly string[]): string {
  const count = signedHeaders.length;
  const values: (string | undefined)[] = new Array<string | undefined>(count);
  let authority: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // The JS SDK's HTTP/2 handler signs `:authority` itself; other clients sign `host`.
    if (name === ':authority') authority = canonicalHeaderValue(rawHeaders[i + 1]!);
    for (let j = 0; j < count; j++) {
      if (signedHeaders[j] === name) {
        const v = canonicalHeaderValue(rawHeaders[i + 1]!);
        values[j] = values[j] === undefined ? v : values[j] + ',' + v;
        break;
      }
    }
  }
  let out = '';
  for (let j = 0; j < count; j++) {
    const name = signedHeaders[j]!;
    let v = values[j];
    if (v === undefined && name === 'host') v = authority;
    out += name + ':' + (v ?? '') + '\n';
  }
  return out;
}

/**
 * Canonical headers from a lowercase-keyed header record (outgoing requests). Arrays are joined
 * with `,`, numbers stringified, missing headers give an empty value.
 */
export function canonicalHeadersFromRecord(headers: Readonly<Record<string, string | number | readonly string[] | undefined>>, signedHeaders: readonly string[]): string {
  let out = '';
  for (const name of signedHeaders) {
    const v = headers[name];
    let text: string;
    if (v === undefined) text = '';
    else if (typeof v === 'string') text = canonicalHeaderValue(v);
    else if (typeof v === 'number') text = String(v);
    else text = v.map(canonicalHeaderValue).join(',');
    out += name + ':' + text + '\n';
  }
  return out;
}

/**
 * The canonical request:
 * `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH` where `canonicalHeaders` already
 * ends each line with `\n` (hence the blank line AWS specifies).
 */
export function buildCanonicalRequest(method: string, canonicalUri: string, canonicalQuery: string, canonicalHeaders: string, signedHeadersJoined: string, payloadHash: string): string {
  return `${method}\n${canonicalUri}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeadersJoined}\n${payloadHash}`;
}

/**
 * The string to sign: `AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256 of canonical request>`.
 *
 * @param scope - `yyyymmdd/region/service/aws4_request`.
 */
export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalBytes(canonicalRequest))}`;
}

/**
 * The bytes of a canonical request. Node hands header values over latin1-decoded (one character
 * per byte), and signers hash the bytes they sent (botocore sends a non-ASCII `str` value as UTF-8
 * and hashes those bytes; RGW compares bytes): so the request is hashed as latin1, byte for byte as
 * it came off the wire (issue 10). A string with characters above U+00FF did not come off the wire
 * (a caller's own value) and is hashed as UTF-8.
 */
function canonicalBytes(canonicalRequest: string): string | Buffer {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(canonicalRequest)) return canonicalRequest; // the common case: ASCII
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\xff]/.test(canonicalRequest) ? canonicalRequest : Buffer.from(canonicalRequest, 'latin1');
}
