import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIamTokenProvider, type IamTokenProviderOptions } from '../../../lib/backends/iam-token-provider';
import { OspError } from '../../../lib/errors';
import { startIamStandIn, type IamStandIn } from '../../helpers/iam-stand-in';

const KEY = 'test-api-key';
const KEY2 = 'second key/with+special&chars=%';
const SECRET_KEY = 'SECRET-ApiKey-do-not-leak-9f8e7d';

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

async function expectUnavailable(p: Promise<unknown>): Promise<OspError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OspError);
  const err = caught as OspError;
  expect(err.status).toBe(503);
  expect(err.s3Code).toBe('TokenServiceUnavailable');
  expect(err.message).toMatch(/^Could not obtain an IAM token for the backend: /);
  return err;
}

function waitForRefresh(): { opts: Pick<IamTokenProviderOptions, 'onRefresh'>; next(): Promise<'ok' | 'error'>; outcomes: string[] } {
  const outcomes: ('ok' | 'error')[] = [];
  const waiters: ((o: 'ok' | 'error') => void)[] = [];
  return {
    outcomes,
    opts: {
      onRefresh: (o) => {
        outcomes.push(o);
        waiters.shift()?.(o);
      },
    },
    next: () => new Promise((resolve) => waiters.push(resolve)),
  };
}

