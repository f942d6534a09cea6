/**
 * Live reload of the `osp` server's configuration (issue [13]): the CLI re-reads its config file
 * on SIGHUP and when the file changes; each serving process applies the new options with
 * `OspMiddleware.update`, so new requests see them at once and in-flight transfers finish.
 * An invalid file is refused: the old configuration stays, the error is logged with its path and
 * `osp_config_reloads_total{result="error"}` counts it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { OspOptions } from '../options';
import { applyEnvironment, resolveServerOptions, type ResolvedServerSettings, type ServerOptions } from './options';

/** Reads the configuration again (the CLI's file, merged as at startup). */
export type ConfigLoader = () => Promise<ServerOptions>;

/** Applies configurations to one serving process (single mode or a cluster worker). */
export interface ConfigApplier {
  /** Loads, validates and applies; resolves `false` (logged, counted) when the new config is refused. */
  reload(load: ConfigLoader): Promise<boolean>;
}

/** Server settings that need new listeners or processes: a reload keeps the running ones. */
const RESTART_ONLY: readonly (keyof ResolvedServerSettings)[] = ['host', 'httpPort', 'httpsPort', 'metricsPort', 'metricsHost', 'metricsBearerToken', 'threads'];

/**
 * @param o.apply - applies middleware options to new requests (`OspApp.reload`), throwing
 *   OspConfigError when they are invalid.
 */
export function createConfigApplier(o: { apply(options: OspOptions): void; settings: ResolvedServerSettings; registry: Registry; logger: Logger }): ConfigApplier {
  const reloads = new Counter({
    name: 'osp_config_reloads_total',
    help: 'Configuration reloads, by result (ok, or error when the new configuration was refused).',
    labelNames: ['result'] as const,
    registers: [o.registry],
  });
  reloads.inc({ result: 'ok' }, 0);
  reloads.inc({ result: 'error' }, 0);
  return {
    async reload(load) {
      try {
        const { settings, ospOptions } = resolveServerOptions(applyEnvironment(await load()));
        o.apply(ospOptions);
        const ignored = RESTART_ONLY.filter((k) => settings[k] !== o.settings[k]);
        if (ignored.length > 0) o.logger.warn({ settings: ignored }, 'configuration reloaded; these settings need a restart and keep their running values');
        else o.logger.info({}, 'configuration reloaded');
        reloads.inc({ result: 'ok' });
        return true;
      } catch (err) {
        // OspConfigError messages name the option's path; never the values (they may be secrets).
        o.logger.error({ error: (err as Error).message }, 'configuration reload refused; the previous configuration stays');
        reloads.inc({ result: 'error' });
        return false;
      }
    },
  };
}

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory, so that editors and
 * config managers that replace the file (write a temp file, rename it over) are seen too.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 150): () => void {
  const path = resolve(file);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
  } catch {
    return () => undefined; // no watcher on this platform/filesystem: SIGHUP still works
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
