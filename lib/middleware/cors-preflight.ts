/**
 * CORS preflights: browsers send `OPTIONS` with `Origin` and `Access-Control-Request-Method` and
 * never sign them, so the proxy forwards them to the bucket's backend unsigned and the bucket's own
 * CORS configuration answers (allowed: 200 with `Access-Control-Allow-*`; refused: 403).
 *
 * A preflight for a presigned URL is sent to that URL, its signature query included (Chromium,
 * Firefox): it is a preflight all the same, and the URL's auth parameters are not forwarded.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
 * @see https://fetch.spec.whatwg.org/#cors-preflight-fetch
 */
import type { Request } from 'express';
import { OspError } from '../errors';
import { firstHeader } from '../s3/headers';

/**
 * True for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method` and no
 * `Authorization` header, whatever its query holds (a preflight is never signed: the Fetch
 * standard sends it without credentials, to the URL of the actual request). An `OPTIONS` signed
 * in its `Authorization` header is verified like any request.
 */
export function isCorsPreflight(req: Request): boolean {
  return (
    req.method === 'OPTIONS' &&
    firstHeader(req.headers, 'origin') !== undefined &&
    firstHeader(req.headers, 'access-control-request-method') !== undefined &&
    firstHeader(req.headers, 'authorization') === undefined
  );
}

/**
 * An `OPTIONS` on a bucket or object without `Origin` or `Access-Control-Request-Method` is no
 * preflight and no S3 operation: S3 and Ceph RGW answer 400 whether it is signed or not (RGW:
 * `InvalidArgument`; AWS: "Insufficient information. Origin request header needed."). Returns
 * that error, or undefined for any other request.
 */
export function incompletePreflight(req: Request, bucket: string | undefined): OspError | undefined {
  if (req.method !== 'OPTIONS' || bucket === undefined) return undefined;
  if (firstHeader(req.headers, 'origin') === undefined) return new OspError(400, 'InvalidArgument', 'Insufficient information. Origin request header needed.');
  if (firstHeader(req.headers, 'access-control-request-method') === undefined) {
    return new OspError(400, 'InvalidArgument', 'Insufficient information. Access-Control-Request-Method request header needed.');
  }
  return undefined;
}
