/**
 * CORS preflights: browsers send `OPTIONS` with `Origin` and `Access-Control-Request-Method` and
 * never sign them, so the proxy forwards them to the bucket's backend unsigned and the bucket's own
 * CORS configuration answers (allowed: 200 with `Access-Control-Allow-*`; refused: 403).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
 */
import type { Request } from 'express';
import { firstHeader } from '../s3/headers';

/**
 * True for an unsigned CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`,
 * and neither an `Authorization` header nor query-string credentials (a signed `OPTIONS` is
 * verified like any request).
 */
export function isCorsPreflight(req: Request, rawQuery: string): boolean {
  return (
    req.method === 'OPTIONS' &&
    firstHeader(req.headers, 'origin') !== undefined &&
    firstHeader(req.headers, 'access-control-request-method') !== undefined &&
    firstHeader(req.headers, 'authorization') === undefined &&
    !/(?:^|&)(?:X-Amz-Signature|X-Amz-Credential|AWSAccessKeyId|Signature)=/i.test(rawQuery)
  );
}
