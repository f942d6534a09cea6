/** `on` (observation hooks) and `acceptedRegions`. */
import { OspConfigError } from '../errors';
import { invalid, isPlainObject } from './validate';
import type { OspEventHooks } from './types';

const EVENT_HOOKS: readonly (keyof OspEventHooks)[] = ['error', 'backendResponse', 'backendFailure', 'presignedUse', 'presignedRejected', 'iamTokenRefresh', 'sharedStoreStatus'];

export function resolveEventHooks(raw: unknown): Readonly<OspEventHooks> {
  if (raw === undefined) return Object.freeze({});
  if (!isPlainObject(raw)) throw invalid('on', 'must be an object of hook functions', 'on: { error: (req, err) => metrics.denied.inc() }');
  for (const [name, hook] of Object.entries(raw)) {
    if (!(EVENT_HOOKS as readonly string[]).includes(name)) throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `on.${name}`, `unknown hook; known: ${EVENT_HOOKS.join(', ')}`);
    if (hook !== undefined && typeof hook !== 'function') throw invalid(`on.${name}`, 'must be a function', `${name}: () => {}`);
  }
  return Object.freeze({ ...(raw as OspEventHooks) });
}

export function resolveRegions(raw: unknown): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((r) => typeof r === 'string' && /^[a-z0-9-]{1,64}$/.test(r))) {
    throw invalid('acceptedRegions', 'must be a non-empty array of region names', `acceptedRegions: ['us-east-1']`);
  }
  return Object.freeze([...raw] as string[]);
}
