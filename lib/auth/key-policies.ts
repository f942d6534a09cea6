/**
 * Applies a key's IAM-style policies (lib/policy) to an Express request: builds the condition keys
 * from the request and turns a denied check into the 403 the client sees.
 */
import type { Request } from 'express';
import { copySourceOf, type OspRequestContext } from '../context';
import { OspError } from '../errors';
import type { ResolvedOptions } from '../options';
import { conditionKeysOf, type ConditionKeys } from '../policy/keys';
import { evaluatePolicies, type PolicyCheck } from '../policy/evaluate';
import type { KeyPolicy } from '../policy/key-policy';
import type { ParsedCopySource } from '../s3/copy-source';
import { checksOf } from '../policy/checks';
import { armDeleteObjectsKeys } from '../operations/delete-objects';
import { requestsGovernanceBypass } from '../s3/forwarded-headers';

/**
 * The policies that apply to the caller: those `verifySignature` found with an `hmacFetcher`
 * answer, else those of the keystore entry of the identity. Undefined: the key has no policies.
 */
export function keyPolicyOf(o: Pick<ResolvedOptions, 'keyPolicies'>, ctx: OspRequestContext): KeyPolicy | undefined {
  if (ctx.keyPolicy) return ctx.keyPolicy;
  return ctx.identity ? o.keyPolicies.get(ctx.identity) : undefined;
}

/** The condition keys of this request (`aws:SourceIp` is `req.ip`: it honours Express's `trust proxy`). */
export function requestConditionKeys(req: Request, ctx: OspRequestContext, policy: KeyPolicy, copySource?: string): ConditionKeys {
  return conditionKeysOf({
    identity: ctx.identity ?? null,
    tags: policy.tags,
    sourceIp: req.ip ?? req.socket?.remoteAddress,
    secureTransport: req.secure ?? false,
    now: new Date(),
    query: ctx.request.queryRecord,
    headers: req.headers,
    authMethod: ctx.authMethod,
    // SigV2 requests (allowSigV2) carry `AWS key:signature` or `?Signature=`; SigV4 the others.
    signatureVersion: /^AWS /.test(String(req.headers.authorization ?? '')) || ctx.queryParams.has('Signature') ? 'AWS' : 'AWS4-HMAC-SHA256',
    copySource,
  });
}

/** 403 AccessDenied naming the action and resource, never the policy. */
export function policyDenied(check: PolicyCheck, explicit: boolean): OspError {
  const action = check.action ?? 'this operation (the proxy cannot classify it; only s3:* allows it)';
  return new OspError(
    403,
    'AccessDenied',
    `Access Denied: not authorized to perform ${action} on ${check.resource} because ${explicit ? 'an explicit deny in a policy of this key applies' : 'no policy of this key allows it'}.`,
  );
}

/** The first check the policies refuse, as the error to answer; undefined when all are allowed. */
export function firstDenial(policy: KeyPolicy, checks: readonly PolicyCheck[], keys: ConditionKeys): OspError | undefined {
  for (const check of checks) {
    const decision = evaluatePolicies(policy.policies, check, keys);
    if (decision !== 'allow') return policyDenied(check, decision === 'explicitDeny');
  }
  return undefined;
}

/** Whether the request sets an ACL (`x-amz-acl`, `x-amz-grant-*`) or tags (`x-amz-tagging`); a presigned URL may carry them in its query. */
function aclAndTaggingOf(headers: Request['headers'], query: Readonly<Record<string, string>>): { setsAcl: boolean; setsTagging: boolean } {
  let setsAcl = false;
  let setsTagging = false;
  for (const name of [...Object.keys(headers), ...Object.keys(query).map((n) => n.toLowerCase())]) {
    if (name === 'x-amz-acl' || name.startsWith('x-amz-grant-')) setsAcl = true;
    else if (name === 'x-amz-tagging') setsTagging = true;
  }
  return { setsAcl, setsTagging };
}

/**
 * Checks a bucket-level or object-level request against the key's policies. For DeleteObjects it
 * arms the per-key check of lib/operations/delete-objects.ts, which s3Proxy runs on the keys of the body.
 * Returns the error to answer (403 AccessDenied naming the action, or 400 for a malformed copy
 * source), undefined when the policies allow the request. The copy source comes parsed and
 * checked from the request record (`_allowDotSegments` is kept for callers; the entry applied it).
 */
export function checkKeyPolicy(req: Request, ctx: OspRequestContext, policy: KeyPolicy, bucket: string, _allowDotSegments?: boolean): OspError | undefined {
  let copySource: ParsedCopySource | undefined;
  try {
    // Parsed once at the entry (lib/context.ts), with the key decoded and checked.
    copySource = copySourceOf(ctx.request);
  } catch (err) {
    return err instanceof OspError ? err : new OspError(400, 'InvalidArgument', 'Invalid x-amz-copy-source.');
  }
  const keys = requestConditionKeys(req, ctx, policy, copySource ? `${copySource.bucket}/${copySource.key}` : undefined);
  const query = ctx.request.queryRecord;
  const bypassGovernanceRetention = requestsGovernanceBypass(req.headers, query);
  const checks = checksOf({
    operation: ctx.operation,
    bucket,
    key: ctx.key,
    hasVersionId: ctx.queryParams.has('versionId'),
    copySource,
    bypassGovernanceRetention,
    ...aclAndTaggingOf(req.headers, query),
  });
  const denied = firstDenial(policy, checks, keys);
  if (!denied && ctx.operation === 'DeleteObjects') armDeleteObjectsKeys(ctx, policy, bucket, keys, bypassGovernanceRetention);
  return denied;
}
