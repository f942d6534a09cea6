/**
 * Condition operators of IAM policies, compiled once and evaluated per request.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 *
 * Semantics: the operators of a Condition block and the keys of one operator are ANDed; the values
 * of one key are ORed (for negated operators: the request value must match none of them). A key
 * absent from the request makes a positive operator false and a negated one true; `…IfExists`
 * makes any operator true; `Null` tests presence. `ForAnyValue:` is true when some request value
 * passes (false for an absent or empty key), `ForAllValues:` when every one does (true for an
 * absent or empty key).
 */
import { BlockList, isIP } from 'node:net';
import { PolicyError } from './errors';
import { compileWildcard } from './wildcard';
import { isKnownConditionKey, normalizeIp, type ConditionKeys } from './keys';
import { fillTemplate, parseTemplate, type Template } from './variables';

/** Compares one request value with one policy value. */
type Compare = (requestValue: string, policyValue: string) => boolean;

interface OperatorSpec {
  /** Negated operators: true when the request value matches none of the policy values. */
  negated: boolean;
  /** Checks a policy value at startup; returns a rule when it is not of the operator's type. */
  validate?: (value: string) => string | undefined;
  /** Prepared form of a policy value (parsed number, compiled pattern…). */
  prepare: (policyValue: string) => (requestValue: string) => boolean;
}

const parseNumber = (v: string): number | undefined => (/^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : undefined);

