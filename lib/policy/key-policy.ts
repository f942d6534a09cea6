/**
 * What a key carries besides its secret: its compiled policies and tags. A key without `policies`
 * has no KeyPolicy and is authorized as before (keystore `buckets`, `authorize` callback).
 */
import { compilePolicy, policyPath, type CompiledPolicy } from './compile';
import { PolicyError } from './errors';

/** The compiled policies of one key and its tags (`aws:PrincipalTag/…`). */
export interface KeyPolicy {
  readonly policies: readonly CompiledPolicy[];
  readonly tags: Readonly<Record<string, string>>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates and compiles the top-level `policies` map. @throws PolicyError with the full path. */
export function compileNamedPolicies(raw: unknown): ReadonlyMap<string, CompiledPolicy> {
  const map = new Map<string, CompiledPolicy>();
  if (raw === undefined) return map;
  if (!isPlainObject(raw)) throw new PolicyError('policies', 'must be an object of named policy documents', `policies: { readOnly: { Version: '2012-10-17', Statement: [ … ] } }`);
  for (const [name, doc] of Object.entries(raw)) {
    try {
      map.set(name, compilePolicy(doc));
    } catch (err) {
      if (err instanceof PolicyError) throw new PolicyError(policyPath(`policies.${name}`, err.path), err.rule, err.example);
      throw err;
    }
  }
  return map;
}

/**
 * Compiles the `policies` and `tags` of a key (a keystore entry or an `hmacFetcher` answer).
 * Returns undefined when the key has no `policies`.
 * @param path - where the key is, for errors (`hmacKeystore[2]`).
 * @throws PolicyError with the full path (`hmacKeystore[2].policies[0].Statement[1].Effect`).
 */
export function compileKeyPolicy(policies: unknown, tags: unknown, named: ReadonlyMap<string, CompiledPolicy>, path: string): KeyPolicy | undefined {
  if (tags !== undefined) {
    if (!isPlainObject(tags) || !Object.values(tags).every((v) => typeof v === 'string')) throw new PolicyError(`${path}.tags`, 'must be an object of string values', `tags: { team: 'finance' }`);
  }
  if (policies === undefined) {
    if (tags !== undefined) throw new PolicyError(`${path}.tags`, 'only apply with policies (aws:PrincipalTag conditions)');
    return undefined;
  }
  if (!Array.isArray(policies)) throw new PolicyError(`${path}.policies`, 'must be an array of policy names or documents', `policies: ['readOnly']`);
  const compiled = policies.map((p: unknown, i) => {
    const at = `${path}.policies[${i}]`;
    if (typeof p === 'string') {
      const found = named.get(p);
      if (!found) throw new PolicyError(at, `unknown policy "${p}"; known: ${[...named.keys()].join(', ') || '(none: define them in the policies option)'}`);
      return found;
    }
    try {
      return compilePolicy(p);
    } catch (err) {
      if (err instanceof PolicyError) throw new PolicyError(policyPath(at, err.path), err.rule, err.example);
      throw err;
    }
  });
  return Object.freeze({ policies: Object.freeze(compiled), tags: Object.freeze({ ...((tags as Record<string, string> | undefined) ?? {}) }) });
}
