/**
 * The IAM actions of Amazon S3 the proxy knows, and which of them each S3 operation needs.
 * Names from the Service Authorization Reference:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * and the per-operation permissions of the S3 API reference.
 */

/** Every S3 action name a policy may mention (case-insensitive, as IAM compares them). */
export const S3_ACTIONS: readonly string[] = [
  'AbortMultipartUpload',
  'BypassGovernanceRetention',
  'CreateBucket',
  'DeleteBucket',
  'DeleteBucketPolicy',
  'DeleteBucketWebsite',
  'DeleteObject',
  'DeleteObjectTagging',
  'DeleteObjectVersion',
  'DeleteObjectVersionTagging',
  'GetAccelerateConfiguration',
  'GetBucketAcl',
  'GetBucketCORS',
  'GetBucketLocation',
  'GetBucketLogging',
  'GetBucketNotification',
  'GetBucketObjectLockConfiguration',
  'GetBucketOwnershipControls',
  'GetBucketPolicy',
  'GetBucketPolicyStatus',
  'GetBucketPublicAccessBlock',
  'GetBucketRequestPayment',
  'GetBucketTagging',
  'GetBucketVersioning',
  'GetBucketWebsite',
  'GetEncryptionConfiguration',
  'GetLifecycleConfiguration',
  'GetObject',
  'GetObjectAcl',
  'GetObjectAttributes',
  'GetObjectLegalHold',
  'GetObjectRetention',
  'GetObjectTagging',
  'GetObjectVersion',
  'GetObjectVersionAcl',
  'GetObjectVersionAttributes',
  'GetObjectVersionTagging',
  'GetReplicationConfiguration',
  'ListAllMyBuckets',
  'ListBucket',
  'ListBucketMultipartUploads',
  'ListBucketVersions',
  'ListMultipartUploadParts',
  'PutAccelerateConfiguration',
  'PutBucketAcl',
  'PutBucketCORS',
  'PutBucketLogging',
  'PutBucketNotification',
  'PutBucketObjectLockConfiguration',
  'PutBucketOwnershipControls',
  'PutBucketPolicy',
  'PutBucketPublicAccessBlock',
  'PutBucketRequestPayment',
  'PutBucketTagging',
  'PutBucketVersioning',
  'PutBucketWebsite',
  'PutEncryptionConfiguration',
  'PutLifecycleConfiguration',
  'PutObject',
  'PutObjectAcl',
  'PutObjectLegalHold',
  'PutObjectRetention',
  'PutObjectTagging',
  'PutObjectVersionAcl',
  'PutObjectVersionTagging',
  'PutReplicationConfiguration',
  'RestoreObject',
].map((name) => `s3:${name}`);

/** What one S3 operation needs: actions on the request's resource (all must be allowed). */
export interface OperationActions {
  /** Actions checked on the request's bucket or object. */
  readonly actions: readonly string[];
  /** With `?versionId=…`, these replace `actions` (AWS checks the `…Version` action then). */
  readonly versionActions?: readonly string[];
}

const a = (actions: string | string[], versionActions?: string | string[]): OperationActions => ({
  actions: (Array.isArray(actions) ? actions : [actions]).map((x) => `s3:${x}`),
  versionActions: versionActions === undefined ? undefined : (Array.isArray(versionActions) ? versionActions : [versionActions]).map((x) => `s3:${x}`),
});

/**
 * Operation (as `deriveS3Operation` names it) → IAM actions. The source of a copy
 * (CopyObject, UploadPartCopy) also needs `s3:GetObject` (`s3:GetObjectVersion` with a
 * `versionId` in `x-amz-copy-source`) on the source object; DeleteObjects needs `s3:DeleteObject`
 * (`s3:DeleteObjectVersion` with a `VersionId`) on each key of its body. Operations missing here
 * (`Unknown`, and `PostObject`, whose key is in the form body) are allowed only by a statement
 * whose Action is `*` or `s3:*`, and denied by any Deny statement that matches the resource.
 */