describe('IAM token provider against the local IAM stand-in', () => {
  let iam: IamStandIn;

  beforeEach(async () => {
    iam = await startIamStandIn({ apiKeys: [KEY, KEY2, SECRET_KEY] });
  });
  afterEach(async () => {
    await iam.close();
  });

  test('sends the documented request and returns the access_token', async () => {
    const provider = createIamTokenProvider({ iamEndpoint: iam.url });
    const token = await provider.getToken(KEY);
    expect(token).toBe(iam.currentToken());
    const req = iam.lastRequest()!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/identity/token');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers.accept).toBe('application/json');
    expect(req.form).toEqual({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: KEY });
    expect(provider.size()).toBe(1);
  });

  test('an endpoint with a trailing slash still reaches /identity/token', async () => {
    const provider = createIamTokenProvider({ iamEndpoint: `${iam.url}/` });
    const token = await provider.getToken(KEY);
    expect(token).toBe(iam.currentToken());
    expect(iam.lastRequest()!.path).toBe('/identity/token');
  });

  test('50 concurrent getToken calls on a cold cache → exactly one token request', async () => {
    const provider = createIamTokenProvider({ iamEndpoint: iam.url });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => provider.getToken(KEY)));
    expect(iam.requests()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(iam.currentToken());
    // and later calls are served from the cache
    await provider.getToken(KEY);
    expect(iam.requests()).toBe(1);
  });

  test('a token inside its refresh window is served at once while ONE background refresh runs', async () => {
    const clock = fakeClock();
    const r = waitForRefresh();
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now, ...r.opts });
    const first = await provider.getToken(KEY); // expires_in 3600 → refresh at min(3300 s, 2880 s) = 2880 s
    expect(r.outcomes).toEqual(['ok']);

    clock.advance(2879_000);
    expect(await provider.getToken(KEY)).toBe(first);
    expect(iam.requests()).toBe(1);

    clock.advance(2_000); // inside the window, still valid
    const refreshed = r.next();
    const during = await Promise.all(Array.from({ length: 50 }, () => provider.getToken(KEY)));
    expect(during.every((t) => t === first)).toBe(true); // nobody waited for the refresh
    expect(await refreshed).toBe('ok');
    expect(iam.requests()).toBe(2);
    const second = await provider.getToken(KEY);
    expect(second).not.toBe(first);
    expect(second).toBe(iam.currentToken());
    expect(iam.requests()).toBe(2);
  });

  test('short-lived tokens (expires_in 2 s, real clock) are refreshed once in the background, no caller fails', async () => {
    iam.setExpiresIn(2);
    const r = waitForRefresh();
    // refresh at min(2 s - 1 s, 0.8 × 2 s) = 1 s
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, refreshBeforeSeconds: 1, ...r.opts });
    const first = await provider.getToken(KEY);
    // A real wait on purpose: this is the real-clock twin of the fake-clock test above (the refresh timer, Date.now and IAM's iat together).
    await new Promise((res) => setTimeout(res, 1150));
    const refreshed = r.next();
    const started = Date.now();
    const during = await Promise.all(Array.from({ length: 20 }, () => provider.getToken(KEY)));
    expect(Date.now() - started).toBeLessThan(250);
    expect(during.every((t) => t === first)).toBe(true);
    expect(await refreshed).toBe('ok');
    expect(iam.requests()).toBe(2);
    expect(await provider.getToken(KEY)).toBe(iam.currentToken());
    expect(r.outcomes).toEqual(['ok', 'ok']);
  });

  test.each([
    // [expires_in s, refreshBeforeSeconds, minRefreshFraction, expected refresh point s]
    [3600, 300, 0.8, 2880], // fraction earlier than the window
    [3600, 300, 0.95, 3300], // window earlier than the fraction
    [60, 300, 0.8, 48], // short-lived: window > lifetime → fraction
    [301, 300, 0.8, 240.8], // window > half the lifetime → fraction
    [3, 1, 0.8, 2], // short window on a short token
  ])('expires_in %d s, refreshBefore %d s, fraction %d → refresh at %d s', async (expiresIn, before, fraction, at) => {
    iam.setExpiresIn(expiresIn);
    const clock = fakeClock();
    const r = waitForRefresh();
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now, refreshBeforeSeconds: before, minRefreshFraction: fraction, ...r.opts });
    const first = await provider.getToken(KEY);
    clock.advance(at * 1000 - 1);
    expect(await provider.getToken(KEY)).toBe(first);
    expect(iam.requests()).toBe(1);
    clock.advance(1);
    const refreshed = r.next();
    expect(await provider.getToken(KEY)).toBe(first);
    expect(await refreshed).toBe('ok');
    expect(iam.requests()).toBe(2);
  });

  test('an expired token makes callers wait for the single in-flight exchange', async () => {
    const clock = fakeClock();
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now });
    const first = await provider.getToken(KEY);
    clock.advance(3600_000); // exactly expired
    const tokens = await Promise.all(Array.from({ length: 30 }, () => provider.getToken(KEY)));
    expect(iam.requests()).toBe(2);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
    expect(tokens[0]).toBe(iam.currentToken());
  });

  test('a failed background refresh keeps serving the still-valid token', async () => {
    const clock = fakeClock();
    const r = waitForRefresh();
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now, requestTimeoutMs: 400, ...r.opts });
    const first = await provider.getToken(KEY);
    clock.advance(3000_000); // in the refresh window (refresh at 2880 s), valid until 3600 s
    iam.setMode('slow');
    const refreshed = r.next();
    const t0 = Date.now();
    expect(await provider.getToken(KEY)).toBe(first);
    expect(Date.now() - t0).toBeLessThan(250); // did not wait for the slow IAM (timeout 400 ms)
    expect(await refreshed).toBe('error');
    expect(await provider.getToken(KEY)).toBe(first);
    expect(iam.requests()).toBe(2); // backoff: no new background attempt yet

    clock.advance(1_000); // backoff over → next call triggers one more background refresh
    iam.setMode('ok');
    const again = r.next();
    expect(await provider.getToken(KEY)).toBe(first);
    expect(await again).toBe('ok');
    expect(await provider.getToken(KEY)).toBe(iam.currentToken());
    expect(iam.requests()).toBe(3);
  });

  describe('IAM outage', () => {
    test.each([
      ['down', /IAM is unreachable \((ECONNRESET|EPIPE|network error)\)/],
      ['error500', /IAM answered HTTP 500 \(BXNIM0999E\)/],
      ['badjson', /not JSON/],
    ] as const)('mode %s → 503 OspError quickly, then recovery', async (mode, reason) => {
      const clock = fakeClock();
      const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now, requestTimeoutMs: 2000 });
      iam.setMode(mode);
      const t0 = Date.now();
      const err = await expectUnavailable(provider.getToken(KEY));
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(err.message).toMatch(reason);
      expect(provider.size()).toBe(0); // failure not cached as a token

      // During the backoff: the same 503 at once, without hitting IAM.
      const before = iam.requests();
      const again = await expectUnavailable(provider.getToken(KEY));
      expect(again.message).toBe(err.message);
      expect(iam.requests()).toBe(before);

      iam.setMode('ok');
      clock.advance(1_000);
      const token = await provider.getToken(KEY);
      expect(token).toBe(iam.currentToken());
    });

    test('slow IAM → 503 bounded by requestTimeoutMs', async () => {
      const clock = fakeClock(); // the backoff runs on it; the request timeout stays a real timer
      const provider = createIamTokenProvider({ iamEndpoint: iam.url, requestTimeoutMs: 250, failureBackoffMs: 50, now: clock.now });
      iam.setMode('slow');
      const t0 = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => provider.getToken(KEY)));
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(1000);
      expect(iam.requests()).toBe(1); // single flight during the outage too
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const e = (r as PromiseRejectedResult).reason as OspError;
        expect(e.status).toBe(503);
        expect(e.message).toMatch(/did not answer within 250 ms/);
      }
      clock.advance(60); // past failureBackoffMs
      iam.setMode('ok');
      const token = await provider.getToken(KEY);
      expect(token).toBe(iam.currentToken());
    });

    test('nothing listening → 503 ECONNREFUSED', async () => {
      const srv = http.createServer();
      await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
      const { port } = srv.address() as AddressInfo;
      await new Promise<void>((res) => srv.close(() => res()));
      const provider = createIamTokenProvider({ iamEndpoint: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 });
      const err = await expectUnavailable(provider.getToken(KEY));
      expect(err.message).toMatch(/ECONNREFUSED/);
    });

    test('unknown API key → 503 naming the IBM error code only', async () => {
      const provider = createIamTokenProvider({ iamEndpoint: iam.url });
      const err = await expectUnavailable(provider.getToken('not-a-known-key'));
      expect(err.message).toBe('Could not obtain an IAM token for the backend: IAM answered HTTP 400 (BXNIM0415E)');
    });

    test('empty API key → 503 without calling IAM', async () => {
      const provider = createIamTokenProvider({ iamEndpoint: iam.url });
      await expectUnavailable(provider.getToken(''));
      expect(iam.requests()).toBe(0);
    });
  });

  describe('invalidate', () => {
    test('drops the cached token only if it is still that token', async () => {
      const provider = createIamTokenProvider({ iamEndpoint: iam.url });
      const first = await provider.getToken(KEY);
      provider.invalidate(KEY, 'some-other-token');
      expect(await provider.getToken(KEY)).toBe(first);
      expect(iam.requests()).toBe(1);

      provider.invalidate(KEY, first);
      expect(provider.size()).toBe(0);
      const second = await provider.getToken(KEY);
      expect(second).not.toBe(first);
      expect(iam.requests()).toBe(2);

      // A late "first token expired" report must not drop the fresh token.
      provider.invalidate(KEY, first);
      expect(await provider.getToken(KEY)).toBe(second);
      expect(iam.requests()).toBe(2);
    });

    test('without a token it drops whatever is cached; unknown keys are a no-op', async () => {
      const provider = createIamTokenProvider({ iamEndpoint: iam.url });
      await provider.getToken(KEY);
      provider.invalidate('never-seen');
      expect(provider.size()).toBe(1);
      provider.invalidate(KEY);
      expect(provider.size()).toBe(0);
    });

    test('concurrent "token expired" reports → one refresh', async () => {
      const provider = createIamTokenProvider({ iamEndpoint: iam.url });
      const first = await provider.getToken(KEY);
      const retried = await Promise.all(
        Array.from({ length: 20 }, async () => {
          provider.invalidate(KEY, first);
          return provider.getToken(KEY);
        }),
      );
      // The first caller drops `first`; later invalidate(first) calls see another (pending) state.
      expect(new Set(retried).size).toBe(1);
      expect(iam.requests()).toBe(2);
    });
  });

  test('two API keys → two tokens, separate caches', async () => {
    const provider = createIamTokenProvider({ iamEndpoint: iam.url });
    const [a, b] = await Promise.all([provider.getToken(KEY), provider.getToken(KEY2)]);
    expect(a).not.toBe(b);
    expect(iam.requests()).toBe(2);
    expect(iam.tokensFor(KEY)).toEqual([a]);
    expect(iam.tokensFor(KEY2)).toEqual([b]); // special characters were url-encoded correctly
    expect(provider.size()).toBe(2);
    provider.invalidate(KEY, a);
    expect(await provider.getToken(KEY2)).toBe(b);
    expect(provider.size()).toBe(1);
    expect(iam.requests()).toBe(2);
  });

  test('the API key and tokens never appear in error messages', async () => {
    const clock = fakeClock();
    const provider = createIamTokenProvider({ iamEndpoint: iam.url, now: clock.now, requestTimeoutMs: 300 });
    const token = await provider.getToken(SECRET_KEY);
    provider.invalidate(SECRET_KEY, token);
    const messages: string[] = [];
    for (const mode of ['down', 'error500', 'badjson', 'slow'] as const) {
      iam.setMode(mode);
      clock.advance(10_000);
      const err = await expectUnavailable(provider.getToken(SECRET_KEY));
      messages.push(err.message, String(err.stack), JSON.stringify(err), String((err as { cause?: unknown }).cause ?? ''));
    }
    iam.setMode('ok');
    clock.advance(10_000);
    const unknown = 'UNKNOWN-secret-key-777';
    const err = await expectUnavailable(provider.getToken(unknown));
    messages.push(err.message, String(err.stack));
    for (const m of messages) {
      expect(m).not.toContain(SECRET_KEY);
      expect(m).not.toContain(encodeURIComponent(SECRET_KEY));
      expect(m).not.toContain(unknown);
      expect(m).not.toContain(token);
    }
  });
});

describe('option validation', () => {
  test.each([
    [{ iamEndpoint: 'not a url' }],
    [{ iamEndpoint: 'ftp://iam.example' }],
    [{ iamEndpoint: 'https://user:pw@iam.example' }],
    [{ refreshBeforeSeconds: -1 }],
    [{ minRefreshFraction: 0 }],
    [{ minRefreshFraction: 1.5 }],
    [{ requestTimeoutMs: 0 }],
  ])('%j is refused', (opts) => {
    expect(() => createIamTokenProvider(opts as IamTokenProviderOptions)).toThrow(/ERR_OSP_INVALID_OPTION/);
  });
});
