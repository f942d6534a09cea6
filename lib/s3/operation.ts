/**
 * Derives the S3 API operation name (GetObject, PutObject, ListObjectsV2, …) from a request, so
 * that authorization callbacks can decide per operation. Names follow the S3 API reference:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */
import { RESPONSE_OVERRIDE_PARAMS } from '../constants';

/** Bucket sub-resources (query parameters without which the request means something else). */
const BUCKET_SUBRESOURCES: ReadonlyArray<[param: string, get: string, put?: string, del?: string, post?: string]> = [
  ['uploads', 'ListMultipartUploads'],
  ['versions', 'ListObjectVersions'],
  ['delete', '', '', '', 'DeleteObjects'],
  ['acl', 'GetBucketAcl', 'PutBucketAcl'],
  ['policy', 'GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy'],
  ['cors', 'GetBucketCors', 'PutBucketCors', 'DeleteBucketCors'],
  ['lifecycle', 'GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle'],
  ['versioning', 'GetBucketVersioning', 'PutBucketVersioning'],
  ['tagging', 'GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging'],
  ['encryption', 'GetBucketEncryption', 'PutBucketEncryption', 'DeleteBucketEncryption'],
  ['location', 'GetBucketLocation'],
  ['object-lock', 'GetObjectLockConfiguration', 'PutObjectLockConfiguration'],
  ['notification', 'GetBucketNotificationConfiguration', 'PutBucketNotificationConfiguration'],
  ['website', 'GetBucketWebsite', 'PutBucketWebsite', 'DeleteBucketWebsite'],
  ['logging', 'GetBucketLogging', 'PutBucketLogging'],
  ['replication', 'GetBucketReplication', 'PutBucketReplication', 'DeleteBucketReplication'],
  ['requestPayment', 'GetBucketRequestPayment', 'PutBucketRequestPayment'],
  ['ownershipControls', 'GetBucketOwnershipControls', 'PutBucketOwnershipControls', 'DeleteBucketOwnershipControls'],
  ['publicAccessBlock', 'GetPublicAccessBlock', 'PutPublicAccessBlock', 'DeletePublicAccessBlock'],
  ['accelerate', 'GetBucketAccelerateConfiguration', 'PutBucketAccelerateConfiguration'],
  ['policyStatus', 'GetBucketPolicyStatus'],
];

const OBJECT_SUBRESOURCES: ReadonlyArray<[param: string, get: string, put?: string, del?: string, post?: string]> = [
  ['tagging', 'GetObjectTagging', 'PutObjectTagging', 'DeleteObjectTagging'],
  ['acl', 'GetObjectAcl', 'PutObjectAcl'],
  ['retention', 'GetObjectRetention', 'PutObjectRetention'],
  ['legal-hold', 'GetObjectLegalHold', 'PutObjectLegalHold'],
  ['attributes', 'GetObjectAttributes'],
  ['restore', '', '', '', 'RestoreObject'],
  ['select', '', '', '', 'SelectObjectContent'],
];

/**
 * Parameters that select an operation (sub-resources). A request that carries one the method has
 * no operation for (e.g. `PUT /bucket?uploads`) is `Unknown`, never the plain operation.
 */
const OPERATION_PARAMS: ReadonlySet<string> = new Set([...BUCKET_SUBRESOURCES.map(([param]) => param), ...OBJECT_SUBRESOURCES.map(([param]) => param), 'uploadId']);

/**
 * Parameters that refine an operation without changing which one it is: listing and paging,
 * versions and parts, response header overrides, the SDKs' `x-id`, and the auth parameters of
 * presigned URLs (SigV4 and SigV2). Any other name makes the operation `Unknown`: a parameter the
 * proxy does not know may select something the backend does (`?torrent`, `?analytics`, a
 * vendor extension), and must never pass as a less privileged operation (issue [9]).
 */
