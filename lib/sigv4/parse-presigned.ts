/**
 * Parsing of SigV4 presigned-URL query parameters.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { s3Errors } from '../errors';
import { isLowerHex64, parseCredential, parseSignedHeaders, sigV2NotSupported, SIGV4_ALGORITHM, type SigV4Authorization } from './parse-authorization';
import { decodeUriComponentStrict } from './uri-encode';

/** Re-exported so callers can detect both SigV2 forms from one module. */
export { isSigV2Authorization } from './parse-authorization';

/** Longest validity S3 accepts for a presigned URL: 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

/** A parsed presigned (query-string) SigV4 authorization. */
export interface SigV4Presigned extends SigV4Authorization {
  /** `X-Amz-Date`, `YYYYMMDDTHHMMSSZ` (validated by `checkPresignedValidity`). */
  amzDate: string;
  /** `X-Amz-Expires` in seconds, 1..604800. */
  expiresSeconds: number;
  /** `X-Amz-Security-Token`, when present. */
  securityToken?: string;
  /** `X-Amz-Content-Sha256` when present in the query (rare); otherwise the payload is `UNSIGNED-PAYLOAD`. */
  contentSha256?: string;
}

const REQUIRED_MESSAGE = 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.';

/** The parameters we look at; everything else is an ordinary (signed) query parameter. */
const AUTH_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Content-Sha256',
  'AWSAccessKeyId',
  'Signature',
  'Expires',
]);

/**
 * Parses the SigV4 presigned parameters of a query string.
 *
 * @param rawQuery - the query string without `?`, still percent-encoded.
 * @returns `undefined` when neither `X-Amz-Algorithm`, `X-Amz-Credential` nor `X-Amz-Signature`
 *   is present (the request then uses header authentication or is anonymous).
 * @throws OspError 400 InvalidRequest for a SigV2 presigned URL (`AWSAccessKeyId=…`),
 *   400 AuthorizationQueryParametersError for missing/malformed/repeated parameters, an
 *   unsupported `X-Amz-Algorithm`, or `X-Amz-Expires` outside 1..604800; 400 InvalidURI on bad
 *   percent-encoding.
 */
export function parsePresignedQuery(rawQuery: string): SigV4Presigned | undefined {
  // Cheap pre-check: most requests carry no auth parameters at all. ('%' because a name could be
  // percent-encoded, e.g. `X%2DAmz-Signature`, and canonicalizeQuery decodes names too.)
  if (rawQuery === '' || (!rawQuery.includes('X-Amz-') && !rawQuery.includes('AWSAccessKeyId') && !rawQuery.includes('%'))) {
    return undefined;
  }
  const found = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeUriComponentStrict(eq === -1 ? part : part.slice(0, eq));
    if (!AUTH_PARAMS.has(name)) continue;
    if (found.has(name)) {
      throw s3Errors.authorizationQueryParametersError(`The query parameter ${name} must not be repeated.`);
    }
    found.set(name, decodeUriComponentStrict(eq === -1 ? '' : part.slice(eq + 1)));
  }
  return presignedOf(found);
}

/**
 * {@link parsePresignedQuery} for a query already split and decoded (the request record's
 * `query`, lib/context.ts): the same checks, without splitting the URL again.
 */
export function parsePresignedParams(params: readonly { readonly name: string; readonly value: string | undefined }[]): SigV4Presigned | undefined {
  let found: Map<string, string> | undefined;
  for (const p of params) {
    if (!AUTH_PARAMS.has(p.name)) continue;
    found ??= new Map();
    if (found.has(p.name)) throw s3Errors.authorizationQueryParametersError(`The query parameter ${p.name} must not be repeated.`);
    found.set(p.name, p.value ?? '');
  }
  return found === undefined ? undefined : presignedOf(found);
}

/** The presigned authorization from its decoded parameters. */
function presignedOf(found: ReadonlyMap<string, string>): SigV4Presigned | undefined {
  const algorithm = found.get('X-Amz-Algorithm');
  const credential = found.get('X-Amz-Credential');
  const signature = found.get('X-Amz-Signature');
  if (algorithm === undefined && credential === undefined && signature === undefined) {
    // SigV2 query auth: ?AWSAccessKeyId=…&Expires=…&Signature=…
    if (found.has('AWSAccessKeyId')) throw sigV2NotSupported();
    return undefined;
  }
  const amzDate = found.get('X-Amz-Date');
  const expires = found.get('X-Amz-Expires');
  const signedHeaders = found.get('X-Amz-SignedHeaders');
  if (algorithm === undefined || credential === undefined || signature === undefined || amzDate === undefined || expires === undefined || signedHeaders === undefined) {
    throw s3Errors.authorizationQueryParametersError(REQUIRED_MESSAGE);
  }
  // AWS answers a wrong X-Amz-Algorithm with AuthorizationQueryParametersError (not InvalidArgument).
  if (algorithm !== SIGV4_ALGORITHM) {
    throw s3Errors.authorizationQueryParametersError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  if (!isLowerHex64(signature)) {
    throw s3Errors.authorizationQueryParametersError('X-Amz-Signature must be 64 lowercase hexadecimal characters.');
  }
  const result: SigV4Presigned = {
    ...parseCredential(credential, 'query'),
    signedHeaders: parseSignedHeaders(signedHeaders, 'query'),
    signature,
    amzDate,
    expiresSeconds: parseExpires(expires),
  };
  const token = found.get('X-Amz-Security-Token');
  if (token !== undefined) result.securityToken = token;
  const contentSha = found.get('X-Amz-Content-Sha256');
  if (contentSha !== undefined) result.contentSha256 = contentSha;
  return result;
}

/** `X-Amz-Expires`: decimal digits only, 1..604800 (AWS's messages). */
function parseExpires(value: string): number {
  if (value === '' || value.length > 10 || !/^[0-9]+$/.test(value)) {
    if (value.startsWith('-')) throw s3Errors.authorizationQueryParametersError('X-Amz-Expires must be non-negative');
    throw s3Errors.authorizationQueryParametersError('X-Amz-Expires should be a number');
  }
  const n = Number(value);
  assertExpiresRange(n);
  return n;
}

/**
 * Throws 400 AuthorizationQueryParametersError unless `seconds` is an integer in 1..604800.
 * @internal also used by `checkPresignedValidity`.
 */
export function assertExpiresRange(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw s3Errors.authorizationQueryParametersError('X-Amz-Expires must be a positive number of seconds (1..604800).');
  }
  if (seconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw s3Errors.authorizationQueryParametersError('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
}
