/** `hmacKeystore` and `policies`: the static frontend keys with their policies and tags. */
import { OspConfigError } from '../errors';
import type { CompiledPolicy } from '../policy/compile';
import { compileKeyPolicy, type KeyPolicy } from '../policy/key-policy';
import { PolicyError } from '../policy/errors';
import { invalid, isPlainObject, nonEmptyString } from './validate';
import type { HmacKey } from './types';

/** Runs a policy compilation, turning its PolicyError into the config error of the option at fault. */
export function withPolicyPath<T>(compile: () => T): T {
  try {
    return compile();
  } catch (err) {
    if (err instanceof PolicyError) throw new OspConfigError('ERR_OSP_INVALID_OPTION', err.path, err.rule, err.example);
    throw err;
  }
}

export function resolveKeystore(raw: unknown, named: ReadonlyMap<string, CompiledPolicy>, keyPolicies: Map<string, KeyPolicy>): Map<string, Readonly<HmacKey>> {
  const map = new Map<string, Readonly<HmacKey>>();
  if (raw === undefined) return map;
  if (!Array.isArray(raw)) throw invalid('hmacKeystore', 'must be an array of keypairs', `[{ accessKey: 'client1', secretKey: '…' }]`);
  raw.forEach((entry: unknown, i) => {
    const option = `hmacKeystore[${i}]`;
    if (!isPlainObject(entry)) throw invalid(option, 'must be an object', `{ accessKey: 'client1', secretKey: '…' }`);
    for (const field of Object.keys(entry)) {
      if (!['accessKey', 'secretKey', 'buckets', 'policies', 'tags'].includes(field)) {
        throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, 'unknown field; known: accessKey, secretKey, buckets, policies, tags');
      }
    }
    const accessKey = nonEmptyString(entry.accessKey, `${option}.accessKey`, `accessKey: 'client1'`);
    nonEmptyString(entry.secretKey, `${option}.secretKey`, `secretKey: '…'`);
    if (entry.buckets !== undefined && (!Array.isArray(entry.buckets) || !entry.buckets.every((b) => typeof b === 'string'))) {
      throw invalid(`${option}.buckets`, 'must be an array of bucket names', `buckets: ['photos']`);
    }
    if (map.has(accessKey)) throw invalid(`${option}.accessKey`, 'is listed twice');
    const keyPolicy = withPolicyPath(() => compileKeyPolicy(entry.policies, entry.tags, named, option));
    if (keyPolicy) keyPolicies.set(accessKey, keyPolicy);
    map.set(accessKey, Object.freeze({ ...(entry as unknown as HmacKey) }));
  });
  return map;
}
