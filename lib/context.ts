/**
 * Per-request state of the proxy, kept in one typed property: `req.osp`.
 *
 * Two parts (issue [2/5] item 1, "one parse"):
 * - `req.osp.request` ({@link OspParsedRequest}): the request target, query and copy source
 *   parsed ONCE at the entry (the first stage that runs calls {@link getContext}), frozen. Every
 *   stage reads it; none re-reads `req.url`, `req.originalUrl` or re-parses a header it covers.
 * - the stage results, each written by one stage (see the field docs): verifySignature writes
 *   `identity`, `authMethod`, `signedHeaders`, `payloadHash`, `chunkSigning`, `presigned`,
 *   `keyPolicy`; authorize the ListBuckets/DeleteObjects fields; resolveBackend `backend` (the
 *   upstream path and query, derived once from the record); s3Proxy `upstreamBody`.
 */
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { BucketConfig } from './options';
import type { ChunkSigningContext } from './body/chunk-signature';
import type { UpstreamBodyPlan } from './body/upstream-body';
import { parseS3Target, splitUrl } from './s3/parse-request';
import { deriveS3Operation } from './s3/operation';
import { parseQuery, queryRecord, type QueryParam } from './s3/query';
import { parseCopySourceHeader, type ParsedCopySource } from './s3/copy-source';
import { uriEncode } from './sigv4/uri-encode';
import { OspError } from './errors';
import type { KeyPolicy } from './policy/key-policy';
import type { PostUpload } from './operations/post-object';

/** Credentials the proxy uses towards the backend. */
export type BackendCredentials = { kind: 'hmac'; accessKeyId: string; secretKey: string; sessionToken?: string } | { kind: 'bearer'; token: string; apiKeyHash: string } | { kind: 'none' };

