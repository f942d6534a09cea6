/**
 * `x-amz-copy-source` (CopyObject, UploadPartCopy): `[/]bucket/key[?versionId=…]`, URL-encoded.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax
 */
import { OspError } from '../errors';
import { decodeUriComponentStrict } from '../sigv4/uri-encode';
import { checkKey } from './parse-request';

export interface CopySource {
  /** Decoded source bucket (client-facing name). */
  bucket: string;
  /** Source key, still URL-encoded as the client sent it. */
  rawKey: string;
  /** `?versionId=…` suffix as sent, or ''. */
  versionSuffix: string;
  /** The header value as the client sent it (trimmed). */
  raw: string;
  /** Whether the client wrote a leading `/`. */
  leadingSlash: boolean;
}

/** A copy source as the request record holds it: parsed, with the key decoded and checked. */
export interface ParsedCopySource extends CopySource {
  /** Decoded source key (checked as request keys are: length, dot segments). */
  key: string;
  /** Whether the source names a version (`?versionId=…`). */
  hasVersionId: boolean;
}

const invalidCopySource = () => new OspError(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', { ArgumentName: 'x-amz-copy-source' });

/** Parses an `x-amz-copy-source` value. */
export function parseCopySource(value: string): CopySource {
  const raw = value.trim();
  let v = raw;
  const leadingSlash = v.startsWith('/');
  const q = v.indexOf('?');
  const versionSuffix = q === -1 ? '' : v.slice(q);
  if (q !== -1) v = v.slice(0, q);
  if (v.startsWith('/')) v = v.slice(1);
  // Some clients encode the separating slash too.
  const decodedHead = v.indexOf('/') === -1 ? decodeUriComponentStrict(v) : v;
  const slash = decodedHead.indexOf('/');
  if (slash <= 0 || slash === decodedHead.length - 1) throw invalidCopySource();
  const bucket = decodeUriComponentStrict(decodedHead.slice(0, slash));
  if (bucket.includes('/')) throw invalidCopySource();
  return { bucket, rawKey: decodedHead.slice(slash + 1), versionSuffix, raw, leadingSlash };
}

/**
 * Parses `x-amz-copy-source` completely, once, for the request record: the source bucket, the
 * decoded key (checked like a request key, {@link checkKey}) and whether a version is named.
 *
 * @throws OspError 400 InvalidArgument / InvalidURI / KeyTooLongError.
 */
export function parseCopySourceHeader(value: string, allowDotSegments: boolean): ParsedCopySource {
  const source = parseCopySource(value);
  const key = decodeUriComponentStrict(source.rawKey);
  checkKey(key, allowDotSegments);
  return { ...source, key, hasVersionId: /^\?(.*&)?versionId=/.test(source.versionSuffix) };
}

/**
 * Renders the header for the backend, with the backend's bucket name. When that is the client's
 * bucket name, the client's value goes on unchanged (issue 10: backend bucket policies on
 * `s3:x-amz-copy-source` see what the client sent); otherwise the leading `/` is kept or left out
 * as the client wrote it.
 */
export function formatCopySource(backendBucket: string, source: CopySource): string {
  if (backendBucket === source.bucket) return source.raw;
  return `${source.leadingSlash ? '/' : ''}${encodeURIComponent(backendBucket)}/${source.rawKey}${source.versionSuffix}`;
}