/** ISO 8601 date/time or epoch seconds, in ms. */
function parseDate(v: string): number | undefined {
  if (/^\d{1,12}$/.test(v)) return Number(v) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function parseCidr(v: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, extra] = v.split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const string = (compare: Compare, negated: boolean): OperatorSpec => ({ negated, prepare: (p) => (r) => compare(r, p) });
const numeric = (compare: (r: number, p: number) => boolean, negated = false): OperatorSpec => ({
  negated,
  validate: (v) => (parseNumber(v) === undefined ? 'must be a number' : undefined),
  prepare: (p) => {
    const pn = parseNumber(p);
    return (r) => {
      const rn = parseNumber(r);
      return pn !== undefined && rn !== undefined && compare(rn, pn);
    };
  },
});
const date = (compare: (r: number, p: number) => boolean, negated = false): OperatorSpec => ({
  negated,
  validate: (v) => (parseDate(v) === undefined ? 'must be an ISO 8601 date (2026-12-31T23:59:59Z) or epoch seconds' : undefined),
  prepare: (p) => {
    const pd = parseDate(p);
    return (r) => {
      const rd = parseDate(r);
      return pd !== undefined && rd !== undefined && compare(rd, pd);
    };
  },
});
const ip = (negated: boolean): OperatorSpec => ({
  negated,
  validate: (v) => (parseCidr(v) === undefined ? 'must be an IPv4 or IPv6 address or CIDR block (203.0.113.0/24, 2001:db8::/32)' : undefined),
  prepare: (p) => {
    const cidr = parseCidr(p);
    const list = new BlockList();
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    return (r) => {
      if (!cidr) return false;
      const addr = normalizeIp(r);
      const version = isIP(addr);
      return version !== 0 && list.check(addr, version === 4 ? 'ipv4' : 'ipv6');
    };
  },
});
const lower = (s: string) => s.toLowerCase();

const OPERATORS: Readonly<Record<string, OperatorSpec>> = {
  StringEquals: string((r, p) => r === p, false),
  StringNotEquals: string((r, p) => r === p, true),
  StringEqualsIgnoreCase: string((r, p) => lower(r) === lower(p), false),
  StringNotEqualsIgnoreCase: string((r, p) => lower(r) === lower(p), true),
  StringLike: { negated: false, prepare: (p) => compileWildcard(p) },
  StringNotLike: { negated: true, prepare: (p) => compileWildcard(p) },
  NumericEquals: numeric((r, p) => r === p),
  NumericNotEquals: numeric((r, p) => r === p, true),
  NumericLessThan: numeric((r, p) => r < p),
  NumericLessThanEquals: numeric((r, p) => r <= p),
  NumericGreaterThan: numeric((r, p) => r > p),
  NumericGreaterThanEquals: numeric((r, p) => r >= p),
  DateEquals: date((r, p) => r === p),
  DateNotEquals: date((r, p) => r === p, true),
  DateLessThan: date((r, p) => r < p),
  DateLessThanEquals: date((r, p) => r <= p),
  DateGreaterThan: date((r, p) => r > p),
  DateGreaterThanEquals: date((r, p) => r >= p),
  Bool: {
    negated: false,
    validate: (v) => (/^(true|false)$/i.test(v) ? undefined : 'must be "true" or "false"'),
    prepare: (p) => (r) => lower(r) === lower(p),
  },
  IpAddress: ip(false),
  NotIpAddress: ip(true),
};

/** Operator names a policy may use (without the `ForAnyValue:`/`ForAllValues:` prefix and `IfExists` suffix; `Null` too). */
export const CONDITION_OPERATORS: readonly string[] = [...Object.keys(OPERATORS), 'Null'];

/** One (operator, key) pair of a Condition block, ready to evaluate. */
export interface CompiledCondition {
  /** Lowercase key name. */
  readonly key: string;
  readonly test: (keys: ConditionKeys) => boolean;
}

/** Parses `ForAnyValue:StringLikeIfExists` into its parts. */
function parseOperator(name: string): { set?: 'any' | 'all'; base: string; ifExists: boolean } | undefined {
  let rest = name;
  let set: 'any' | 'all' | undefined;
  if (rest.startsWith('ForAnyValue:')) {
    set = 'any';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    set = 'all';
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  if (rest !== 'Null' && rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  if (rest !== 'Null' && OPERATORS[rest] === undefined) return undefined;
  if (rest === 'Null' && set !== undefined) return undefined;
  return { set, base: rest, ifExists };
}

function valuesOf(raw: unknown, path: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new PolicyError(path, 'must name at least one value');
  return list.map((v, i) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new PolicyError(Array.isArray(raw) ? `${path}[${i}]` : path, 'must be a string, number or boolean');
  });
}

/** A policy value, with or without variables, prepared for one operator. */
function prepareValue(spec: OperatorSpec, value: string, template: Template | undefined): (r: string, keys: ConditionKeys) => boolean {
  if (!template) {
    const test = spec.prepare(value);
    return (r) => test(r);
  }
  return (r, keys) => {
    const filled = fillTemplate(template, keys);
    return filled !== undefined && spec.prepare(filled)(r);
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates and compiles a statement's `Condition` block.
 * @throws PolicyError naming the operator, key or value at fault.
 */
export function compileConditions(raw: unknown, path: string, variables: boolean): CompiledCondition[] {
  if (!isPlainObject(raw)) throw new PolicyError(path, 'must be an object of operators', '{ "StringLike": { "s3:prefix": "reports/*" } }');
  const out: CompiledCondition[] = [];
  for (const [operator, block] of Object.entries(raw)) {
    const opPath = `${path}.${operator}`;
    const parsed = parseOperator(operator);
    if (!parsed)
      throw new PolicyError(opPath, `unknown condition operator "${operator}"; known: ${CONDITION_OPERATORS.join(', ')} (with an optional ForAnyValue:/ForAllValues: prefix and IfExists suffix)`);
    if (!isPlainObject(block) || Object.keys(block).length === 0) throw new PolicyError(opPath, 'must be an object of condition keys', `{ "${operator}": { "aws:SourceIp": "203.0.113.0/24" } }`);
    for (const [keyName, rawValues] of Object.entries(block)) {
      const keyPath = `${opPath}.${keyName}`;
      if (!isKnownConditionKey(keyName)) throw new PolicyError(keyPath, `unknown condition key "${keyName}"`);
      const key = keyName.toLowerCase();
      const values = valuesOf(rawValues, keyPath);
      if (parsed.base === 'Null') {
        values.forEach((v, i) => {
          if (!/^(true|false)$/i.test(v)) throw new PolicyError(values.length > 1 ? `${keyPath}[${i}]` : keyPath, 'must be "true" (key absent) or "false" (key present)');
        });
        const wantAbsent = values.map((v) => v.toLowerCase() === 'true');
        out.push({
          key,
          test: (keys) => {
            const present = (keys.get(key)?.length ?? 0) > 0;
            return wantAbsent.some((absent) => absent !== present);
          },
        });
        continue;
      }
      const spec = OPERATORS[parsed.base]!;
      const prepared = values.map((v, i) => {
        const vPath = values.length > 1 || Array.isArray(rawValues) ? `${keyPath}[${i}]` : keyPath;
        const template = variables ? parseTemplate(v, vPath) : undefined;
        if (!template && spec.validate) {
          const problem = spec.validate(v);
          if (problem) throw new PolicyError(vPath, `${problem} (got "${v}")`);
        }
        return prepareValue(spec, v, template);
      });
      const { set, ifExists } = parsed;
      const negated = spec.negated;
      out.push({
        key,
        test: (keys) => {
          const requestValues = keys.get(key);
          if (requestValues === undefined) return ifExists || set === 'all' || (set === undefined && negated);
          const passes = (r: string) => {
            const matched = prepared.some((p) => p(r, keys));
            return negated ? !matched : matched;
          };
          if (set === 'all') return requestValues.every(passes);
          return requestValues.some(passes);
        },
      });
    }
  }
  return out;
}