const REFINING_PARAMS: ReadonlySet<string> = new Set([
  'prefix',
  'delimiter',
  'marker',
  'max-keys',
  'encoding-type',
  'list-type',
  'continuation-token',
  'fetch-owner',
  'start-after',
  'key-marker',
  'version-id-marker',
  'upload-id-marker',
  'max-uploads',
  'max-parts',
  'part-number-marker',
  'partNumber',
  'versionId',
  ...RESPONSE_OVERRIDE_PARAMS,
  'x-id',
  'AWSAccessKeyId',
  'Expires',
  'Signature',
]);

/**
 * `x-amz-*` query parameters are request headers in query form (presigned URLs carry
 * `x-amz-acl`, `x-amz-checksum-crc32`, … that way), signed with the URL. `x-amz-copy-source` is
 * refused in the query by the request parser: it would turn a PutObject into a copy.
 */
function isRefining(name: string): boolean {
  return REFINING_PARAMS.has(name) || name.toLowerCase().startsWith('x-amz-');
}

/** The first sub-resource present that names an operation for this method: [param, operation]. */
function pick(table: ReadonlyArray<[string, string, string?, string?, string?]>, params: ReadonlySet<string>, method: string): [param: string, operation: string] | undefined {
  for (const [param, get, put, del, post] of table) {
    if (!params.has(param)) continue;
    const name = method === 'GET' || method === 'HEAD' ? get : method === 'PUT' ? put : method === 'DELETE' ? del : method === 'POST' ? post : undefined;
    if (name) return [param, name];
  }
  return undefined;
}

/**
 * Whether every parameter is one the classification understands, and no operation-selecting
 * parameter other than `selected` is present. Otherwise the request is `Unknown`.
 */
function onlyKnownParams(params: ReadonlySet<string>, selected?: string): boolean {
  for (const name of params) {
    if (name === selected) continue;
    if (OPERATION_PARAMS.has(name) || !isRefining(name)) return false;
  }
  return true;
}

/**
 * Returns the S3 operation name for a request, or `'Unknown'` when it cannot be told.
 *
 * @param hasKey - the request addresses an object (a key follows the bucket).
 * @param headers - lowercase request headers (only `x-amz-copy-source` is read).
 */
export function deriveS3Operation(method: string, bucket: string | undefined, hasKey: boolean, params: ReadonlySet<string>, headers: Readonly<Record<string, unknown>>): string {
  const m = method.toUpperCase();
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (bucket === undefined) return m === 'GET' && onlyKnownParams(params) ? 'ListBuckets' : 'Unknown';
  if (!hasKey) {
    const sub = pick(BUCKET_SUBRESOURCES, params, m);
    if (!onlyKnownParams(params, sub?.[0])) return 'Unknown';
    if (sub) return sub[1];
    switch (m) {
      case 'GET':
        return params.has('list-type') ? 'ListObjectsV2' : 'ListObjects';
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        return 'CreateBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'POST':
        return 'PostObject';
      default:
        return 'Unknown';
    }
  }
  if (params.has('uploadId')) {
    if (!onlyKnownParams(params, 'uploadId')) return 'Unknown';
    switch (m) {
      case 'PUT':
        return copy ? 'UploadPartCopy' : 'UploadPart';
      case 'POST':
        return 'CompleteMultipartUpload';
      case 'DELETE':
        return 'AbortMultipartUpload';
      case 'GET':
        return 'ListParts';
      default:
        return 'Unknown';
    }
  }
  if (m === 'POST' && params.has('uploads')) return onlyKnownParams(params, 'uploads') ? 'CreateMultipartUpload' : 'Unknown';
  const sub = pick(OBJECT_SUBRESOURCES, params, m);
  if (!onlyKnownParams(params, sub?.[0])) return 'Unknown';
  if (sub) return sub[1];
  switch (m) {
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      return copy ? 'CopyObject' : 'PutObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return 'Unknown';
  }
}
