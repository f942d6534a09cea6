/**
 * Errors raised by the proxy.
 *
 * - {@link OspError}: a per-request failure that the S3 error handler renders as S3 XML with the
 *   given HTTP status and S3 error code.
 * - {@link OspConfigError}: a bad option, thrown when the middleware is created.
 */

/** S3 error codes the proxy itself produces (backend errors pass through untouched). */
export type S3ErrorCode =
  | 'AccessDenied'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'BadDigest'
  | 'EntityTooLarge'
  | 'EntityTooSmall'
  | 'IncompleteBody'
  | 'InternalError'
  | 'InvalidAccessKeyId'
  | 'InvalidArgument'
  | 'InvalidDigest'
  | 'InvalidPolicyDocument'
  | 'InvalidRequest'
  | 'InvalidURI'
  | 'KeyTooLongError'
  | 'MalformedPOSTRequest'
  | 'MalformedXML'
  | 'MaxPostPreDataLengthExceeded'
  | 'MissingSecurityHeader'
  | 'NoSuchBucket'
  | 'NotImplemented'
  | 'RequestTimeTooSkewed'
  | 'ServiceUnavailable'
  | 'SignatureDoesNotMatch'
  | 'SlowDown'
  | 'XAmzContentSHA256Mismatch'
  | 'BackendUnreachable'
  | 'BackendTimeout'
  | 'TokenServiceUnavailable';

/** A request failure carrying the HTTP status and S3 error code to answer with. */
export class OspError extends Error {
  override readonly name = 'OspError';
  /** HTTP status code of the S3 error response. */
  readonly status: number;
  /** S3 error code (`<Code>` in the XML body). */
  readonly s3Code: S3ErrorCode;
  /**
   * Extra elements for the XML body (e.g. `RequestTime`, `ServerTime` for RequestTimeTooSkewed).
   * Values are text; they are XML-escaped when rendered. Never put secrets here.
   */
  readonly details: Readonly<Record<string, string>>;

  constructor(status: number, s3Code: S3ErrorCode, message: string, details: Record<string, string> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.s3Code = s3Code;
    this.details = details;
  }
}

/** Shorthands for the errors raised most often. */
export const s3Errors = {
  accessDenied: (message = 'Access Denied') => new OspError(403, 'AccessDenied', message),
  signatureDoesNotMatch: () => new OspError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'),
  invalidAccessKeyId: () => new OspError(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'),
  authorizationHeaderMalformed: (message: string) => new OspError(400, 'AuthorizationHeaderMalformed', message),
  authorizationQueryParametersError: (message: string) => new OspError(400, 'AuthorizationQueryParametersError', message),
  noSuchBucket: (bucket: string) => new OspError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket }),
  invalidUri: (message = 'Could not parse the specified URI.') => new OspError(400, 'InvalidURI', message),
  internal: (cause?: unknown) => new OspError(500, 'InternalError', 'We encountered an internal error. Please try again.', {}, { cause }),
} as const;

/** Stable codes of configuration errors, for programmatic checks. */
export type OspConfigErrorCode = 'ERR_OSP_INVALID_OPTION' | 'ERR_OSP_UNKNOWN_OPTION' | 'ERR_OSP_MISSING_OPTION' | 'ERR_OSP_FACTORY_NOT_CALLED' | 'ERR_OSP_HOOKS_ARGUMENT';

/**
 * A bad option given to a factory. The message names the option, the rule it breaks and shows a
 * correct example, e.g. `buckets.photos.port: must be an integer 1..65535, e.g. { port: 443 }`.
 */
export class OspConfigError extends Error {
  override readonly name = 'OspConfigError';
  readonly code: OspConfigErrorCode;
  /** Dotted path of the offending option, e.g. `buckets.photos.port`. */
  readonly option: string;

  constructor(code: OspConfigErrorCode, option: string, rule: string, example?: string) {
    super(`${code} ${option}: ${rule}${example ? ` (example: ${example})` : ''}`);
    this.code = code;
    this.option = option;
  }
}
