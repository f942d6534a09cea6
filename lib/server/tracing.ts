/**
 * Tracing of the standalone server, switched on by the standard OpenTelemetry environment
 * variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * spans go over OTLP/HTTP (protobuf by default, JSON with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`)
 * to `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`).
 *
 * The SDK is loaded here, lazily, and only when tracing is on: the middleware itself depends on
 * `@opentelemetry/api` alone, and an application embedding it brings its own SDK if it wants one.
 * Endpoint, headers, timeout, compression, sampler (`OTEL_TRACES_SAMPLER[_ARG]`), batching
 * (`OTEL_BSP_*`) and resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) are read by the
 * SDK packages themselves.
 */
import type { Logger } from 'pino';
import { OspConfigError } from '../errors';

/** OTLP transports the server can speak. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** What {@link tracingSettingsFromEnv} decided. */
export interface TracingSettings {
  enabled: boolean;
  protocol: OtlpProtocol;
  /** W3C propagators to register: `tracecontext`, `baggage`. */
  propagators: ('tracecontext' | 'baggage')[];
  /** Values that were ignored, to log. */
  warnings: string[];
}

const DEFAULT_SERVICE_NAME = 'object-storage-proxy';

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Reads the tracing switches from the environment. Tracing is on when `OTEL_TRACES_EXPORTER`
 * names `otlp`, or — with `OTEL_TRACES_EXPORTER` unset — when an OTLP endpoint is given;
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off.
 *
 * @throws OspConfigError for a protocol the server cannot speak (`grpc`): an operator who set it
 *   expects traces, and a silent fallback would send them nowhere.
 */
export function tracingSettingsFromEnv(env: NodeJS.ProcessEnv): TracingSettings {
  const warnings: string[] = [];
  const exporters = list(env.OTEL_TRACES_EXPORTER);
  for (const e of exporters) if (e !== 'otlp' && e !== 'none') warnings.push(`OTEL_TRACES_EXPORTER=${e} is not supported by osp (only otlp); ignored`);
  const hasEndpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporters.includes('none');
  const enabled = !disabled && (exporters.length > 0 ? exporters.includes('otlp') : hasEndpoint);

  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[protocolVar]?.trim().toLowerCase() || 'http/protobuf') as OtlpProtocol;
  if (enabled && protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new OspConfigError('ERR_OSP_INVALID_OPTION', protocolVar, `"${env[protocolVar]}" is not supported: osp exports traces over OTLP/HTTP only`, 'http/protobuf or http/json');
  }

  const propagators: TracingSettings['propagators'] = [];
  const names = env.OTEL_PROPAGATORS === undefined ? ['tracecontext', 'baggage'] : list(env.OTEL_PROPAGATORS);
  for (const p of names) {
    if (p === 'tracecontext' || p === 'baggage') propagators.push(p);
    else if (p !== 'none') warnings.push(`OTEL_PROPAGATORS=${p} is not supported by osp (only tracecontext, baggage); ignored`);
  }
  return { enabled, protocol, propagators, warnings };
}

/** Tracing of this process, once started. */
export interface Tracing {
  /** Sends the spans still buffered (call before the process exits). Never rejects. */
  flush(): Promise<void>;
}

/** One SDK per process: several servers in one process share it. */
let started: Promise<Tracing> | undefined;

/**
 * Starts the OpenTelemetry SDK from the environment when tracing is switched on there, and
 * registers it globally (tracer provider, W3C propagators, AsyncLocalStorage context). Resolves
 * `undefined` when tracing is off. Export failures are logged as warnings, never thrown.
 */
export function startTracingFromEnv(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  const settings = tracingSettingsFromEnv(env);
  for (const w of settings.warnings) logger.warn({}, w);
  if (!settings.enabled) return Promise.resolve(undefined);
  started ??= loadSdk(settings, logger);
  return started;
}

async function loadSdk(settings: TracingSettings, logger: Logger): Promise<Tracing> {
  // Loaded here only: a process without tracing never loads the SDK.
  const api = await import('@opentelemetry/api');
  const core = await import('@opentelemetry/core');
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes } = await import('@opentelemetry/resources');
  const { OTLPTraceExporter } = settings.protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  const { packageVersion } = await import('./create-app');

  const diagLog = logger.child({ component: 'opentelemetry' });
  api.diag.setLogger(
    {
      error: (message: string) => diagLog.warn({}, message),
      warn: (message: string) => diagLog.warn({}, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    api.DiagLogLevel.WARN,
  );
  // Our defaults, then what the environment says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME, 'service.version': packageVersion() }))
    .merge(detectResources({ detectors: [hostDetector, envDetector] }));
  const exporter = new OTLPTraceExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const propagators = settings.propagators.map((p) => (p === 'tracecontext' ? new core.W3CTraceContextPropagator() : new core.W3CBaggagePropagator()));
  provider.register({ propagator: new core.CompositePropagator({ propagators }) });
  logger.info({ protocol: settings.protocol, propagators: settings.propagators }, 'OpenTelemetry tracing on');
  return {
    async flush() {
      try {
        await provider.forceFlush();
      } catch (err) {
        diagLog.warn({ error: (err as Error).message }, 'could not flush spans');
      }
    },
  };
}