/** Where the current request goes, decided by `resolveBackend`. */
export interface ResolvedBackend {
  config: Readonly<BucketConfig>;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Host header for the backend (port included when not the scheme's default). */
  hostHeader: string;
  /** Percent-encoded path to send, in canonical S3 encoding. */
  path: string;
  /** Query string to send (without `?`), client auth parameters removed. */
  query: string;
  /** SigV4 canonical form of `query`. */
  canonicalQuery: string;
  region: string;
  credentials: BackendCredentials;
  /** `x-amz-copy-source` rewritten with the backend's bucket name (CopyObject, UploadPartCopy). */
  copySource?: string;
}

/**
 * How the caller was authenticated (`post-policy`: a browser POST upload with a verified policy
 * signature; `preflight`: an unsigned CORS preflight, `OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`, sent upstream unsigned).
 */
export type AuthMethod = 'header' | 'query' | 'post-policy' | 'anonymous' | 'external' | 'skipped' | 'preflight';

/**
 * The request as parsed once at the entry (`req.osp.request`): frozen, read by every stage.
 * Written only by {@link getContext}; browser POST uploads replace it once, for the PutObject the
 * form describes.
 */
export interface OspParsedRequest {
  readonly method: string;
  /** Path the client signed (`req.originalUrl` before `?`, mount point included), percent-encoded as received. */
  readonly signedPath: string;
  /** Path after the mount point (`req.url` before `?`), percent-encoded as received: what the bucket and key come from. */
  readonly routePath: string;
  /** The query as received (`req.url` after `?`); the signature is verified against its parsed form, `query`, which is also what goes upstream. */
  readonly rawQuery: string;
  /** The Host the client's signer saw ({@link clientHost}). */
  readonly host: string | undefined;
  /** Client-facing bucket, undefined for service-level requests (ListBuckets). */
  readonly bucket: string | undefined;
  /** Decoded object key, undefined for bucket-level requests (`''` for `/bucket/`). */
  readonly key: string | undefined;
  /** `key` in canonical S3 percent-encoding (AWS UriEncode, `/` kept): the one encoding of the key, sent upstream and shown to `authorize`. */
  readonly rawKey: string | undefined;
  /** How the client addressed the bucket. */
  readonly style: 'path' | 'virtual' | 'service';
  /** Decoded query parameters, in order (each name at most once). */
  readonly query: readonly QueryParam[];
  /** Decoded names of the query parameters. */
  readonly queryParams: ReadonlySet<string>;
  /** `query` as name → value (`''` when valueless): what `authorize` callbacks receive. */
  readonly queryRecord: Readonly<Record<string, string>>;
  /** S3 operation name (GetObject, PutObject, …) or 'Unknown'. */
  readonly operation: string;
  /**
   * `x-amz-copy-source` (CopyObject, UploadPartCopy), parsed once: source bucket, decoded key,
   * version. An OspError when the header is malformed: raised by the stage that needs the source
   * (authorize, resolveBackend), so a bad signature is still reported first.
   */
  readonly copySource: ParsedCopySource | OspError | undefined;
}

/**
 * The parsed copy source of the request, undefined when it has none.
 * @throws OspError 400 when the header is malformed.
 */
export function copySourceOf(request: OspParsedRequest): ParsedCopySource | undefined {
  const source = request.copySource;
  if (source instanceof OspError) throw source;
  return source;
}

const NO_QUERY: readonly QueryParam[] = Object.freeze([]);
const NO_QUERY_RECORD: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The record of a browser POST upload: the form's PutObject of `key`, no query, no copy source.
 * @internal
 */
export function asPostUpload(request: OspParsedRequest, key: string): OspParsedRequest {
  return Object.freeze({
    ...request,
    key,
    rawKey: uriEncode(key, false),
    query: NO_QUERY,
    queryParams: new Set<string>(),
    queryRecord: NO_QUERY_RECORD,
    operation: 'PutObject',
    copySource: undefined,
  });
}

/**
 * The proxy's per-request state (`req.osp`). `bucket`, `key`, `rawKey`, `style`, `query`,
 * `queryParams` and `operation` are those of {@link OspParsedRequest}, copied from `request`.
 */
export interface OspRequestContext extends Pick<OspParsedRequest, 'bucket' | 'key' | 'rawKey' | 'style' | 'query' | 'queryParams' | 'operation'> {
  /** The request as parsed at the entry, frozen (written once by {@link getContext}). */
  readonly request: OspParsedRequest;
  /** Id of this request, sent as `x-amz-request-id` on responses the proxy generates. */
  readonly requestId: string;
  /** Written by verifySignature (or setOspIdentity). Frontend identity: the verified access key, or the identity set by your own auth. `null`: anonymous. */
  identity?: string | null;
  /** Written by verifySignature (or setOspIdentity). How `identity` was established. */
  authMethod?: AuthMethod;
  /** The caller's policies when its key came from `hmacFetcher` with some (keystore keys: looked up by identity). */
  keyPolicy?: KeyPolicy;
  /** DeleteObjects of a key with policies: checks the keys of the body (set by authorize, run by s3Proxy). Returns the error to answer, if any. */
  authorizeDeleteKeys?: (entries: readonly { key: string; versionId?: string }[]) => OspError | undefined;
  /**
   * The headers the client's verified SigV4 signature covers (lowercase). Unset for SigV2,
   * anonymous and preflight requests. Vendor headers a profile allows are forwarded only when listed here.
   */
  signedHeaders?: readonly string[];
  /** Written by verifySignature: the client's `x-amz-content-sha256` value (or UNSIGNED-PAYLOAD for presigned URLs); with the operation, it decides the body mode (lib/body/upstream-body.ts). */
  payloadHash?: string;
  /** Header-signed aws-chunked uploads: what verifies the chunk signatures (derived key; never log it). */
  chunkSigning?: ChunkSigningContext;
  /** Set when the request carried a presigned URL: the signature identifying the URL, and its expiry. */
  presigned?: { signature: string; expiresAtMs: number };
  /** ListBuckets only: the buckets the caller may see (set by authorize, extended by resolveBackend). */
  visibleBuckets?: string[];
  /** ListBuckets only: the backends' `CreationDate` per visible bucket, and their owner display name (set by resolveBackend). */
  bucketDates?: Map<string, string>;
  ownerDisplayName?: string;
  /** ListBuckets only: whether the caller may see a bucket found on a pattern's backend (set by authorize). */
  canSeeBucket?: (name: string) => Promise<boolean>;
  /** Browser POST uploads only: the verified form's file, sent by s3Proxy (set by postObject; lib/operations/post-object.ts). */
  postUpload?: PostUpload;
  /** Written by resolveBackend: the backend, and the upstream path and query derived once from `request`. */
  backend?: ResolvedBackend;
  /** Set by s3Proxy: how the upload body goes upstream (headers to change, payload hash to sign). */
  upstreamBody?: Pick<UpstreamBodyPlan, 'setHeaders' | 'removeHeaders' | 'payloadHash'>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** object-storage-proxy state; see OspRequestContext. */
      osp?: OspRequestContext;
    }
  }
}

let counter = 0;
const prefix = randomBytes(4).toString('hex').toUpperCase();

/** Short unique request id: a per-process random prefix plus a counter (cheap on the hot path). */
export function newRequestId(): string {
  counter = (counter + 1) % 0x100000000;
  return prefix + counter.toString(16).toUpperCase().padStart(8, '0');
}

/** Where setOspIdentity parks an identity until the context is built. */
const EXTERNAL_IDENTITY = Symbol('osp.externalIdentity');
type WithExternalIdentity = Request & { [EXTERNAL_IDENTITY]?: string | null };

/**
 * The Host the client's signer saw: `Host`, HTTP/2 `:authority`, or — only when the operator
 * trusts the reverse proxy in front — the first `X-Forwarded-Host`.
 */
