/**
 * Derives the S3 API operation name (GetObject, PutObject, ListObjectsV2, …) from a request, so
 * that authorization callbacks can decide per operation. Names follow the S3 API reference:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */

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

function pick(
  table: ReadonlyArray<[string, string, string?, string?, string?]>,
  params: ReadonlySet<string>,
  method: string,
): string | undefined {
  for (const [param, get, put, del, post] of table) {
    if (!params.has(param)) continue;
    const name = method === 'GET' || method === 'HEAD' ? get : method === 'PUT' ? put : method === 'DELETE' ? del : method === 'POST' ? post : undefined;
    if (name) return name;
  }
  return undefined;
}

/** Names of the query parameters in a raw query string (undecoded names are fine: all we look for is ASCII). */
export function queryParamNames(rawQuery: string): Set<string> {
  const names = new Set<string>();
  if (!rawQuery) return names;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    names.add(eq === -1 ? part : part.slice(0, eq));
  }
  return names;
}

/**
 * Returns the S3 operation name for a request, or `'Unknown'` when it cannot be told.
 *
 * @param hasKey - the request addresses an object (a key follows the bucket).
 * @param headers - lowercase request headers (only `x-amz-copy-source` is read).
 */
export function deriveS3Operation(
  method: string,
  bucket: string | undefined,
  hasKey: boolean,
  params: ReadonlySet<string>,
  headers: Readonly<Record<string, unknown>>,
): string {
  const m = method.toUpperCase();
  if (bucket === undefined) return m === 'GET' ? 'ListBuckets' : 'Unknown';
  if (!hasKey) {
    const sub = pick(BUCKET_SUBRESOURCES, params, m);
    if (sub) return sub;
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
    switch (m) {
      case 'PUT':
        return headers['x-amz-copy-source'] !== undefined ? 'UploadPartCopy' : 'UploadPart';
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
  if (m === 'POST' && params.has('uploads')) return 'CreateMultipartUpload';
  const sub = pick(OBJECT_SUBRESOURCES, params, m);
  if (sub) return sub;
  switch (m) {
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      return headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return 'Unknown';
  }
}
