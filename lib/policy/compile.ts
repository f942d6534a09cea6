/**
 * Validation and compilation of policy documents: done once, when the options are resolved (or when
 * `hmacFetcher` answers), so that a request only runs precompiled matchers.
 */
import { PolicyError } from './errors';
import { S3_ACTIONS } from './actions';
import { compileConditions, type CompiledCondition } from './conditions';
import { compileWildcard, type WildcardMatcher } from './wildcard';
import { fillTemplate, parseTemplate, type Template } from './variables';
import type { ConditionKeys } from './keys';

/** A compiled Resource / NotResource entry. */
export interface CompiledResource {
  /** As written (for visibility analysis). */
  readonly pattern: string;
  /** Whether this entry uses policy variables (then `pattern` is not a plain wildcard). */
  readonly hasVariables: boolean;
  readonly matches: (arn: string, keys: ConditionKeys) => boolean;
}

/** A statement ready to evaluate. */
export interface CompiledStatement {
  readonly effect: 'Allow' | 'Deny';
  /** Lowercased action patterns as written, and whether they are a NotAction list. */
  readonly actionPatterns: readonly string[];
  readonly notAction: boolean;
  readonly actionMatchers: readonly WildcardMatcher[];
  readonly resources: readonly CompiledResource[];
  readonly notResource: boolean;
  readonly conditions: readonly CompiledCondition[];
}

/** A compiled policy: its statements in order. */
export interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
}

const STATEMENT_FIELDS = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const LOWER_ACTIONS = S3_ACTIONS.map((x) => x.toLowerCase());

function stringList(raw: unknown, path: string, example: string): { values: string[]; paths: string[] } {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new PolicyError(path, 'must not be empty', example);
  list.forEach((v, i) => {
    if (typeof v !== 'string' || v === '') throw new PolicyError(Array.isArray(raw) ? `${path}[${i}]` : path, 'must be a non-empty string', example);
  });
  return { values: list as string[], paths: list.map((_, i) => (Array.isArray(raw) ? `${path}[${i}]` : path)) };
}

/** `*`, or `s3:<name>` whose (wildcard) name matches at least one S3 action. */
function compileAction(action: string, path: string): WildcardMatcher {
  const matcher = compileWildcard(action, true);
  if (action === '*') return matcher;
  if (!/^s3:/i.test(action) || !LOWER_ACTIONS.some((known) => matcher(known))) {
    throw new PolicyError(path, `unknown action "${action}"; the proxy knows the s3:* actions of Amazon S3 (see the action table in the README)`, '"s3:GetObject"');
  }
  return matcher;
}

