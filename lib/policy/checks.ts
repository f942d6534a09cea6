/**
 * Which (action, resource) pairs one request must be allowed, from the operation table.
 */
import { actionsOf } from './actions';
import { resourceArn, type PolicyCheck } from './evaluate';

/** The parts of a request that decide its checks (all decoded). */
export interface CheckedRequest {
  operation: string;
  bucket: string | undefined;
  /** Object key, undefined (or '') for bucket-level requests. */
  key: string | undefined;
  /** `?versionId=…` is present. */
  hasVersionId: boolean;
  /** CopyObject / UploadPartCopy: the source object. */
  copySource?: { bucket: string; key: string; hasVersionId: boolean };
  /** `x-amz-bypass-governance-retention` asks to bypass governance-mode Object Lock (see requestsGovernanceBypass). */
  bypassGovernanceRetention?: boolean;
  /** `x-amz-acl` or an `x-amz-grant-*` header sets the new object's ACL. */
  setsAcl?: boolean;
  /** `x-amz-tagging` sets the new object's tags. */
  setsTagging?: boolean;
}

/**
 * Operations that create an object and apply its ACL and tagging headers. S3 then also requires
 * `s3:PutObjectAcl` / `s3:PutObjectTagging` (PutObject API reference, "Permissions":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html).
 */
const OBJECT_CREATING: ReadonlySet<string> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']);

/**
 * S3 honours `x-amz-bypass-governance-retention` on these, and then also requires
 * `s3:BypassGovernanceRetention` on the object
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-bypass).
 * DeleteObjects is checked per key of its body, with {@link deleteObjectChecks}.
 */
const BYPASS_CHECKED: ReadonlySet<string> = new Set(['DeleteObject', 'PutObjectRetention']);
const BYPASS_ACTION = 's3:BypassGovernanceRetention';

/**
 * The checks of a request, all of which must be allowed. DeleteObjects gets none here: its keys
 * are in the body and are checked one by one with {@link deleteObjectCheck}.
 */
export function checksOf(r: CheckedRequest): PolicyCheck[] {
  if (r.bucket === undefined) return [{ action: r.operation === 'ListBuckets' ? 's3:ListAllMyBuckets' : null, resource: 'arn:aws:s3:::*' }];
  if (r.operation === 'DeleteObjects') return [];
  const resource = resourceArn(r.bucket, r.key || undefined);
  const actions = actionsOf(r.operation, r.hasVersionId);
  if (actions === undefined) return [{ action: null, resource }];
  const checks: PolicyCheck[] = actions.map((action) => ({ action, resource }));
  if (r.bypassGovernanceRetention && BYPASS_CHECKED.has(r.operation)) checks.push({ action: BYPASS_ACTION, resource });
  if (OBJECT_CREATING.has(r.operation)) {
    if (r.setsAcl) checks.push({ action: 's3:PutObjectAcl', resource });
    if (r.setsTagging) checks.push({ action: 's3:PutObjectTagging', resource });
  }
  if (r.copySource) {
    checks.push({ action: r.copySource.hasVersionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: resourceArn(r.copySource.bucket, r.copySource.key) });
  }
  return checks;
}

/** The check of one key of a DeleteObjects body. */
export function deleteObjectCheck(bucket: string, key: string, hasVersionId: boolean): PolicyCheck {
  return { action: hasVersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: resourceArn(bucket, key) };
}

/** The checks of one key of a DeleteObjects body: the delete, and the bypass when the request asks for it. */
export function deleteObjectChecks(bucket: string, key: string, hasVersionId: boolean, bypassGovernanceRetention: boolean): PolicyCheck[] {
  const check = deleteObjectCheck(bucket, key, hasVersionId);
  return bypassGovernanceRetention ? [check, { action: BYPASS_ACTION, resource: check.resource }] : [check];
}
