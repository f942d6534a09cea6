/** `on` (observation hooks) and `acceptedRegions`. */
import { OspConfigError } from '../errors';
import { invalid, isPlainObject } from './validate';
import type { OspEventHooks, OspLogger } from './types';
import { guardHooks } from '../guard-hooks';

const EVENT_HOOKS: readonly (keyof OspEventHooks)[] = [
  'request',
  'error',
  'backendResponse',
  'backendFailure',
  'presignedUse',
  'presignedRejected',
  'presignedShareExhausted',
  'iamTokenRefresh',
  'sharedStoreStatus',
];

function checkHookSet(raw: unknown, path: string): OspEventHooks {
  if (!isPlainObject(raw)) throw invalid(path, 'must be an object of hook functions', 'on: { error: (req, err) => metrics.denied.inc() }');
  for (const [name, hook] of Object.entries(raw)) {
    if (!(EVENT_HOOKS as readonly string[]).includes(name)) throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${path}.${name}`, `unknown hook; known: ${EVENT_HOOKS.join(', ')}`);
    if (hook !== undefined && typeof hook !== 'function') throw invalid(`${path}.${name}`, 'must be a function', `${name}: () => {}`);
  }
  return raw as OspEventHooks;
}

/**
 * The one place hooks are merged and guarded: `on` (a set or an array of sets) becomes one frozen
 * set whose hooks call every given hook in turn, each guarded (a throw is logged once and
 * ignored), so the stages call `o.on.x?.(…)` and nothing else.
 */
export function resolveEventHooks(raw: unknown, logger: OspLogger): Readonly<OspEventHooks> {
  if (raw === undefined) return Object.freeze({});
  const sets = Array.isArray(raw) ? raw.map((set, i) => checkHookSet(set, `on[${i}]`)) : [checkHookSet(raw, 'on')];
  const guarded = sets.map((set, i) => guardHooks(set, logger, Array.isArray(raw) ? `on[${i}]` : 'on'));
  const out: Record<string, unknown> = {};
  for (const name of EVENT_HOOKS) {
    const present = guarded.map((set) => set[name] as ((...args: unknown[]) => void) | undefined).filter((hook) => typeof hook === 'function');
    if (present.length > 0) out[name] = present.length === 1 ? present[0] : (...args: unknown[]) => present.forEach((hook) => hook(...args));
  }
  return Object.freeze(out as OspEventHooks);
}

export function resolveRegions(raw: unknown): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((r) => typeof r === 'string' && /^[a-z0-9-]{1,64}$/.test(r))) {
    throw invalid('acceptedRegions', 'must be a non-empty array of region names', `acceptedRegions: ['us-east-1']`);
  }
  return Object.freeze([...raw] as string[]);
}
