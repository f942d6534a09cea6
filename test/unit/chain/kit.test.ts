/**
 * The kit checks what it claims: its upstream tells a valid signature from a wrong one (so the
 * chain tests' `valid: true` means something), and its clock fakes Date only.
 */
import { createHash } from 'node:crypto';
import { signHeaders } from '../../helpers/independent-signer';
import { call } from '../../helpers/raw-http';
import { fakeWallClock, startKitUpstream, UPSTREAM_KEYS, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
beforeAll(async () => {
  upstream = await startKitUpstream();
});
afterAll(() => upstream.close());
beforeEach(() => upstream.clear());

async function sendSigned(secret: string, opts: { sentPath?: string; body?: string; declared?: string; accessKeyId?: string } = {}) {
  const host = `127.0.0.1:${upstream.port}`;
  const body = opts.body ?? 'payload';
  const hash = opts.declared ?? createHash('sha256').update(body).digest('hex');
  const headers = await signHeaders({
    method: 'PUT',
    host,
    path: '/b/a%20key',
    query: { partNumber: '2', uploadId: 'x/y' },
    headers: { 'x-amz-content-sha256': hash, 'x-amz-meta-m': 'v' },
    accessKeyId: opts.accessKeyId ?? UPSTREAM_KEYS.accessKey,
    secretAccessKey: secret,
  });
  await call(`http://${host}${opts.sentPath ?? '/b/a%20key'}?partNumber=2&uploadId=x%2Fy`, 'PUT', headers, Buffer.from(body));
  return upstream.last();
}

describe('kit upstream', () => {
  it('records the request and accepts a correct signature', async () => {
    const got = await sendSigned(UPSTREAM_KEYS.secretKey);
    expect(got).toMatchObject({ method: 'PUT', path: '/b/a%20key', query: { partNumber: '2', uploadId: 'x/y' }, auth: { kind: 'sigv4', valid: true }, payloadValid: true });
    expect(got.body.toString()).toBe('payload');
  });

  it('flags a wrong secret, a changed path, an unknown key and a body that does not match its hash', async () => {
    expect((await sendSigned('wrong')).auth).toMatchObject({ kind: 'sigv4', valid: false });
    expect((await sendSigned(UPSTREAM_KEYS.secretKey, { sentPath: '/b/other' })).auth).toMatchObject({ valid: false });
    expect((await sendSigned(UPSTREAM_KEYS.secretKey, { accessKeyId: 'STRANGER' })).auth).toMatchObject({ kind: 'invalid' });
    expect((await sendSigned(UPSTREAM_KEYS.secretKey, { declared: createHash('sha256').update('other').digest('hex') })).payloadValid).toBe(false);
  });

  it('answers queued responses in order, then the fallback; unsigned requests are auth none', async () => {
    upstream.reply({ status: 201, body: 'one' }, () => ({ status: 202, headers: { 'x-n': '2' } }));
    const url = `http://127.0.0.1:${upstream.port}/x`;
    expect((await call(url)).status).toBe(201);
    expect((await call(url)).headers['x-n']).toBe('2');
    expect((await call(url)).status).toBe(200);
    expect(upstream.last().auth).toEqual({ kind: 'none' });
  });
});

describe('fakeWallClock', () => {
  it('fakes Date.now but leaves timers real', async () => {
    const clock = fakeWallClock(Date.UTC(2030, 0, 1));
    try {
      expect(new Date().toISOString()).toBe('2030-01-01T00:00:00.000Z');
      clock.advance(90_000);
      expect(Date.now()).toBe(Date.UTC(2030, 0, 1, 0, 1, 30));
      await new Promise((r) => setTimeout(r, 1)); // a real timer still fires
    } finally {
      clock.restore();
    }
    expect(Date.now()).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(Date.now()).toBeLessThan(Date.UTC(2030, 0, 1));
  });
});
