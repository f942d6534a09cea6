/** What `startServer` returns and takes besides the options; helpers shared by its listeners and its cluster roles. */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type pino from 'pino';
import type { ConfigLoader } from './config-reload';

/** A started server. */
export interface RunningServer {
  /** 'single' (threads: 1), 'primary' (cluster primary) or 'worker' (cluster worker). */
  readonly role: 'single' | 'primary' | 'worker';
  readonly httpPort: number;
  readonly httpsPort?: number;
  readonly metricsPort?: number;
  /** URLs of the listeners, e.g. `{ http: 'http://127.0.0.1:8080' }`. */
  readonly addresses: { http: string; https?: string; metrics?: string };
  readonly logger: Logger;
  /** Request counts per bucket + path (summed over workers); empty when counting is disabled. */
  requestCounts(): Promise<Record<string, number>>;
  /**
   * Drops everything cached about a frontend access key in every worker of this server, and with
   * `redis` in every instance sharing it (see `OspMiddleware.revokeAccessKey`). Resolves `false`
   * when the shared store could not be reached (this server's workers are invalidated anyway).
   */
  revokeAccessKey(accessKey: string): Promise<boolean>;
  /** Drops cached decisions and fetched backend credentials of a bucket, as {@link revokeAccessKey}. */
  invalidateBucket(bucket: string): Promise<boolean>;
  /** Re-reads the TLS certificate and key (also done on SIGHUP by the CLI). */
  reloadCertificates(): Promise<void>;
  /**
   * Re-reads the configuration with `extras.loadConfig` and applies it to new requests in every
   * serving process (in cluster mode each worker reloads itself). In-flight transfers finish on the
   * old configuration. Resolves `false` when the new configuration was refused (logged, counted in
   * `osp_config_reloads_total{result="error"}`; the old one stays). Done by the CLI on SIGHUP and
   * when the config file changes.
   */
  reloadConfig(): Promise<boolean>;
  /** Graceful stop: no new connections, in-flight requests finish (up to `shutdownTimeoutMs`). */
  close(): Promise<void>;
}

/** Extra, non-serialisable wiring (tests, embedding). */
export interface StartServerExtras {
  /** Where the JSON log goes. @default stdout */
  logDestination?: pino.DestinationStream;
  /** Reads the configuration again, for {@link RunningServer.reloadConfig} (the CLI passes its file loader). */
  loadConfig?: ConfigLoader;
}

/** Whether `host` is a loopback address or name (only this machine can connect). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Where each listener of a started server listens, for the startup log line: the bound address (not
 * a URL: `0.0.0.0` says "every interface") and port, and whether the metrics listener requires a
 * bearer token (never the token).
 */
export function listenerSummary(
  settings: { host: string; metricsHost: string; metricsBearerToken?: string },
  ports: { http: number; https?: number; metrics?: number },
): Record<string, { address: string; port: number; bearerToken?: 'required' | 'none' }> {
  return {
    http: { address: settings.host, port: ports.http },
    ...(ports.https !== undefined ? { https: { address: settings.host, port: ports.https } } : {}),
    ...(ports.metrics !== undefined ? { metrics: { address: settings.metricsHost, port: ports.metrics, bearerToken: settings.metricsBearerToken !== undefined ? 'required' : 'none' } } : {}),
  };
}

export function urlOf(scheme: string, host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

export function listen(
  server: {
    listen(port: number, host: string, cb: () => void): unknown;
    once(e: 'error', l: (err: Error) => void): unknown;
    off(e: 'error', l: (err: Error) => void): unknown;
    address(): AddressInfo | string | null;
  },
  port: number,
  host: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
