/**
 * Observation hooks (metrics, audit) are the user's code running inside the proxy's socket and
 * promise callbacks: one that throws there was an unhandled rejection that killed the process
 * (issue [9]). Every hook goes through {@link guardHooks}: a throw is logged and ignored.
 */
import type { OspLogger } from './options';

type Hooks = { readonly [name: string]: unknown };

/**
 * A copy of `hooks` (nested hook groups included) whose functions never throw: an exception is
 * logged once per hook and ignored. The request carries on as if the hook were absent.
 */
export function guardHooks<T extends object>(hooks: T, logger: OspLogger, path = 'hooks'): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(hooks as Hooks)) {
    if (typeof value === 'function') {
      const hook = value as (...args: unknown[]) => unknown;
      let logged = false;
      out[name] = (...args: unknown[]): unknown => {
        try {
          const result = hook(...args);
          // An async hook's rejection must not become an unhandled rejection either.
          if (result instanceof Promise) result.catch((err: unknown) => report(err));
          return result;
        } catch (err) {
          report(err);
          return undefined;
        }
      };
      const report = (err: unknown) => {
        if (logged) return;
        logged = true;
        logger.error({ hook: `${path}.${name}`, error: err instanceof Error ? err.message : String(err) }, 'object-storage-proxy: an observation hook threw; ignored (logged once per hook)');
      };
    } else if (typeof value === 'object' && value !== null) {
      out[name] = guardHooks(value, logger, `${path}.${name}`);
    } else {
      out[name] = value;
    }
  }
  return out as T;
}

/**
 * One hook that calls each given hook in turn (the `on` map's and the positional argument's),
 * each guarded: a throw is logged once and ignored. Undefined when none is given.
 */
export function combineHooks<A extends unknown[]>(logger: OspLogger, name: string, ...hooks: (((...args: A) => void) | undefined)[]): ((...args: A) => void) | undefined {
  const present = hooks.filter((h): h is (...args: A) => void => typeof h === 'function');
  if (present.length === 0) return undefined;
  const guarded = present.map((hook, i) => guardHooks({ hook }, logger, `${name}[${i}]`).hook);
  return guarded.length === 1 ? guarded[0] : (...args: A) => guarded.forEach((h) => h(...args));
}