const wildcardSource = (text: string) =>
  text
    .replace(/[\\^$.|+()[\]{}]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
const literalSource = (text: string) => text.replace(/[\\^$.|+()[\]{}*?]/g, '\\$&');

/**
 * `*`, or an S3 ARN `arn:<partition>:s3:::<bucket>[/<key>]` (region and account empty; wildcards allowed).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html
 */
function compileResource(resource: string, path: string, variables: boolean): CompiledResource {
  const example = '"arn:aws:s3:::photos/reports/*"';
  const template: Template | undefined = variables ? parseTemplate(resource, path) : undefined;
  if (resource !== '*') {
    const m = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$/s.exec(resource);
    if (!m) throw new PolicyError(path, `malformed ARN "${resource}": expected arn:aws:s3:::bucket or arn:aws:s3:::bucket/key`, example);
    const [, partition, service, region, account, rest] = m;
    if (!/^aws[a-z-]*$|^\*$/.test(partition!)) throw new PolicyError(path, `malformed ARN "${resource}": unknown partition "${partition}"`, example);
    if (service !== 's3') throw new PolicyError(path, `malformed ARN "${resource}": the proxy only knows s3 resources`, example);
    if (region !== '' || account !== '') throw new PolicyError(path, `malformed ARN "${resource}": S3 bucket and object ARNs have no region or account`, example);
    if (rest === '' || rest!.startsWith('/')) throw new PolicyError(path, `malformed ARN "${resource}": the bucket name is missing`, example);
  }
  if (!template) {
    const m = compileWildcard(resource);
    return { pattern: resource, hasVariables: false, matches: (arn) => m(arn) };
  }
  return {
    pattern: resource,
    hasVariables: true,
    matches: (arn, keys) => {
      const source = fillTemplate(template, keys, wildcardSource, literalSource);
      return source !== undefined && new RegExp(`^${source}$`, 'su').test(arn);
    },
  };
}

function compileStatement(raw: unknown, path: string, variables: boolean): CompiledStatement {
  if (!isPlainObject(raw)) throw new PolicyError(path, 'must be an object', '{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*" }');
  for (const field of Object.keys(raw)) {
    if (field === 'Principal' || field === 'NotPrincipal') throw new PolicyError(`${path}.${field}`, 'is not allowed: these policies are attached to keys (identity-based), the principal is the key');
    if (!STATEMENT_FIELDS.includes(field)) throw new PolicyError(`${path}.${field}`, `unknown field; known: ${STATEMENT_FIELDS.join(', ')}`);
  }
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') throw new PolicyError(`${path}.Sid`, 'must be a string');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw new PolicyError(`${path}.Effect`, 'must be "Allow" or "Deny"', '"Effect": "Allow"');
  if ((raw.Action === undefined) === (raw.NotAction === undefined)) throw new PolicyError(`${path}.Action`, 'give exactly one of Action and NotAction', '"Action": ["s3:GetObject"]');
  if ((raw.Resource === undefined) === (raw.NotResource === undefined))
    throw new PolicyError(`${path}.Resource`, 'give exactly one of Resource and NotResource', '"Resource": "arn:aws:s3:::photos/*"');
  const notAction = raw.Action === undefined;
  const actionField = notAction ? 'NotAction' : 'Action';
  const actions = stringList(raw[actionField], `${path}.${actionField}`, '"s3:GetObject"');
  const notResource = raw.Resource === undefined;
  const resourceField = notResource ? 'NotResource' : 'Resource';
  const resources = stringList(raw[resourceField], `${path}.${resourceField}`, '"arn:aws:s3:::photos/*"');
  return {
    effect: raw.Effect,
    actionPatterns: actions.values.map((x) => x.toLowerCase()),
    notAction,
    actionMatchers: actions.values.map((x, i) => compileAction(x, actions.paths[i]!)),
    resources: resources.values.map((x, i) => compileResource(x, resources.paths[i]!, variables)),
    notResource,
    conditions: raw.Condition === undefined ? [] : compileConditions(raw.Condition, `${path}.Condition`, variables),
  };
}

/**
 * Validates a policy document and compiles it.
 * @throws PolicyError with the path inside the document (`Statement[0].Action[1]`).
 */
export function compilePolicy(raw: unknown): CompiledPolicy {
  if (!isPlainObject(raw)) throw new PolicyError('', 'must be a policy document { Version, Statement }', '{ "Version": "2012-10-17", "Statement": [ … ] }');
  for (const field of Object.keys(raw)) {
    if (!['Version', 'Id', 'Statement'].includes(field)) throw new PolicyError(field, 'unknown field; known: Version, Id, Statement');
  }
  if (raw.Version !== undefined && raw.Version !== '2012-10-17' && raw.Version !== '2008-10-17') throw new PolicyError('Version', 'must be "2012-10-17" or "2008-10-17"', '"Version": "2012-10-17"');
  if (raw.Id !== undefined && typeof raw.Id !== 'string') throw new PolicyError('Id', 'must be a string');
  // Policy variables exist only in version 2012-10-17; before, `${…}` is literal text (as in IAM).
  const variables = raw.Version === '2012-10-17';
  const statements = raw.Statement;
  if (statements === undefined) throw new PolicyError('Statement', 'is required');
  const list = Array.isArray(statements) ? statements : [statements];
  if (list.length === 0) throw new PolicyError('Statement', 'must not be empty');
  return { statements: list.map((s, i) => compileStatement(s, Array.isArray(statements) ? `Statement[${i}]` : 'Statement', variables)) };
}

/** Joins a path prefix and a path inside a document (`policies.readOnly` + `Statement[0]`). */
export function policyPath(prefix: string, inner: string): string {
  return inner === '' ? prefix : `${prefix}.${inner}`;
}
