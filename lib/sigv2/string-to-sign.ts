/**
 * The SigV2 string to sign:
 *
 *     VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource
 *
 * Every `x-amz-*` header is part of it (so with SigV2 all of them are signed). `Date` is empty when
 * an `x-amz-date` header is present, and is the `Expires` value for presigned URLs.
 *
 * The result is a "byte string": one character per byte (latin1), because the signature covers the
 * header bytes exactly as sent (botocore sends a `str` metadata value as UTF-8 bytes and signs those
 * bytes; RGW compares bytes). Node hands header values over latin1-decoded, i.e. already in this
 * form; percent-decoded sub-resource values are turned into their UTF-8 bytes.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { decodeUriComponentStrict } from '../sigv4/uri-encode';
import { RESPONSE_OVERRIDE_PARAMS } from '../constants';

/**
 * Query parameters that are part of the canonicalized resource: the sub-resources and `response-*`
 * overrides of the S3 documentation plus the later ones AWS SDKs sign (botocore's
 * `HmacV1Auth.QSAOfInterest`: tagging, cors, delete, restore, …). Every other parameter is not signed.
 */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'defaultObjectAcl',
  'delete',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  ...RESPONSE_OVERRIDE_PARAMS,
  'restore',
  'select',
  'select-type',
  'storageClass',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

/**
 * CanonicalizedResource: `[/bucket]` + the path as sent + `?` + the signed sub-resources sorted by
 * name (values percent-decoded, as UTF-8 bytes; valueless ones without `=`).
 *
 * @param rawPath - the path as the client sent it (still percent-encoded).
 * @param rawQuery - the query without `?`, as sent.
 * @param bucketPrefix - `/bucket` for virtual-hosted requests (the bucket is in the Host), else `''`.
 * @throws OspError 400 InvalidURI on malformed percent-encoding in a signed sub-resource.
 */
export function canonicalizedResource(rawPath: string, rawQuery: string, bucketPrefix = ''): string {
  let out = bucketPrefix + (rawPath === '' ? '/' : rawPath);
  if (rawQuery === '') return out;
  const kept: [string, string | undefined][] = [];
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (!SIGNED_SUBRESOURCES.has(name)) continue;
    kept.push([name, eq === -1 ? undefined : Buffer.from(decodeUriComponentStrict(part.slice(eq + 1)), 'utf8').toString('latin1')]);
  }
  if (kept.length === 0) return out;
  // Array#sort is stable: repeated names keep their order, as in botocore.
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  out += '?' + kept.map(([n, v]) => (v === undefined ? n : `${n}=${v}`)).join('&');
  return out;
}

/** First value of a header in Node's raw header list, trimmed; `''` when absent. */
function rawFirst(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) return (rawHeaders[i + 1] as string).trim();
  }
  return undefined;
}

/**
 * CanonicalizedAmzHeaders: every `x-amz-*` header, name lowercased, values trimmed and repeated
 * headers joined with `,`, sorted by name, each as `name:value\n`.
 */
export function canonicalizedAmzHeaders(rawHeaders: readonly string[]): string {
  const byName = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (!name.startsWith('x-amz-')) continue;
    const values = byName.get(name);
    const value = (rawHeaders[i + 1] as string).trim();
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  return [...byName.keys()]
    .sort()
    .map((n) => `${n}:${(byName.get(n) as string[]).join(',')}\n`)
    .join('');
}

/** What the string to sign is built from. */
export interface SigV2Request {
  method: string;
  /** Path as sent, still percent-encoded (`req.originalUrl` before `?`). */
  rawPath: string;
  rawQuery: string;
  /** Node's `req.rawHeaders` (values as latin1-decoded strings, like Python's `str` headers). */
  rawHeaders: readonly string[];
  /** `/bucket` for virtual-hosted requests, else `''`. */
  bucketPrefix?: string;
  /** Presigned URLs: the `Expires` value, which replaces the date. */
  expires?: string;
  /**
   * A path-style request to a bucket itself (`/bucket`, no key): botocore signs such requests with
   * the resource `/bucket/` (its `auth_path`), so both forms are accepted.
   */
  bucketLevel?: boolean;
}

/**
 * Builds the SigV2 string to sign for a request.
 *
 * @throws OspError 400 InvalidURI on malformed percent-encoding in a signed sub-resource.
 */
export function buildSigV2StringToSign(r: SigV2Request): string {
  const date =
    r.expires !== undefined
      ? r.expires
      : rawFirst(r.rawHeaders, 'x-amz-date') !== undefined
        ? '' // x-amz-date is signed among the amz headers and replaces Date.
        : (rawFirst(r.rawHeaders, 'date') ?? '');
  return (
    r.method.toUpperCase() +
    '\n' +
    (rawFirst(r.rawHeaders, 'content-md5') ?? '') +
    '\n' +
    (rawFirst(r.rawHeaders, 'content-type') ?? '') +
    '\n' +
    date +
    '\n' +
    canonicalizedAmzHeaders(r.rawHeaders) +
    canonicalizedResource(r.rawPath, r.rawQuery, r.bucketPrefix)
  );
}
