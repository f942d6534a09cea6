/**
 * Per-request state of the proxy, kept in one typed property: `req.osp`.
 * Each stage fills in its part; stages used on their own create it on first use.
 */
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { BucketConfig } from './options';
import type { ChunkSigningContext } from './body/chunk-signature';
import type { UpstreamBodyPlan } from './body/upstream-body';
import { parseS3Target, splitUrl } from './s3/parse-request';
import { deriveS3Operation } from './s3/operation';
import { parseQuery, type QueryParam } from './s3/query';
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

/** The proxy's per-request state (`req.osp`). */
export interface OspRequestContext {
  /** Id of this request, sent as `x-amz-request-id` on responses the proxy generates. */
  readonly requestId: string;
  /** Client-facing bucket, undefined for service-level requests (ListBuckets). */
  readonly bucket: string | undefined;
  /** Decoded object key, undefined for bucket-level requests (`''` for `/bucket/`). */
  readonly key: string | undefined;
  /**
   * The key in canonical S3 percent-encoding (AWS UriEncode, `/` kept), derived from `key`: what
   * is sent upstream. Undefined for bucket-level requests.
   */
  readonly rawKey: string | undefined;
  /** How the client addressed the bucket. */
  readonly style: 'path' | 'virtual' | 'service';
  /** Decoded query parameters, in order (each name at most once). */
  readonly query: readonly QueryParam[];
  /** Decoded names of the query parameters. */
  readonly queryParams: ReadonlySet<string>;
  /** S3 operation name (GetObject, PutObject, …) or 'Unknown'. */
  readonly operation: string;
  /** Frontend identity: the verified access key, or the identity set by your own auth. `null`: anonymous. */
  identity?: string | null;
  /** How `identity` was established. */
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
  /** The client's `x-amz-content-sha256` value (or UNSIGNED-PAYLOAD for presigned URLs). */
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
  /** Set by resolveBackend. */
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
  const { path, query: rawQuery } = splitUrl(req.url);
  const target = parseS3Target(path, clientHost(req, options.trustForwardedHost), options);
  const query = parseQuery(rawQuery);
  const queryParams = new Set(query.map((p) => p.name));
  for (const name of queryParams) {
    // In a presigned URL's query an x-amz-* parameter acts as a header: a copy source there
    // would turn a PutObject into a copy that authorize never saw.
    if (name.toLowerCase() === 'x-amz-copy-source') throw new OspError(400, 'InvalidArgument', 'x-amz-copy-source is not accepted as a query parameter.', { ArgumentName: name });
  }
  const ctx: OspRequestContext = {
    requestId: newRequestId(),
    bucket: target.bucket,
    key: target.key,
    rawKey: target.key === undefined ? undefined : uriEncode(target.key, false),
    style: target.style,
    query,
    queryParams,
    operation: deriveS3Operation(req.method, target.bucket, target.key !== undefined && target.key !== '', queryParams, req.headers),
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
