/**
 * Parsing of the SigV4 `Authorization` header.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 */
import { OspError, s3Errors } from '../errors';

/** The signing algorithm this proxy supports (SigV4a `AWS4-ECDSA-P256-SHA256` is not). */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** Message for SigV2 requests, naming the fix. */
export const SIGV2_NOT_SUPPORTED_MESSAGE = 'SigV2 is not supported; sign with SigV4, e.g. aws configure set default.s3.signature_version s3v4';

/** Credential scope `date/region/service/terminator` of a SigV4 signature. */
export interface SigV4Scope {
  /** `YYYYMMDD`. */
  date: string;
  region: string;
  /** `s3` for S3. */
  service: string;
  /** Always `aws4_request` when valid. */
  terminator: string;
}

/** A parsed SigV4 authorization (header form; the presigned form extends it). */
export interface SigV4Authorization {
  accessKeyId: string;
  scope: SigV4Scope;
  /** `date/region/service/aws4_request`, as it goes into the string to sign. */
  scopeString: string;
  /** Lowercase header names, in the order the client listed them (sorted by conforming signers). */
  signedHeaders: readonly string[];
  /** 64 lowercase hex characters. */
  signature: string;
}

type Kind = 'header' | 'query';

function malformed(kind: Kind, message: string): OspError {
  return kind === 'header' ? s3Errors.authorizationHeaderMalformed(message) : s3Errors.authorizationQueryParametersError(message);
}

/**
 * True for a SigV2 `Authorization: AWS <AccessKeyId>:<Signature>` header.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
export function isSigV2Authorization(header: string): boolean {
  return header.startsWith('AWS ') && header.indexOf(':', 4) > 4;
}

/** The OspError for SigV2 requests (400 InvalidRequest naming the fix). */
export function sigV2NotSupported(): OspError {
  return new OspError(400, 'InvalidRequest', SIGV2_NOT_SUPPORTED_MESSAGE);
}

/** True when `s` is exactly 64 lowercase hex characters. */
export function isLowerHex64(s: string): boolean {
  if (s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * Parses `<AKID>/<date>/<region>/<service>/<terminator>`. The values of the scope are checked
 * later by `checkScope` (they need the request date); here only the shape is checked.
 * @internal shared with the presigned-query parser.
 */
export function parseCredential(credential: string, kind: Kind): Pick<SigV4Authorization, 'accessKeyId' | 'scope' | 'scopeString'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw malformed(
      kind,
      kind === 'header'
        ? 'The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        : 'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return {
    accessKeyId,
    scope: { date, region, service, terminator },
    scopeString: credential.slice(accessKeyId.length + 1),
  };
}

/**
 * Parses `SignedHeaders`: lowercase names separated by `;`, must include `host`.
 * @internal shared with the presigned-query parser.
 */
export function parseSignedHeaders(value: string, kind: Kind): string[] {
  const names = value.split(';');
  // One scan of the whole value instead of a lowercase copy per name (hot path).
  const badChar = /[A-Z\s]/.test(value);
  for (const name of names) {
    if (name === '' || badChar) {
      throw malformed(
        kind,
        kind === 'header'
          ? 'The authorization header is malformed; SignedHeaders must be a non-empty list of lowercase header names separated by ";".'
          : 'X-Amz-SignedHeaders must be a non-empty list of lowercase header names separated by ";".',
      );
    }
  }
  // HTTP/2 clients may sign the `:authority` pseudo-header, which carries the host.
  if (!names.includes('host') && !names.includes(':authority')) {
    throw malformed(kind, kind === 'header' ? "The authorization header is malformed; the 'host' header must be signed (listed in SignedHeaders)." : "X-Amz-SignedHeaders must include 'host'.");
  }
  return names;
}

/** The exact form every SDK sends; anything else takes the general parser below. */
const COMMON_FORM = /^AWS4-HMAC-SHA256 Credential=([^,\s=]+), ?SignedHeaders=([^,\s=]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Parses a SigV4 `Authorization` header:
 * `AWS4-HMAC-SHA256 Credential=AKID/20240131/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>`.
 * Like AWS, whitespace around the components and after commas is optional and the components may
 * come in any order.
 *
 * @throws OspError 400 InvalidRequest for SigV2 (`AWS AKID:sig`), 400 InvalidArgument for another
 *   algorithm, 400 AuthorizationHeaderMalformed for a malformed header.
 */
export function parseAuthorizationHeader(value: string): SigV4Authorization {
  const common = COMMON_FORM.exec(value);
  if (common !== null) {
    return {
      ...parseCredential(common[1] as string, 'header'),
      signedHeaders: parseSignedHeaders(common[2] as string, 'header'),
      signature: common[3] as string,
    };
  }
  const v = value.trim();
  const sp = v.search(/[ \t]/);
  const algorithm = sp === -1 ? v : v.slice(0, sp);
  if (algorithm !== SIGV4_ALGORITHM) {
    if (algorithm === 'AWS' && isSigV2Authorization(v)) throw sigV2NotSupported();
    // AWS answers unknown schemes (Bearer, Basic, SigV4a…) with InvalidArgument.
    throw new OspError(400, 'InvalidArgument', 'Unsupported Authorization Type', {
      ArgumentName: 'Authorization',
    });
  }
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  for (const rawPart of (sp === -1 ? '' : v.slice(sp)).split(',')) {
    const part = rawPart.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq).trim();
    const val = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (eq === -1) {
      throw s3Errors.authorizationHeaderMalformed(`The authorization header is malformed; the authorization component "${key.slice(0, 40)}" is malformed.`);
    }
    if (key === 'Credential' && credential === undefined) credential = val;
    else if (key === 'SignedHeaders' && signedHeaders === undefined) signedHeaders = val;
    else if (key === 'Signature' && signature === undefined) signature = val;
    else {
      throw s3Errors.authorizationHeaderMalformed(`The authorization header is malformed; unexpected or repeated component "${key.slice(0, 40)}".`);
    }
  }
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    const missing = [credential === undefined ? 'Credential' : '', signedHeaders === undefined ? 'SignedHeaders' : '', signature === undefined ? 'Signature' : ''].filter(Boolean);
    throw s3Errors.authorizationHeaderMalformed(`The authorization header is malformed; missing ${missing.join(', ')}. Expected "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".`);
  }
  if (!isLowerHex64(signature)) {
    throw s3Errors.authorizationHeaderMalformed('The authorization header is malformed; the Signature must be 64 lowercase hexadecimal characters.');
  }
  return {
    ...parseCredential(credential, 'header'),
    signedHeaders: parseSignedHeaders(signedHeaders, 'header'),
    signature,
  };
}
