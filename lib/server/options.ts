/**
 * Options of the standalone server: the middleware's {@link OspOptions} plus listener settings.
 * Server keys are split off and checked here; the rest goes to `resolveOptions`, which rejects
 * unknown keys — so a typo anywhere in a config file is an error, not silently ignored.
 */
import { readFileSync } from 'node:fs';
import { OspConfigError } from '../errors';
import { resolveOptions, type BucketConfig, type OspOptions } from '../options';

/** Options of {@link startServer}. */
export interface ServerOptions extends OspOptions {
  /** HTTP port; 0 picks a free one. @default 8080 */
  httpPort?: number;
  /** HTTPS (HTTP/2 + HTTP/1.1) port; needs `tlsCertPath` and `tlsKeyPath`. @default none */
  httpsPort?: number;
  /** Port of the metrics/health listener (`/metrics`, `/healthz`, `/readyz`, `/request-counts`). @default none */
  metricsPort?: number;
  /** Address the S3 listeners (HTTP, HTTPS) listen on. @default '0.0.0.0' */
  host?: string;
  /**
   * Address the metrics listener listens on. Loopback by default: `/metrics` names buckets and
   * `/request-counts` object paths, so they stay on the machine unless you open them on purpose
   * (`'0.0.0.0'` for a Prometheus or a probe on another host; set `metricsBearerToken` then).
   * @default '127.0.0.1'
   */
  metricsHost?: string;
  /**
   * Bearer token required on `/metrics` and `/request-counts` (`Authorization: Bearer TOKEN`;
   * 401 otherwise). `/healthz` and `/readyz` stay open for probes. At least 16 characters of
   * `A-Z a-z 0-9 - . _ ~ + /` (RFC 6750 b64token), e.g. `openssl rand -hex 32`. Never logged.
   * Env: OSP_METRICS_TOKEN. @default none (no authentication)
   */
  metricsBearerToken?: string;
  /** Worker processes (node:cluster). 1 serves in this process. @default 1 */
  threads?: number;
  /** PEM certificate (chain) for HTTPS. Env: TLS_CERT_PATH */
  tlsCertPath?: string;
  /** PEM private key for HTTPS. Env: TLS_KEY_PATH */
  tlsKeyPath?: string;
  /** Count requests per bucket + object path (bounded), served at `/request-counts`. Env: OSP_ENABLE_REQUEST_COUNTING */
  enableRequestCounting?: boolean;
  /** Maximum distinct paths tracked by request counting. @default 10000 */
  requestCountingMaxEntries?: number;
  /** Milliseconds in-flight requests may take to finish on shutdown before connections are cut. @default 30000 */
  shutdownTimeoutMs?: number;
  /** Log level of the JSON log. @default 'info' */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export const SERVER_OPTION_KEYS = [
  'httpPort',
  'httpsPort',
  'metricsPort',
  'host',
  'metricsHost',
  'metricsBearerToken',
  'threads',
  'tlsCertPath',
  'tlsKeyPath',
  'enableRequestCounting',
  'requestCountingMaxEntries',
  'shutdownTimeoutMs',
  'logLevel',
] as const;
type ServerKey = (typeof SERVER_OPTION_KEYS)[number];

/** The validated, defaulted server settings. */
export interface ResolvedServerSettings {
  httpPort: number;
  httpsPort?: number;
  metricsPort?: number;
  host: string;
  metricsHost: string;
  /** Required on `/metrics` and `/request-counts` when set. A secret: never log it. */
  metricsBearerToken?: string;
  threads: number;
  tls?: { certPath: string; keyPath: string; cert: Buffer; key: Buffer };
  enableRequestCounting: boolean;
  requestCountingMaxEntries: number;
  shutdownTimeoutMs: number;
  logLevel: NonNullable<ServerOptions['logLevel']>;
}

const invalid = (option: string, rule: string, example?: string) => new OspConfigError('ERR_OSP_INVALID_OPTION', option, rule, example);

function port(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw invalid(option, 'must be a port number 0..65535 (0: any free port)', `${option}: 8080`);
  return value;
}

function envBool(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw invalid('OSP_ENABLE_REQUEST_COUNTING', 'must be true or false', 'OSP_ENABLE_REQUEST_COUNTING=true');
}

/** The default of `metricsHost`: loopback, see {@link ServerOptions.metricsHost}. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** RFC 6750 section 2.1 b64token, at least 16 characters (a guessable token is no protection). */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/**
 * Applies environment defaults (never overriding explicit options):
 * TLS_CERT_PATH, TLS_KEY_PATH, OSP_ENABLE_REQUEST_COUNTING, OSP_METRICS_TOKEN (→ `metricsBearerToken`), OSP_REDIS_URL (→ `redis`), and AWS_ACCESS_KEY/AWS_SECRET_KEY as
 * backend credentials for static buckets that name none (skipped when `bucketCredsFetcher` is set,
 * which is then the source for such buckets). COS_API_KEY is read by the middleware itself.
 */
export function applyEnvironment(options: ServerOptions, env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const out: ServerOptions = { ...options };
  if (out.tlsCertPath === undefined && env.TLS_CERT_PATH) out.tlsCertPath = env.TLS_CERT_PATH;
  if (out.tlsKeyPath === undefined && env.TLS_KEY_PATH) out.tlsKeyPath = env.TLS_KEY_PATH;
  if (out.enableRequestCounting === undefined) {
    const b = envBool(env.OSP_ENABLE_REQUEST_COUNTING);
    if (b !== undefined) out.enableRequestCounting = b;
  }
  if (out.metricsBearerToken === undefined && env.OSP_METRICS_TOKEN) out.metricsBearerToken = env.OSP_METRICS_TOKEN;
  if (out.redis === undefined && out.sharedStore === undefined && env.OSP_REDIS_URL) out.redis = env.OSP_REDIS_URL;
  const ak = env.AWS_ACCESS_KEY;
  const sk = env.AWS_SECRET_KEY;
  if ((ak && !sk) || (!ak && sk)) throw invalid('AWS_ACCESS_KEY', 'AWS_ACCESS_KEY and AWS_SECRET_KEY go together');
  if (ak && sk && typeof out.buckets === 'object' && out.buckets !== null && !out.bucketCredsFetcher) {
    const filled: Record<string, BucketConfig> = {};
    for (const [name, cfg] of Object.entries(out.buckets)) {
      const hasCreds = cfg && typeof cfg === 'object' && (cfg.accessKey !== undefined || cfg.apiKey !== undefined);
      filled[name] = hasCreds ? cfg : { ...cfg, accessKey: ak, secretKey: sk };
    }
    out.buckets = filled;
  }
  return out;
}

/** Splits server keys from middleware keys and validates both. Throws OspConfigError. */
export function resolveServerOptions(options: ServerOptions): { settings: ResolvedServerSettings; ospOptions: OspOptions } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid('options', 'must be an object', '{ buckets: {…}, hmacKeystore: […] }');
  const ospOptions: Record<string, unknown> = {};
  const server: Partial<Record<ServerKey, unknown>> = {};
  for (const [k, v] of Object.entries(options)) {
    if ((SERVER_OPTION_KEYS as readonly string[]).includes(k)) server[k as ServerKey] = v;
    else ospOptions[k] = v;
  }
  try {
    resolveOptions(ospOptions as unknown as OspOptions);
  } catch (err) {
    if (err instanceof OspConfigError && err.code === 'ERR_OSP_UNKNOWN_OPTION' && !err.option.includes('.') && !err.option.includes('[')) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', err.option, `unknown option; server options: ${SERVER_OPTION_KEYS.join(', ')}; middleware options: see OspOptions`);
    }
    throw err;
  }
  const host = server.host ?? '0.0.0.0';
  if (typeof host !== 'string' || host === '') throw invalid('host', 'must be an address string', `host: '127.0.0.1'`);
  const metricsHost = server.metricsHost ?? DEFAULT_METRICS_HOST;
  if (typeof metricsHost !== 'string' || metricsHost === '') throw invalid('metricsHost', 'must be an address string', `metricsHost: '127.0.0.1'`);
  const token = server.metricsBearerToken;
  // The rule only, never the value: the message is logged (e.g. by a refused reload).
  if (token !== undefined && (typeof token !== 'string' || !BEARER_TOKEN.test(token)))
    throw invalid('metricsBearerToken', 'must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (env OSP_METRICS_TOKEN)', 'the output of `openssl rand -hex 32`');
  const threads = server.threads ?? 1;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 256) throw invalid('threads', 'must be a whole number 1..256', 'threads: 4');
  const shutdownTimeoutMs = server.shutdownTimeoutMs ?? 30_000;
  if (typeof shutdownTimeoutMs !== 'number' || !Number.isFinite(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
    throw invalid('shutdownTimeoutMs', 'must be a number of milliseconds >= 0', 'shutdownTimeoutMs: 30000');
  const enableRequestCounting = server.enableRequestCounting ?? false;
  if (typeof enableRequestCounting !== 'boolean') throw invalid('enableRequestCounting', 'must be true or false');
  const maxEntries = server.requestCountingMaxEntries ?? 10_000;
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1)
    throw invalid('requestCountingMaxEntries', 'must be a positive whole number', 'requestCountingMaxEntries: 10000');
  const logLevel = server.logLevel ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel as string)) throw invalid('logLevel', 'must be a pino level', `logLevel: 'info'`);
  const httpsPort = port(server.httpsPort, 'httpsPort');
  let tls: ResolvedServerSettings['tls'];
  const certPath = server.tlsCertPath;
  const keyPath = server.tlsKeyPath;
  if (certPath !== undefined && typeof certPath !== 'string') throw invalid('tlsCertPath', 'must be a file path');
  if (keyPath !== undefined && typeof keyPath !== 'string') throw invalid('tlsKeyPath', 'must be a file path');
  if (httpsPort !== undefined) {
    if (!certPath || !keyPath) throw invalid('httpsPort', 'needs tlsCertPath and tlsKeyPath (or TLS_CERT_PATH / TLS_KEY_PATH)');
    tls = { certPath, keyPath, ...readTlsFiles(certPath, keyPath) };
  }
  return {
    settings: {
      httpPort: port(server.httpPort, 'httpPort') ?? 8080,
      httpsPort,
      metricsPort: port(server.metricsPort, 'metricsPort'),
      host,
      metricsHost,
      ...(token !== undefined ? { metricsBearerToken: token as string } : {}),
      threads,
      tls,
      enableRequestCounting,
      requestCountingMaxEntries: maxEntries,
      shutdownTimeoutMs,
      logLevel: logLevel as ResolvedServerSettings['logLevel'],
    },
    ospOptions: ospOptions as unknown as OspOptions,
  };
}

export function readTlsFiles(certPath: string, keyPath: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  } catch (err) {
    throw invalid('tlsCertPath', `could not read the certificate or key: ${(err as Error).message}`);
  }
}