export const OPERATION_ACTIONS: Readonly<Record<string, OperationActions>> = {
  ListBuckets: a('ListAllMyBuckets'),
  // Bucket level
  ListObjects: a('ListBucket'),
  ListObjectsV2: a('ListBucket'),
  HeadBucket: a('ListBucket'),
  ListObjectVersions: a('ListBucketVersions'),
  ListMultipartUploads: a('ListBucketMultipartUploads'),
  CreateBucket: a('CreateBucket'),
  DeleteBucket: a('DeleteBucket'),
  DeleteObjects: a('DeleteObject', 'DeleteObjectVersion'),
  GetBucketAcl: a('GetBucketAcl'),
  PutBucketAcl: a('PutBucketAcl'),
  GetBucketPolicy: a('GetBucketPolicy'),
  PutBucketPolicy: a('PutBucketPolicy'),
  DeleteBucketPolicy: a('DeleteBucketPolicy'),
  GetBucketCors: a('GetBucketCORS'),
  PutBucketCors: a('PutBucketCORS'),
  DeleteBucketCors: a('PutBucketCORS'),
  GetBucketLifecycleConfiguration: a('GetLifecycleConfiguration'),
  PutBucketLifecycleConfiguration: a('PutLifecycleConfiguration'),
  DeleteBucketLifecycle: a('PutLifecycleConfiguration'),
  GetBucketVersioning: a('GetBucketVersioning'),
  PutBucketVersioning: a('PutBucketVersioning'),
  GetBucketTagging: a('GetBucketTagging'),
  PutBucketTagging: a('PutBucketTagging'),
  DeleteBucketTagging: a('PutBucketTagging'),
  GetBucketEncryption: a('GetEncryptionConfiguration'),
  PutBucketEncryption: a('PutEncryptionConfiguration'),
  DeleteBucketEncryption: a('PutEncryptionConfiguration'),
  GetBucketLocation: a('GetBucketLocation'),
  GetObjectLockConfiguration: a('GetBucketObjectLockConfiguration'),
  PutObjectLockConfiguration: a('PutBucketObjectLockConfiguration'),
  GetBucketNotificationConfiguration: a('GetBucketNotification'),
  PutBucketNotificationConfiguration: a('PutBucketNotification'),
  GetBucketWebsite: a('GetBucketWebsite'),
  PutBucketWebsite: a('PutBucketWebsite'),
  DeleteBucketWebsite: a('DeleteBucketWebsite'),
  GetBucketLogging: a('GetBucketLogging'),
  PutBucketLogging: a('PutBucketLogging'),
  GetBucketReplication: a('GetReplicationConfiguration'),
  PutBucketReplication: a('PutReplicationConfiguration'),
  DeleteBucketReplication: a('PutReplicationConfiguration'),
  GetBucketRequestPayment: a('GetBucketRequestPayment'),
  PutBucketRequestPayment: a('PutBucketRequestPayment'),
  GetBucketOwnershipControls: a('GetBucketOwnershipControls'),
  PutBucketOwnershipControls: a('PutBucketOwnershipControls'),
  DeleteBucketOwnershipControls: a('PutBucketOwnershipControls'),
  GetPublicAccessBlock: a('GetBucketPublicAccessBlock'),
  PutPublicAccessBlock: a('PutBucketPublicAccessBlock'),
  DeletePublicAccessBlock: a('PutBucketPublicAccessBlock'),
  GetBucketAccelerateConfiguration: a('GetAccelerateConfiguration'),
  PutBucketAccelerateConfiguration: a('PutAccelerateConfiguration'),
  GetBucketPolicyStatus: a('GetBucketPolicyStatus'),
  // Object level
  GetObject: a('GetObject', 'GetObjectVersion'),
  HeadObject: a('GetObject', 'GetObjectVersion'),
  PutObject: a('PutObject'),
  CopyObject: a('PutObject'),
  DeleteObject: a('DeleteObject', 'DeleteObjectVersion'),
  GetObjectTagging: a('GetObjectTagging', 'GetObjectVersionTagging'),
  PutObjectTagging: a('PutObjectTagging', 'PutObjectVersionTagging'),
  DeleteObjectTagging: a('DeleteObjectTagging', 'DeleteObjectVersionTagging'),
  GetObjectAcl: a('GetObjectAcl', 'GetObjectVersionAcl'),
  PutObjectAcl: a('PutObjectAcl', 'PutObjectVersionAcl'),
  GetObjectRetention: a('GetObjectRetention'),
  PutObjectRetention: a('PutObjectRetention'),
  GetObjectLegalHold: a('GetObjectLegalHold'),
  PutObjectLegalHold: a('PutObjectLegalHold'),
  GetObjectAttributes: a(['GetObject', 'GetObjectAttributes'], ['GetObjectVersion', 'GetObjectVersionAttributes']),
  RestoreObject: a('RestoreObject'),
  SelectObjectContent: a('GetObject'),
  CreateMultipartUpload: a('PutObject'),
  UploadPart: a('PutObject'),
  UploadPartCopy: a('PutObject'),
  CompleteMultipartUpload: a('PutObject'),
  AbortMultipartUpload: a('AbortMultipartUpload'),
  ListParts: a('ListMultipartUploadParts'),
};

/** The actions an operation needs on its own resource, or undefined for `Unknown`-like operations. */
export function actionsOf(operation: string, hasVersionId: boolean): readonly string[] | undefined {
  const entry = Object.prototype.hasOwnProperty.call(OPERATION_ACTIONS, operation) ? OPERATION_ACTIONS[operation] : undefined;
  if (!entry) return undefined;
  return hasVersionId && entry.versionActions ? entry.versionActions : entry.actions;
}