export function clientHost(req: Request, trustForwardedHost: boolean): string | undefined {
  if (trustForwardedHost) {
    const fwd = req.headers['x-forwarded-host'];
    const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.headers.host ?? (req.headers[':authority'] as string | undefined);
}

/** What {@link getContext} needs of the options. */
export interface ContextOptions {
  virtualHostDomains: readonly string[];
  trustForwardedHost: boolean;
  allowDotSegmentsInKeys?: boolean;
}

/**
 * Returns `req.osp`, creating it from the request the first time a stage asks: the request
 * target is parsed ONCE here (bucket, decoded key, decoded query) and the operation classified
 * from that form. Every later stage reads these fields and nothing re-derives them from the URL,
 * so the request that is authorized is the request that is forwarded (issue [9]).
 *
 * @throws OspError on an unparseable target (400 InvalidURI, InvalidArgument, KeyTooLongError).
 */
export function getContext(req: Request, options: ContextOptions): OspRequestContext {
  if (req.osp) return req.osp;
  const request = parseRequest(req, options);
  const ctx: OspRequestContext = {
    request,
    requestId: newRequestId(),
    bucket: request.bucket,
    key: request.key,
    rawKey: request.rawKey,
    style: request.style,
    query: request.query,
    queryParams: request.queryParams,
    operation: request.operation,
  };
  const external = (req as WithExternalIdentity)[EXTERNAL_IDENTITY];
  if (external !== undefined) {
    ctx.identity = external;
    ctx.authMethod = 'external';
  }
  req.osp = ctx;
  return ctx;
}

/**
 * The one parse of the request (see {@link OspParsedRequest}): one split of the URL, one parse of
 * the query, one parse of `x-amz-copy-source`.
 *
 * @throws OspError on an unparseable target (400 InvalidURI, InvalidArgument, KeyTooLongError).
 */
export function parseRequest(req: Request, options: ContextOptions): OspParsedRequest {
  const url = req.url;
  const { path: routePath, query: rawQuery } = splitUrl(url);
  // Mounted under a prefix, Express strips it from `req.url` only: the client signed the full path.
  const original = req.originalUrl ?? url;
  const signedPath = original === url ? routePath : original.slice(0, original.includes('?') ? original.indexOf('?') : original.length);
  const host = clientHost(req, options.trustForwardedHost);
  const target = parseS3Target(routePath, host, options);
  const query = rawQuery === '' ? NO_QUERY : parseQuery(rawQuery);
  const queryParams = new Set(query.map((p) => p.name));
  for (const name of queryParams) {
    // In a presigned URL's query an x-amz-* parameter acts as a header: a copy source there
    // would turn a PutObject into a copy that authorize never saw.
    if (name.toLowerCase() === 'x-amz-copy-source') throw new OspError(400, 'InvalidArgument', 'x-amz-copy-source is not accepted as a query parameter.', { ArgumentName: name });
  }
  const header = req.headers['x-amz-copy-source'];
  let copySource: OspParsedRequest['copySource'];
  if (typeof header === 'string') {
    try {
      copySource = parseCopySourceHeader(header, options.allowDotSegmentsInKeys === true);
    } catch (err) {
      copySource = err instanceof OspError ? err : new OspError(400, 'InvalidArgument', 'Invalid x-amz-copy-source.', { ArgumentName: 'x-amz-copy-source' });
    }
  }
  return Object.freeze({
    method: req.method,
    signedPath,
    routePath,
    rawQuery,
    host,
    bucket: target.bucket,
    key: target.key,
    rawKey: target.key === undefined ? undefined : uriEncode(target.key, false),
    style: target.style,
    query,
    queryParams,
    queryRecord: query.length === 0 ? NO_QUERY_RECORD : Object.freeze(queryRecord(query)),
    operation: deriveS3Operation(req.method, target.bucket, target.key !== undefined && target.key !== '', queryParams, req.headers),
    copySource,
  });
}

/**
 * Marks the request as authenticated by your own middleware (session, OIDC, mTLS…), so that
 * `authorize`, `resolveBackend` and `s3Proxy` can run without `verifySignature`. `identity` is
 * what `authorize` and `bucketCredsFetcher` receive as `token`. `null` marks the caller anonymous:
 * the request then goes upstream unsigned unless the bucket sets `signAnonymousRequests`, and
 * ListBuckets and `response-*` overrides are refused, as for unsigned requests (`allowAnonymous`).
 *
 * @example
 * app.use('/s3', sessionAuth, (req, _res, next) => { setOspIdentity(req, req.user.id); next(); },
 *   authorize(opts), resolveBackend(opts), s3Proxy(opts));
 */
export function setOspIdentity(req: Request, identity: string | null): void {
  if (req.osp) {
    req.osp.identity = identity;
    req.osp.authMethod = 'external';
  } else {
    (req as WithExternalIdentity)[EXTERNAL_IDENTITY] = identity;
  }
}
