/**
 * Signatures of POST policies. Pure.
 *
 * - SigV4: `x-amz-signature` = hex HMAC-SHA256 of the base64 `policy`, keyed with the SigV4 signing
 *   key of the `x-amz-credential` scope.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
 * - SigV2: `signature` = base64 HMAC-SHA1 of the base64 `policy`, keyed with the secret.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OspError } from '../../errors';
import { getSigningKey, hmacHex } from '../../sigv4/signing-key';
import { SIGV4_ALGORITHM } from '../../sigv4/parse-authorization';

/** The credentials a POST form carries. */
export type PostCredentials =
  { version: 4; accessKeyId: string; date: string; region: string; amzDate: string; signature: string; policy: string } | { version: 2; accessKeyId: string; signature: string; policy: string };

function invalidArgument(message: string, name: string, value?: string): OspError {
  return new OspError(400, 'InvalidArgument', message, { ArgumentName: name, ...(value !== undefined ? { ArgumentValue: value.slice(0, 200) } : {}) });
}

/**
 * Reads the credentials from the form fields (lowercase names). Returns undefined for an
 * unsigned form (no policy, no signature): an anonymous upload.
 *
 * @throws OspError 400 InvalidArgument for an incomplete or malformed set of fields.
 */
export function parsePostCredentials(fields: ReadonlyMap<string, string>): PostCredentials | undefined {
  const policy = fields.get('policy');
  const v4Signature = fields.get('x-amz-signature');
  const v2Signature = fields.get('signature');
  if (policy === undefined && v4Signature === undefined && v2Signature === undefined) return undefined;
  if (policy === undefined) throw invalidArgument("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.", 'policy');
  if (v4Signature !== undefined || fields.has('x-amz-credential') || fields.has('x-amz-algorithm')) {
    const algorithm = fields.get('x-amz-algorithm');
    if (algorithm !== SIGV4_ALGORITHM) throw invalidArgument(`Bucket POST must contain a field named 'x-amz-algorithm' with the value ${SIGV4_ALGORITHM}.`, 'x-amz-algorithm', algorithm);
    const credential = fields.get('x-amz-credential');
    if (credential === undefined) throw invalidArgument("Bucket POST must contain a field named 'x-amz-credential'.", 'x-amz-credential');
    const amzDate = fields.get('x-amz-date');
    if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw invalidArgument("Bucket POST must contain a field named 'x-amz-date' (YYYYMMDDTHHMMSSZ).", 'x-amz-date', amzDate);
    if (v4Signature === undefined) throw invalidArgument("Bucket POST must contain a field named 'x-amz-signature'.", 'x-amz-signature');
    const parts = credential.split('/');
    const [accessKeyId, date, region, service, terminator] = parts;
    if (parts.length !== 5 || !accessKeyId || !date || !region || service !== 's3' || terminator !== 'aws4_request' || date !== amzDate.slice(0, 8)) {
      throw invalidArgument('x-amz-credential must be ACCESSKEY/YYYYMMDD/REGION/s3/aws4_request, with the date of x-amz-date.', 'x-amz-credential', credential);
    }
    return { version: 4, accessKeyId, date, region, amzDate, signature: v4Signature, policy };
  }
  const accessKeyId = fields.get('awsaccesskeyid');
  if (!accessKeyId) throw invalidArgument("Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please check the order of the fields.", 'AWSAccessKeyId');
  if (v2Signature === undefined) throw invalidArgument("Bucket POST must contain a field named 'signature'.  If it is specified, please check the order of the fields.", 'signature');
  return { version: 2, accessKeyId, signature: v2Signature, policy };
}

/** The signature the form should carry, given the secret of its access key. */
export function expectedPostSignature(c: PostCredentials, secretKey: string): string {
  if (c.version === 4) return hmacHex(getSigningKey(secretKey, c.date, c.region, 's3'), c.policy);
  return createHmac('sha1', secretKey).update(c.policy, 'utf8').digest('base64');
}

/** Constant-time check of the form's signature. */
export function verifyPostSignature(c: PostCredentials, secretKey: string): boolean {
  const expected = Buffer.from(expectedPostSignature(c, secretKey), 'utf8');
  const given = Buffer.from(c.version === 4 ? c.signature.toLowerCase() : c.signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
