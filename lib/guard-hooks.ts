/**
 * Observation hooks (metrics, audit) are the user's code running inside the proxy's socket and
 * promise callbacks: one that throws there was an unhandled rejection that killed the process
 * (issue [9]). Every hook goes through {@link guardHooks}: a throw is logged and ignored.
 */
import { OspConfigError } from './errors';
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
 * Hooks went into `options.on` (issue [2/5]): the factories that took a hooks object as their
 * second argument refuse one, saying what to write instead, rather than ignore it silently.
 * `argumentCount` is the factory's `arguments.length` (its TypeScript signature has one parameter).
 */
export function rejectHooksArgument(factory: string, argumentCount: number): void {
  if (argumentCount <= 1) return;
  throw new OspConfigError(
    'ERR_OSP_HOOKS_ARGUMENT',
    `${factory}(options, hooks)`,
    'hooks are no longer a second argument; give them in options.on, named after their moment ' +
      '(request, error, backendResponse, backendFailure, presignedUse, presignedRejected, presignedShareExhausted, iamTokenRefresh, sharedStoreStatus); ' +
      `for metrics: ${factory}({ ...options, on: ospMetrics(registry) }), or on: [ospMetrics(registry), { error(req, err) {…} }] with hooks of your own`,
    `${factory}({ ...options, on: { backendResponse(req, status, latencyMs) {…}, error(req, err) {…} } })`,
  );
}
