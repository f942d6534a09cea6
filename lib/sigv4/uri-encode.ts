/**
 * AWS `UriEncode` and strict percent-decoding, as used to build SigV4 canonical requests.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (UriEncode rules)
 */
import { s3Errors } from '../errors';

/** True for the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` (char code). */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/**
 * `encodeURIComponent` leaves `! ' ( ) *` alone but AWS UriEncode escapes them.
 * Only called when such a character is actually present.
 */
function escapeSubDelims(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x21 || c === 0x27 || c === 0x28 || c === 0x29 || c === 0x2a) {
      out += s.slice(last, i) + '%' + c.toString(16).toUpperCase();
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

/**
 * AWS `UriEncode`: UTF-8 encode, keep `A-Z a-z 0-9 - . _ ~`, escape everything else as `%XX`
 * (uppercase hex). A space becomes `%20` (never `+`), `+` becomes `%2B`.
 *
 * @param s - the decoded text to encode.
 * @param encodeSlash - `false` keeps `/` as is (object key names in the canonical URI),
 *   `true` escapes it as `%2F` (query names and values).
 * @throws URIError when `s` holds a lone UTF-16 surrogate (cannot be UTF-8 encoded).
 */
export function uriEncode(s: string, encodeSlash: boolean): string {
  // Fast path: nothing to escape (the common case for ordinary keys and query values).
  let i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!isUnreserved(c) && (encodeSlash || c !== 0x2f)) break;
  }
  if (i === n) return s;
  let out = escapeSubDelims(encodeURIComponent(s));
  if (!encodeSlash && out.includes('%2F')) out = out.split('%2F').join('/');
  return out;
}

/**
 * Strict percent-decoding: `%XX` sequences must be well formed and the bytes valid UTF-8.
 * Unlike `application/x-www-form-urlencoded` decoding, `+` stays a literal `+` (S3 signs what
 * clients put in the URL; AWS signers always send a space as `%20`).
 *
 * @throws OspError 400 InvalidURI on a malformed `%` sequence or invalid UTF-8.
 */
export function decodeUriComponentStrict(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw s3Errors.invalidUri();
  }
}
