/**
 * Synchronous SigV4 header signing of the request the proxy sends upstream.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { formatAmzDate } from './amz-date';
import { buildCanonicalRequest, buildStringToSign, canonicalHeadersFromRecord } from './canonical-request';
import { getSigningKey, hmacHex } from './signing-key';

/** What {@link signRequest} needs. */
export interface SignRequestInput {
  method: string;
  /** Already canonical (e.g. from `canonicalizePath`), and identical to the path sent upstream. */
  canonicalUri: string;
  /** Already canonical (e.g. from `canonicalizeQuery`). */
  canonicalQuery: string;
  /** Lowercase names; must already contain `host` and `x-amz-content-sha256`. */
  headers: Record<string, string | string[] | number | undefined>;
  accessKeyId: string;
  secretKey: string;
  sessionToken?: string;
  region: string;
  /** Defaults to `s3`. */
  service?: string;
  now: Date;
}

/** Result of {@link signRequest}. */
export interface SignRequestResult {
  /** Value for the `Authorization` header. */
  authorization: string;
  /** Value the caller must send as `x-amz-date`. */
  amzDate: string;
  /** `;`-joined signed header names. */
  signedHeaders: string;
  /** Hex signature (also inside `authorization`). */
  signature: string;
}

/**
 * Signs an upstream request with SigV4 (Authorization header). Signs `host`, `content-md5`,
 * `content-type` and every `x-amz-*` header present, plus `x-amz-date` (always set to the returned
 * `amzDate`, overriding any value in `headers`) and `x-amz-security-token` when `sessionToken` is
 * given (overriding any value in `headers`). The caller must then send `x-amz-date: amzDate`,
 * `x-amz-security-token: sessionToken` (if any) and `authorization`; `headers` is not modified.
 * Other headers (user-agent, content-length, transfer-encoding, …) stay unsigned so hop-by-hop
 * changes cannot break the signature.
 *
 * @throws Error when `headers` lacks `host` or `x-amz-content-sha256` (a programming error).
 */
export function signRequest(input: SignRequestInput): SignRequestResult {
  const { headers } = input;
  const payloadHash = headers['x-amz-content-sha256'];
  if (typeof payloadHash !== 'string' || payloadHash === '') {
    throw new Error('signRequest: headers must contain x-amz-content-sha256');
  }
  if (headers['host'] === undefined) throw new Error('signRequest: headers must contain host');
  const service = input.service ?? 's3';
  const amzDate = formatAmzDate(input.now);
  const date = amzDate.slice(0, 8);

  const values: Record<string, string | string[] | number | undefined> = {};
  const names: string[] = [];
  for (const name of Object.keys(headers)) {
    if (headers[name] === undefined) continue;
    if (name === 'host' || name === 'content-md5' || name === 'content-type' || name.startsWith('x-amz-')) {
      if (name === 'x-amz-date' || (name === 'x-amz-security-token' && input.sessionToken !== undefined)) continue;
      names.push(name);
      values[name] = headers[name];
    }
  }
  names.push('x-amz-date');
  values['x-amz-date'] = amzDate;
  if (input.sessionToken !== undefined) {
    names.push('x-amz-security-token');
    values['x-amz-security-token'] = input.sessionToken;
  }
  names.sort();

  const signedHeaders = names.join(';');
  const canonicalRequest = buildCanonicalRequest(input.method, input.canonicalUri, input.canonicalQuery, canonicalHeadersFromRecord(values, names), signedHeaders, payloadHash);
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const signature = hmacHex(getSigningKey(input.secretKey, date, input.region, service), buildStringToSign(amzDate, scope, canonicalRequest));
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    amzDate,
    signedHeaders,
    signature,
  };
}
