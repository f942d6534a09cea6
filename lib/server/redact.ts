/**
 * Redaction of secrets before anything reaches a log line: presigned-URL query parameters and
 * credential-bearing headers. Pure functions, used by the access log of the standalone server.
 */

/** Query parameters whose values are secrets (compared case-insensitively, after percent-decoding the name). */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  // SigV2 presigned URLs and IBM-style variants: never log them either.
  'signature',
  'awsaccesskeyid',
  'x-amz-s3session-token',
]);

/** Request/response headers whose values are secrets. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
  'x-api-key',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-copy-source-server-side-encryption-customer-key',
]);

export const REDACTED = '[REDACTED]';

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * Returns `url` (path + query, or absolute) with the values of secret query parameters replaced by
 * `[REDACTED]`. Names, order and every other byte of the URL are kept, so logs stay useful.
 * A parameter name written percent-encoded (`X-Amz-%53ignature`) is recognised too.
 *
 * @example redactUrl('/b/k?X-Amz-Signature=abc&x-id=GetObject') === '/b/k?X-Amz-Signature=[REDACTED]&x-id=GetObject'
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const tail = hash === -1 ? '' : url.slice(hash);
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (!SECRET_QUERY_PARAMS.has(decodeName(name))) return part;
    return `${name}=${REDACTED}`;
  });
  return `${url.slice(0, q + 1)}${parts.join('&')}${tail}`;
}

/**
 * Copy of a header map with secret values replaced; `x-amz-credential`-like values inside other
 * headers are not inspected (S3 carries credentials only in the headers listed above).
 */
export function redactHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) && value !== undefined ? REDACTED : value;
  }
  return out;
}
