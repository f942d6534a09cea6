import { tracingSettingsFromEnv } from '../../../lib/server/tracing';

describe('tracingSettingsFromEnv', () => {
  test('off by default', () => {
    expect(tracingSettingsFromEnv({})).toEqual({ enabled: false, protocol: 'http/protobuf', propagators: ['tracecontext', 'baggage'], warnings: [] });
  });

  test('on with an OTLP endpoint (any signal), or with OTEL_TRACES_EXPORTER=otlp', () => {
    expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(true);
    expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).enabled).toBe(true);
    expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(true);
    expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: ' OTLP ' }).enabled).toBe(true);
  });

  test('off when disabled, or when the exporter is none or unsupported (with a warning)', () => {
    expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    const zipkin = tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' });
    expect(zipkin.enabled).toBe(false);
    expect(zipkin.warnings).toEqual(['OTEL_TRACES_EXPORTER=zipkin is not supported by osp (only otlp); ignored']);
    expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'console,otlp' }).enabled).toBe(true);
  });

  test('protocol: http/protobuf by default, http/json on request, the traces-specific variable first', () => {
    expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).protocol).toBe('http/protobuf');
  });

  test('grpc is a configuration error naming the variable, only when tracing is on', () => {
    expect(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/ERR_OSP_INVALID_OPTION OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/);
    expect(() => tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).enabled).toBe(false);
  });

  test('propagators', () => {
    expect(tracingSettingsFromEnv({ OTEL_PROPAGATORS: 'tracecontext' }).propagators).toEqual(['tracecontext']);
    expect(tracingSettingsFromEnv({ OTEL_PROPAGATORS: 'none' }).propagators).toEqual([]);
    const b3 = tracingSettingsFromEnv({ OTEL_PROPAGATORS: 'b3,tracecontext' });
    expect(b3.propagators).toEqual(['tracecontext']);
    expect(b3.warnings).toEqual(['OTEL_PROPAGATORS=b3 is not supported by osp (only tracecontext, baggage); ignored']);
  });
});
