/**
 * Policy evaluation as IAM does it for identity-based policies
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny in any statement wins; otherwise an Allow; otherwise the request is implicitly
 * denied. A statement applies when its action, its resource and every condition match.
 */
import type { CompiledPolicy, CompiledStatement } from './compile';
import type { ConditionKeys } from './keys';
import { canMatchWithPrefix, coversPrefix } from './wildcard';
import { S3_ACTIONS } from './actions';

/** Actions on a bucket or its objects: all but the service-level s3:ListAllMyBuckets. */
const BUCKET_ACTIONS = S3_ACTIONS.filter((x) => x !== 's3:ListAllMyBuckets');

/** Whether the statement's Action / NotAction names some action on a bucket or its objects. */
function namesBucketAction(s: CompiledStatement): boolean {
  return BUCKET_ACTIONS.some((x) => actionApplies(s, x));
}

/** The outcome of one check. */
export type PolicyDecision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** One action on one resource. `action: null` is an operation the proxy cannot classify. */
export interface PolicyCheck {
  /** `s3:GetObject`, …, or null for `Unknown` operations. */
  readonly action: string | null;
  /** `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key` or `arn:aws:s3:::*` (ListBuckets). */
  readonly resource: string;
}

/** The ARN of a bucket, or of an object when `key` is given. */
export function resourceArn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/**
 * Whether the statement's Action covers the check's action. An unclassified operation (null) is
 * covered by an Allow only through `*` / `s3:*`, and by every Deny (it could be anything: fail closed).
 */
function actionApplies(s: CompiledStatement, action: string | null): boolean {
  if (action === null) {
    if (s.effect === 'Deny') return true;
    return !s.notAction && s.actionPatterns.some((p) => p === '*' || p === 's3:*');
  }
  const listed = s.actionMatchers.some((m) => m(action));
  return s.notAction ? !listed : listed;
}

function resourceApplies(s: CompiledStatement, resource: string, keys: ConditionKeys): boolean {
  const listed = s.resources.some((r) => r.matches(resource, keys));
  return s.notResource ? !listed : listed;
}

/** Whether one statement applies to the check. */
export function statementApplies(s: CompiledStatement, check: PolicyCheck, keys: ConditionKeys): boolean {
  return actionApplies(s, check.action) && resourceApplies(s, check.resource, keys) && s.conditions.every((c) => c.test(keys));
}

/** Evaluates every statement of every policy of a key for one check. */
export function evaluatePolicies(policies: readonly CompiledPolicy[], check: PolicyCheck, keys: ConditionKeys): PolicyDecision {
  let allowed = false;
  for (const policy of policies) {
    for (const s of policy.statements) {
      if (s.effect === 'Allow' && allowed) continue; // only a Deny can change the outcome now
      if (!statementApplies(s, check, keys)) continue;
      if (s.effect === 'Deny') return 'explicitDeny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicitDeny';
}

/**
 * Whether the policies may allow SOME action on `bucket` or on one of its objects: which buckets
 * ListBuckets shows. Conditions on request keys (`s3:*`) are taken as satisfiable for the Allows,
 * and only a Deny of every action on the bucket and all of its objects hides it; the other
 * conditions (`aws:SourceIp`, `aws:CurrentTime`, tags…) are evaluated with this request's keys.
 * This only decides what is listed; every request on the bucket is still checked in full.
 */
export function mayUseBucket(policies: readonly CompiledPolicy[], bucket: string, keys: ConditionKeys): boolean {
  const bucketArn = resourceArn(bucket);
  const objectPrefix = `${bucketArn}/`;
  const globalConditionsHold = (s: CompiledStatement) => s.conditions.every((c) => !c.key.startsWith('aws:') || c.test(keys));
  const allConditionsHold = (s: CompiledStatement) => s.conditions.every((c) => c.test(keys));
  for (const policy of policies) {
    for (const s of policy.statements) {
      if (s.effect !== 'Deny' || s.notAction || s.notResource || !s.actionPatterns.some((p) => p === '*' || p === 's3:*')) continue;
      const plain = s.resources.filter((r) => !r.hasVariables);
      const coversBucket = plain.some((r) => r.matches(bucketArn, keys));
      const coversObjects = plain.some((r) => coversPrefix(r.pattern, objectPrefix));
      if (coversBucket && coversObjects && allConditionsHold(s)) return false;
    }
  }
  for (const policy of policies) {
    for (const s of policy.statements) {
      if (s.effect !== 'Allow' || !globalConditionsHold(s) || !namesBucketAction(s)) continue;
      const reaches = s.notResource
        ? !s.resources.some((r) => !r.hasVariables && r.matches(bucketArn, keys) && coversPrefix(r.pattern, objectPrefix))
        : s.resources.some((r) => r.matches(bucketArn, keys) || (r.hasVariables ? true : canMatchWithPrefix(r.pattern, objectPrefix)));
      if (reaches) return true;
    }
  }
  return false;
}
