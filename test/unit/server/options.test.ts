import { applyEnvironment, resolveServerOptions, type ServerOptions } from '../../../lib/server/options';
import { OspConfigError } from '../../../lib/errors';

const base: ServerOptions = { buckets: { a: { host: 's3.example.com' }, b: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }, hmacKeystore: [{ accessKey: 'c', secretKey: 's' }] };

test('splits server keys from middleware keys and applies defaults', () => {
  const { settings, ospOptions } = resolveServerOptions({ ...base, httpPort: 0, threads: 2, metricsPort: 9100 });
  expect(settings).toMatchObject({ httpPort: 0, threads: 2, metricsPort: 9100, host: '0.0.0.0', shutdownTimeoutMs: 30_000, enableRequestCounting: false });
  expect(Object.keys(ospOptions).sort()).toEqual(['buckets', 'hmacKeystore']);
  expect(resolveServerOptions(base).settings.httpPort).toBe(8080);
});

test('unknown keys are errors, naming the key', () => {
  expect(() => resolveServerOptions({ ...base, httpport: 1 } as unknown as ServerOptions)).toThrow(/ERR_OSP_UNKNOWN_OPTION httpport/);
  expect(() => resolveServerOptions({ ...base, buckets: { a: { host: 'h', hots: 1 } } } as unknown as ServerOptions)).toThrow(/buckets\.a\.hots/);
});

test.each([
  [{ httpPort: 70000 }, 'httpPort'],
  [{ threads: 0 }, 'threads'],
  [{ httpsPort: 8443 }, 'httpsPort'],
  [{ enableRequestCounting: 'yes' }, 'enableRequestCounting'],
  [{ shutdownTimeoutMs: -1 }, 'shutdownTimeoutMs'],
])('invalid server option %j', (extra, option) => {
  const err = (() => {
    try {
      resolveServerOptions({ ...base, ...(extra as object) });
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(OspConfigError);
  expect((err as OspConfigError).option).toBe(option);
});

test('environment: TLS paths, request counting, default backend credentials for buckets without any', () => {
  const out = applyEnvironment(base, { TLS_CERT_PATH: '/c.pem', TLS_KEY_PATH: '/k.pem', OSP_ENABLE_REQUEST_COUNTING: 'true', AWS_ACCESS_KEY: 'ENVAK', AWS_SECRET_KEY: 'ENVSK' });
  expect(out).toMatchObject({ tlsCertPath: '/c.pem', tlsKeyPath: '/k.pem', enableRequestCounting: true });
  expect(out.buckets).toEqual({ a: { host: 's3.example.com', accessKey: 'ENVAK', secretKey: 'ENVSK' }, b: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } });
  expect(base.buckets).toEqual({ a: { host: 's3.example.com' }, b: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }); // caller's object untouched
  // explicit options win; half a keypair is an error
  expect(applyEnvironment({ ...base, enableRequestCounting: false }, { OSP_ENABLE_REQUEST_COUNTING: 'true' }).enableRequestCounting).toBe(false);
  expect(() => applyEnvironment(base, { AWS_ACCESS_KEY: 'x' })).toThrow(OspConfigError);
  expect(() => applyEnvironment(base, { OSP_ENABLE_REQUEST_COUNTING: 'maybe' })).toThrow(OspConfigError);
});

test('metricsHost: loopback by default whatever host is; metricsBearerToken from OSP_METRICS_TOKEN, checked without echoing it', () => {
  expect(resolveServerOptions({ ...base, host: '0.0.0.0' }).settings).toMatchObject({ host: '0.0.0.0', metricsHost: '127.0.0.1' });
  expect(resolveServerOptions({ ...base, metricsHost: '0.0.0.0' }).settings.metricsHost).toBe('0.0.0.0');
  expect(resolveServerOptions(base).settings.metricsBearerToken).toBeUndefined();
  const token = 'a-long-enough-token_0123456789';
  expect(applyEnvironment(base, { OSP_METRICS_TOKEN: token }).metricsBearerToken).toBe(token);
  expect(applyEnvironment({ ...base, metricsBearerToken: `${token}x` }, { OSP_METRICS_TOKEN: token }).metricsBearerToken).toBe(`${token}x`); // explicit wins
  expect(resolveServerOptions({ ...base, metricsBearerToken: token }).settings.metricsBearerToken).toBe(token);
  for (const bad of ['short-secret', 'has spaces in the token value', 'x'.repeat(20) + '\n', 42]) {
    let err: unknown;
    try {
      resolveServerOptions({ ...base, metricsBearerToken: bad as string });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OspConfigError);
    expect(err).toMatchObject({ code: 'ERR_OSP_INVALID_OPTION', option: 'metricsBearerToken' });
    expect((err as Error).message).not.toContain(String(bad));
  }
  expect(() => resolveServerOptions({ ...base, metricsHost: '' })).toThrow(/ERR_OSP_INVALID_OPTION metricsHost/);
});
