/**
 * Span names and attributes of the proxy's traces: pure functions over request facts, following
 * OpenTelemetry's HTTP semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/) plus a few `osp.*` attributes.
 *
 * Nothing here ever reads a credential: not the Authorization header, not an access key, not a
 * signature. Query parameters that carry them (presigned URLs) have their values replaced by
 * `REDACTED`, as the conventions ask for `url.query`.
 */
import type { Attributes } from '@opentelemetry/api';

/** Attribute names used by the proxy (semantic-convention names and our own `osp.*`). */
export const ATTR = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  statusCode: 'http.response.status_code',
  route: 'http.route',
  urlPath: 'url.path',
  urlQuery: 'url.query',
  urlScheme: 'url.scheme',
  urlFull: 'url.full',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  clientAddress: 'client.address',
  protocolVersion: 'network.protocol.version',
  userAgent: 'user_agent.original',
  errorType: 'error.type',
  bucket: 'osp.bucket',
  operation: 'osp.operation',
  backendHost: 'osp.backend.host',
  requestId: 'osp.request_id',
  authMethod: 'osp.auth.method',
} as const;

/** The value that replaces a secret, as the semantic conventions spell it. */
export const REDACTED = 'REDACTED';

/** Query parameters whose values are credentials (lower-case, after percent-decoding the name). */
const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set(['x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'signature', 'awsaccesskeyid', 'x-amz-s3session-token']);

/** Methods the conventions know; anything else is reported as `_OTHER` with the original kept apart. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']);

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * A query string (without `?`) with the values of credential parameters replaced by `REDACTED`;
 * names, order and the other values are kept.
 *
 * @example redactQuery('X-Amz-Signature=abc&x-id=GetObject') === 'X-Amz-Signature=REDACTED&x-id=GetObject'
 */
export function redactQuery(query: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      return SECRET_QUERY_PARAMS.has(decodeName(name)) ? `${name}=${REDACTED}` : part;
    })
    .join('&');
}

/** `{ path, query }` of a request target; the query without `?`, `''` when absent. */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** Host and port of a Host / :authority value (`[::1]:8080`, `example.com`). */
export function parseHostHeader(value: string | undefined): { address?: string; port?: number } {
  if (!value) return {};
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim());
  if (!m) return {};
  const address = (m[1] as string).replace(/^\[|\]$/g, '');
  return m[2] !== undefined ? { address, port: Number(m[2]) } : { address };
}

/** The method attributes: known methods as is, others as `_OTHER` plus the original. */
export function methodAttributes(method: string | undefined): Attributes {
  const m = method ?? 'GET';
  return KNOWN_METHODS.has(m) ? { [ATTR.method]: m } : { [ATTR.method]: '_OTHER', [ATTR.methodOriginal]: m };
}

/**
 * The low-cardinality route of an S3 request, used in the span name: `/{bucket}/{key}`,
 * `/{bucket}` or `/` for path-style requests, `/{key}` or `/` for virtual-hosted ones, after the
 * mount path (`req.baseUrl`). Bucket and key values go to attributes, never into the name.
 */
export function s3Route(baseUrl: string, style: 'path' | 'virtual' | 'service' | undefined, hasBucket: boolean, hasKey: boolean): string {
  let route = style === 'path' && hasBucket ? '/{bucket}' : '';
  if (hasKey) route += '/{key}';
  return `${baseUrl}${route || '/'}`;
}

/** The HTTP method as the span name uses it (`_OTHER` → `HTTP`, as the conventions say). */
export function spanMethod(method: string | undefined): string {
  const m = method ?? 'GET';
  return KNOWN_METHODS.has(m) ? m : 'HTTP';
}

/** What the server span needs to know about the incoming request. */
export interface IncomingFacts {
  method: string | undefined;
  /** Request target as received (`originalUrl`: mount path included). */
  target: string;
  /** `X-Forwarded-Host`, else `:authority`/`Host`. */
  host: string | undefined;
  tls: boolean;
  httpVersion: string | undefined;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
}

/** Attributes of the server span known when the request arrives. */
export function serverSpanAttributes(f: IncomingFacts): Attributes {
  const { path, query } = splitTarget(f.target);
  const { address, port } = parseHostHeader(f.host);
  const a: Attributes = { ...methodAttributes(f.method), [ATTR.urlPath]: path, [ATTR.urlScheme]: f.tls ? 'https' : 'http' };
  if (query !== '') a[ATTR.urlQuery] = redactQuery(query);
  if (address) a[ATTR.serverAddress] = address;
  if (port !== undefined) a[ATTR.serverPort] = port;
  if (f.httpVersion) a[ATTR.protocolVersion] = f.httpVersion;
  if (f.remoteAddress) a[ATTR.clientAddress] = f.remoteAddress;
  if (f.userAgent) a[ATTR.userAgent] = f.userAgent;
  return a;
}

/** What the client span needs to know about the upstream request. */
export interface UpstreamFacts {
  method: string | undefined;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Host header sent upstream (port included when not the default). */
  hostHeader: string;
  /** Path and query sent upstream (client auth parameters already removed). */
  path: string;
  query: string;
  operation: string | undefined;
  bucket: string | undefined;
}

/** Attributes of the client span towards the backend. */
export function clientSpanAttributes(f: UpstreamFacts): Attributes {
  const query = f.query ? `?${redactQuery(f.query)}` : '';
  const a: Attributes = {
    ...methodAttributes(f.method),
    [ATTR.serverAddress]: f.hostname,
    [ATTR.serverPort]: f.port,
    [ATTR.urlFull]: `${f.protocol}//${f.hostHeader}${f.path}${query}`,
    [ATTR.backendHost]: f.hostname,
  };
  if (f.operation !== undefined) a[ATTR.operation] = f.operation;
  if (f.bucket !== undefined) a[ATTR.bucket] = f.bucket;
  return a;
}
