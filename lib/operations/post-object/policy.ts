/**
 * POST policy documents: decoding and condition checking. Pure.
 *
 * A browser-based upload carries a base64 JSON `policy` with an `expiration` and a list of
 * `conditions`; S3 refuses the upload unless every condition holds and every form field is covered
 * by a condition.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */
import { OspError } from '../../errors';

/** One condition of a policy, normalized (the object form `{"acl": "x"}` is an `eq`). */
export type PolicyCondition = { op: 'eq' | 'starts-with'; field: string; value: string; source: string } | { op: 'content-length-range'; min: number; max: number; source: string };

/** A decoded policy document. */
export interface PostPolicy {
  /** Expiration instant, ms since epoch. */
  expiresAtMs: number;
  conditions: PolicyCondition[];
}

/** Allowed object sizes from `content-length-range` (all such conditions intersected). */
export interface LengthRange {
  min: number;
  max: number;
}

/** Form fields S3 never requires a condition for (besides `x-ignore-*`). V2 adds its own two. */
const EXEMPT_FIELDS = new Set(['x-amz-signature', 'file', 'policy', 'awsaccesskeyid', 'signature']);

/** S3's own limit on a single object upload. */
export const MAX_PUT_OBJECT_BYTES = 5 * 1024 ** 3;

function invalidPolicy(detail: string): OspError {
  return new OspError(400, 'InvalidPolicyDocument', `Invalid Policy: ${detail}`);
}

/** 403 AccessDenied with S3's "Invalid according to Policy" message. */
export function policyViolation(detail: string): OspError {
  return new OspError(403, 'AccessDenied', `Invalid according to Policy: ${detail}`);
}

/** `$name` → `name` (lowercase: form field names are matched case-insensitively, as S3 does). */
function fieldOf(ref: unknown, source: string): string {
  if (typeof ref !== 'string') throw invalidPolicy(`Invalid Condition: ${source}`);
  return (ref.startsWith('$') ? ref.slice(1) : ref).toLowerCase();
}

function lengthOf(v: unknown, source: string): number {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalidPolicy(`Invalid content-length-range: ${source}`);
  return n;
}

function parseCondition(raw: unknown): PolicyCondition[] {
  const source = JSON.stringify(raw) ?? String(raw);
  if (Array.isArray(raw)) {
    const op = typeof raw[0] === 'string' ? raw[0].toLowerCase() : '';
    if (op === 'content-length-range') {
      if (raw.length !== 3) throw invalidPolicy(`Invalid Condition: ${source}`);
      return [{ op, min: lengthOf(raw[1], source), max: lengthOf(raw[2], source), source }];
    }
    if ((op === 'eq' || op === 'starts-with') && raw.length === 3 && typeof raw[2] === 'string') {
      return [{ op, field: fieldOf(raw[1], source), value: raw[2], source }];
    }
    throw invalidPolicy(`Invalid Condition: ${source}`);
  }
  if (raw !== null && typeof raw === 'object') {
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length !== 1 || typeof entries[0]?.[1] !== 'string') throw invalidPolicy(`Invalid Condition: ${source}`);
    const [name, value] = entries[0] as [string, string];
    return [{ op: 'eq', field: fieldOf(name, source), value, source: `["eq", "$${name}", ${JSON.stringify(value)}]` }];
  }
  throw invalidPolicy(`Invalid Condition: ${source}`);
}

/**
 * Decodes the base64 `policy` form field.
 *
 * @throws OspError 400 InvalidPolicyDocument when it is not base64 JSON of the documented shape.
 */
export function decodePostPolicy(policyBase64: string): PostPolicy {
  const text = Buffer.from(policyBase64, 'base64').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (expiration === undefined) throw invalidPolicy('Policy missing expiration.');
  const expiresAtMs = typeof expiration === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(expiration) ? Date.parse(expiration) : NaN;
  if (Number.isNaN(expiresAtMs)) throw invalidPolicy('Invalid Policy expiration.');
  if (conditions === undefined) throw invalidPolicy('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy conditions must be an array.');
  return { expiresAtMs, conditions: conditions.flatMap(parseCondition) };
}

function holds(c: Extract<PolicyCondition, { op: 'eq' | 'starts-with' }>, actual: string): boolean {
  if (c.op === 'eq') return actual === c.value;
  // S3 checks each value of a comma-separated Content-Type against the prefix.
  if (c.field === 'content-type') return actual.split(',').every((v) => v.trim().startsWith(c.value));
  return actual.startsWith(c.value);
}

/**
 * Checks the policy against the form: not expired, every condition holds, and every form field is
 * covered by a condition (except `x-amz-signature`, `file`, `policy`, V2's `AWSAccessKeyId` and
 * `signature`, and `x-ignore-*`). Returns the allowed file sizes for the streaming check.
 *
 * @param fields - the form fields preceding the file, lowercase names, `key` already expanded
 *   (`${filename}`). A missing field counts as an empty value.
 * @param bucket - the bucket of the request URL (what `bucket` conditions are about).
 * @throws OspError 403 AccessDenied "Invalid according to Policy: …".
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, string>, bucket: string, nowMs: number): LengthRange {
  if (nowMs > policy.expiresAtMs) throw policyViolation('Policy expired.');
  const range: LengthRange = { min: 0, max: MAX_PUT_OBJECT_BYTES };
  const covered = new Set<string>();
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range.min = Math.max(range.min, c.min);
      range.max = Math.min(range.max, c.max);
      continue;
    }
    covered.add(c.field);
    const actual = c.field === 'bucket' ? bucket : (fields.get(c.field) ?? '');
    if (!holds(c, actual)) throw policyViolation(`Policy Condition failed: ${c.source}`);
  }
  const extra = [...fields.keys()].filter((name) => !covered.has(name) && !EXEMPT_FIELDS.has(name) && !name.startsWith('x-ignore-'));
  if (extra.length > 0) throw policyViolation(`Extra input fields: ${extra.join(', ')}`);
  return range;
}
