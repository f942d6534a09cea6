/**
 * Parsing of SigV2 credentials: the `Authorization: AWS <AccessKeyId>:<Signature>` header and the
 * presigned query `?AWSAccessKeyId=…&Expires=…&Signature=…`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { OspError, s3Errors } from '../errors';
import { decodeUriComponentStrict } from '../sigv4/uri-encode';

/** A parsed SigV2 header authorization. */
export interface SigV2Authorization {
  accessKeyId: string;
  /** Base64 HMAC-SHA1, as sent. */
  signature: string;
}

/** A parsed SigV2 presigned query. */
export interface SigV2Presigned extends SigV2Authorization {
  /** `Expires` as written (decoded): it goes into the string to sign in place of the date. */
  expires: string;
  /** `Expires` as epoch seconds. */
  expiresAtSeconds: number;
}

/**
 * Parses `AWS <AccessKeyId>:<Signature>`.
 *
 * @throws OspError 400 InvalidArgument when the header does not have that shape.
 */
export function parseSigV2Authorization(value: string): SigV2Authorization {
  const m = /^AWS[ \t]+([^:\s]+):([^\s]+)[ \t]*$/.exec(value.trim());
  if (m === null) {
    throw new OspError(400, 'InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature', {
      ArgumentName: 'Authorization',
    });
  }
  return { accessKeyId: m[1] as string, signature: m[2] as string };
}

const V2_PARAMS = new Set(['AWSAccessKeyId', 'Signature', 'Expires']);

/**
 * Parses the SigV2 parameters of a query string.
 *
 * @param rawQuery - the query string without `?`, still percent-encoded.
 * @returns `undefined` when `AWSAccessKeyId` is absent (not a SigV2 presigned URL).
 * @throws OspError 403 AccessDenied when `Signature` or `Expires` is missing, repeated or
 *   `Expires` is not a number (S3's answer); 400 InvalidURI on bad percent-encoding.
 */
export function parseSigV2Presigned(rawQuery: string): SigV2Presigned | undefined {
  if (!rawQuery.includes('AWSAccessKeyId')) return undefined;
  const found = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (!V2_PARAMS.has(name)) continue;
    if (found.has(name)) throw s3Errors.accessDenied(`Query-string authentication parameter ${name} must not be repeated.`);
    found.set(name, decodeUriComponentStrict(eq === -1 ? '' : part.slice(eq + 1)));
  }
  const accessKeyId = found.get('AWSAccessKeyId');
  if (accessKeyId === undefined) return undefined;
  const signature = found.get('Signature');
  const expires = found.get('Expires');
  if (!accessKeyId || !signature || expires === undefined) {
    throw s3Errors.accessDenied('Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  }
  if (!/^[0-9]{1,12}$/.test(expires)) throw s3Errors.accessDenied(`Invalid date (should be seconds since epoch): ${expires.slice(0, 40)}`);
  return { accessKeyId, signature, expires, expiresAtSeconds: Number(expires) };
}
