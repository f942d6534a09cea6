#!/usr/bin/env node
/**
 * `osp`: the standalone object-storage-proxy.
 *
 *   osp --config proxy.json        (or OSP_CONFIG=proxy.json osp)
 *   osp --config proxy.config.js   (a module exporting the options, or a function returning them;
 *                                   callbacks such as authorize/hmacFetcher are allowed there)
 *   osp --demo                     (embedded moto backend, demo bucket and keys)
 *
 * SIGTERM/SIGINT: graceful stop (in-flight requests finish, up to shutdownTimeoutMs), exit 0.
 * SIGHUP: reload the TLS certificate and key, and the configuration file.
 * The configuration file is also reloaded when it changes (new requests see the new buckets,
 * keys and callbacks; in-flight transfers finish; an invalid file is refused and logged).
 */
import cluster from 'node:cluster';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { extname, resolve } from 'node:path';
import { startServer, type RunningServer } from './start-server';
import type { ServerOptions } from './options';
import { demoInstructions, demoOptions, portInUseMessage, startDemoBackend } from './demo';
import { watchConfigFile, type ConfigLoader } from './config-reload';

const USAGE = `usage: osp --config FILE | osp --demo
  --config FILE   JSON file or JS module with the options (env: OSP_CONFIG)
  --demo          run against an embedded S3 backend (s3rver, in-process); PORT and METRICS_PORT
                  set the proxy and metrics ports (8080, 9091), OSP_DEMO_LOG the request log file
                  (osp-demo.log; - for stdout)
env: TLS_CERT_PATH, TLS_KEY_PATH, OSP_ENABLE_REQUEST_COUNTING, OSP_METRICS_TOKEN, COS_API_KEY, AWS_ACCESS_KEY, AWS_SECRET_KEY,
     OSP_CONFIG, OTEL_EXPORTER_OTLP_ENDPOINT and the other OTEL_* variables (tracing, see README)
metrics: metricsPort opens /metrics, /healthz, /readyz, /request-counts on metricsHost (default 127.0.0.1,
     this machine only); metricsBearerToken (env OSP_METRICS_TOKEN) makes /metrics and /request-counts
     require "Authorization: Bearer TOKEN"`;

/** Loads options from a JSON file or a JS module (`module.exports = {…}`, a default export, or a (async) function returning options). */
export async function loadConfig(file: string, opts: { fresh?: boolean } = {}): Promise<ServerOptions> {
  const path = resolve(file);
  // A reload must see the module's new contents, not Node's cached ones.
  if (opts.fresh) delete require.cache[path];
  let value: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`could not read config ${path}: ${(err as Error).message}`);
    }
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path) as unknown;
    value = (mod as { default?: unknown } | null)?.default ?? mod;
    if (typeof value === 'function') value = await (value as () => unknown)();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`config ${path} must contain an options object`);
  return value as ServerOptions;
}

export function parseArgs(argv: readonly string[]): { config?: string; demo: boolean; help: boolean } {
  const out: { config?: string; demo: boolean; help: boolean } = { demo: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--demo') out.demo = true;
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--config' || a === '-c') out.config = argv[++i];
    else if (a.startsWith('--config=')) out.config = a.slice('--config='.length);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return out;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<RunningServer | undefined> {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  const isWorker = cluster.isWorker;
  let options: ServerOptions;
  let stopBackend: (() => void) | undefined;
  let demoLog: { file: string; stream: WriteStream } | undefined;
  const demoPorts = { http: Number(process.env.PORT) || 8080, metrics: Number(process.env.METRICS_PORT) || 9091 };
  let reloadFrom: ConfigLoader | undefined;
  if (args.demo) {
    // The primary starts the backend once; workers find its port in the environment they inherited.
    let port = Number(process.env.OSP_DEMO_BACKEND_PORT);
    if (!isWorker || !port) {
      const backend = await startDemoBackend();
      port = backend.port;
      stopBackend = backend.stop;
      process.env.OSP_DEMO_BACKEND_PORT = String(port);
    }
    const config = args.config ?? process.env.OSP_CONFIG;
    const demo = demoOptions(port, demoPorts.http, demoPorts.metrics);
    options = { ...demo, ...(config ? await loadConfig(config) : {}) };
    if (config) reloadFrom = async () => ({ ...demo, ...(await loadConfig(config, { fresh: true })) });
    // One JSON line per request would scroll the printed commands away: they go to a file.
    const logTo = process.env.OSP_DEMO_LOG ?? 'osp-demo.log';
    if (logTo !== '-') {
      const file = resolve(logTo);
      demoLog = { file, stream: createWriteStream(file, { flags: 'a' }) };
    }
  } else {
    const config = args.config ?? process.env.OSP_CONFIG;
    if (!config) throw new Error(`no configuration given\n${USAGE}`);
    options = await loadConfig(config);
    reloadFrom = () => loadConfig(config, { fresh: true });
  }
  let running: RunningServer;
  try {
    running = await startServer(options, { loadConfig: reloadFrom, ...(demoLog ? { logDestination: demoLog.stream } : {}) });
  } catch (err) {
    stopBackend?.();
    const e = err as NodeJS.ErrnoException & { port?: number };
    if (args.demo && e?.code === 'EADDRINUSE') throw new Error(portInUseMessage(e.port, demoPorts.http, demoPorts.metrics));
    throw err;
  }
  if (running.role === 'worker') return running; // the worker handles its own signals and shutdown messages
  const a = running.addresses;
  process.stdout.write(`osp listening: http=${a.http}${a.https ? ` https=${a.https}` : ''}${a.metrics ? ` metrics=${a.metrics}` : ''}\n`);
  if (args.demo) process.stdout.write(demoInstructions(a.http, a.metrics, demoLog?.file));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        stopBackend?.();
        process.exit(0);
      },
      (err: unknown) => {
        running.logger.error({ err }, 'shutdown failed');
        stopBackend?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const reloadConfig = () => void running.reloadConfig();
  process.on('SIGHUP', () => {
    running.reloadCertificates().catch((err: unknown) => running.logger.error({ err }, 'TLS reload failed'));
    reloadConfig();
  });
  const configFile = args.config ?? process.env.OSP_CONFIG;
  if (configFile) watchConfigFile(configFile, reloadConfig);
  return running;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`osp: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
}
