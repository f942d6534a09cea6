/** The standalone server: `startServer`, `createApp` and helpers. */
export { startServer, LISTENER_TIMEOUTS } from './start-server';
export type { RunningServer, StartServerExtras } from './start-server';
export type { ServerOptions } from './options';
export { createApp, createLogger } from './create-app';
export type { OspApp, CreateAppExtras } from './create-app';
export { createMetrics } from './metrics';
export type { OspMetrics, OspMetricsOptions } from './metrics';
export { redactUrl, redactHeaders } from './redact';
export { createRequestCounter } from './request-counts';
export type { RequestCounter } from './request-counts';
export { createIpcUsageStore } from './cluster-ipc';
export type { IpcChannel } from './cluster-ipc';
export type { ConfigLoader } from './config-reload';
