/**
 * verifySignature through the chain: what it accepts (SigV4 header and presigned, SigV2 when
 * allowed, fetched keys) and what it refuses, fail closed, before anything reaches the upstream.
 * Times are set with the kit's fake wall clock instead of waited for.
 */
import { createHmac } from 'node:crypto';
import type { OspOptions } from '../../../lib/options';
import { presignQuery, signHeaders } from '../../helpers/independent-signer';
import { call } from '../../helpers/raw-http';
import { FRONTEND, fakeWallClock, kitBucket, startChain, startKitUpstream, type FakeWallClock, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
let proxy: KitChain;
const fetched: string[] = [];
let clock: FakeWallClock | undefined;

const options = (up: KitUpstream): OspOptions => ({
  buckets: { b: kitBucket(up) },
  hmacKeystore: [FRONTEND],
  hmacFetcher: (accessKey) => {
    fetched.push(accessKey);
    if (accessKey === 'FETCHED') return 'FETCHED-SK';
    if (accessKey === 'READONLY') return { secretKey: 'RO-SK', policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] }] };
    return null;
  },
  acceptedRegions: ['us-east-1'],
  allowSigV2: true,
});

beforeAll(async () => {
  upstream = await startKitUpstream();
  proxy = await startChain(options(upstream));
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.clear();
  fetched.length = 0;
});
afterEach(() => {
  clock?.restore();
  clock = undefined;
});

describe('presigned URLs and the clock', () => {
  it('a presigned URL works until it expires: 403 AccessDenied "Request has expired" one second after (fake clock)', async () => {
    const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    clock = fakeWallClock(signedAt);
    const url = { path: '/b/k', sign: 'presign' as const, signingDate: signedAt, expiresIn: 60 };
    clock.advance(59_000);
    expect((await proxy.send(url)).status).toBe(200);
    clock.advance(2_000);
    const expired = await proxy.send(url);
    expect([expired.status, expired.code, expired.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a header-signed request outside the skew window is 403 RequestTimeTooSkewed (fake clock, both directions)', async () => {
    const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    clock = fakeWallClock(signedAt.getTime() + 16 * 60_000);
    expect((await proxy.send({ path: '/b/k', signingDate: signedAt })).code).toBe('RequestTimeTooSkewed');
    clock.set(signedAt.getTime() - 16 * 60_000);
    expect((await proxy.send({ path: '/b/k', signingDate: signedAt })).code).toBe('RequestTimeTooSkewed');
    clock.set(signedAt.getTime() + 60_000);
    expect((await proxy.send({ path: '/b/k', signingDate: signedAt })).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('refusals before the upstream', () => {
  it('a region outside acceptedRegions: 400 AuthorizationHeaderMalformed (header) / AuthorizationQueryParametersError (presigned)', async () => {
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({ method: 'GET', host, path: '/b/k', accessKeyId: FRONTEND.accessKey, secretAccessKey: FRONTEND.secretKey, region: 'eu-west-9' });
    const a = await call(`http://${host}/b/k`, 'GET', headers);
    expect([a.status, a.code]).toEqual([400, 'AuthorizationHeaderMalformed']);
    expect(a.body.toString()).toContain('<Region>us-east-1</Region>');
    const query = await presignQuery({ method: 'GET', host, path: '/b/k', accessKeyId: FRONTEND.accessKey, secretAccessKey: FRONTEND.secretKey, region: 'eu-west-9' });
    const p = await call(`http://${host}/b/k?${query}`);
    expect([p.status, p.code]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('both a header signature and presigned parameters: 400 InvalidArgument; a missing x-amz-content-sha256: 400 InvalidRequest', async () => {
    const host = `127.0.0.1:${proxy.port}`;
    const headers = await signHeaders({ method: 'GET', host, path: '/b/k', accessKeyId: FRONTEND.accessKey, secretAccessKey: FRONTEND.secretKey });
    const both = await call(`http://${host}/b/k?X-Amz-Signature=00`, 'GET', headers);
    expect([both.status, both.code]).toEqual([400, 'InvalidArgument']);
    const { 'x-amz-content-sha256': _dropped, ...noHash } = headers;
    const missing = await call(`http://${host}/b/k`, 'GET', noHash);
    expect([missing.status, missing.code]).toEqual([400, 'InvalidRequest']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('an unsigned request without allowAnonymous: 403 AccessDenied', async () => {
    const answer = await proxy.send({ path: '/b/k', sign: 'none' });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('frontend keys from hmacFetcher', () => {
  it('a fetched key signs like a keystore key; an unknown one is InvalidAccessKeyId; policies of a fetched key apply', async () => {
    expect((await proxy.send({ path: '/b/k', key: { accessKey: 'FETCHED', secretKey: 'FETCHED-SK' } })).status).toBe(200);
    expect(upstream.last().auth).toMatchObject({ kind: 'sigv4', valid: true });
    expect((await proxy.send({ path: '/b/k', key: { accessKey: 'FETCHED', secretKey: 'FETCHED-SK' } })).status).toBe(200);
    expect(fetched).toEqual(['FETCHED']); // cached
    expect((await proxy.send({ path: '/b/k', key: { accessKey: 'GHOST', secretKey: 'x' } })).code).toBe('InvalidAccessKeyId');
    const ro = { accessKey: 'READONLY', secretKey: 'RO-SK' };
    expect((await proxy.send({ path: '/b/k', key: ro })).status).toBe(200);
    const put = await proxy.send({ method: 'PUT', path: '/b/k', body: 'x', key: ro });
    expect([put.status, put.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(3);
  });
});

describe('SigV2 (allowSigV2)', () => {
  const sigv2 = (method: string, resource: string, date: string, secret: string) => createHmac('sha1', secret).update(`${method}\n\n\n${date}\n${resource}`).digest('base64');

  it('a valid SigV2 header is accepted and re-signed upstream with SigV4; a wrong one is SignatureDoesNotMatch', async () => {
    const date = new Date().toUTCString();
    const ok = await call(`http://127.0.0.1:${proxy.port}/b/v2`, 'GET', { date, authorization: `AWS ${FRONTEND.accessKey}:${sigv2('GET', '/b/v2', date, FRONTEND.secretKey)}` });
    expect(ok.status).toBe(200);
    expect(upstream.last()).toMatchObject({ path: '/b/v2', auth: { kind: 'sigv4', valid: true } });
    const bad = await call(`http://127.0.0.1:${proxy.port}/b/v2`, 'GET', { date, authorization: `AWS ${FRONTEND.accessKey}:${sigv2('GET', '/b/v2', date, 'wrong')}` });
    expect([bad.status, bad.code]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('a SigV2 presigned URL with an x-amz-* query parameter is refused (SigV2 does not sign it)', async () => {
    const expires = String(Math.floor(Date.now() / 1000) + 300);
    const signature = createHmac('sha1', FRONTEND.secretKey).update(`GET\n\n\n${expires}\n/b/v2`).digest('base64');
    const base = `http://127.0.0.1:${proxy.port}/b/v2?AWSAccessKeyId=${FRONTEND.accessKey}&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
    expect((await call(base)).status).toBe(200);
    const smuggled = await call(`${base}&x-amz-acl=public-read`);
    expect([smuggled.status, smuggled.code]).toEqual([403, 'AccessDenied']);
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('skipSignatureValidation (development mode)', () => {
  it('takes any signature, with the claimed access key as the identity', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const tokens: (string | null)[] = [];
    const dev = await startChain({ ...options(upstream), skipSignatureValidation: true, authorize: (token) => (tokens.push(token), true) });
    try {
      const answer = await dev.send({ path: '/b/k', key: { accessKey: FRONTEND.accessKey, secretKey: 'anything' } });
      expect(answer.status).toBe(200);
      expect(upstream.last().auth).toMatchObject({ kind: 'sigv4', valid: true });
      expect(tokens).toEqual([FRONTEND.accessKey]);
    } finally {
      await dev.close();
      warn.mockRestore();
    }
  });
});

describe('trustForwardedHost', () => {
  it('verifies against the first X-Forwarded-Host when trusted, and against Host otherwise', async () => {
    const trusting = await startChain({ ...options(upstream), trustForwardedHost: true });
    try {
      const headers = await signHeaders({ method: 'GET', host: 'public.example', path: '/b/fwd', accessKeyId: FRONTEND.accessKey, secretAccessKey: FRONTEND.secretKey });
      const sent = { ...headers, 'x-forwarded-host': 'public.example, inner.example' };
      const ok = await call(`http://127.0.0.1:${trusting.port}/b/fwd`, 'GET', { ...sent, host: `127.0.0.1:${trusting.port}` });
      expect(ok.status).toBe(200);
      expect(upstream.last()).toMatchObject({ path: '/b/fwd', auth: { valid: true } });
      const untrusted = await call(`http://127.0.0.1:${proxy.port}/b/fwd`, 'GET', { ...sent, host: `127.0.0.1:${proxy.port}` });
      expect([untrusted.status, untrusted.code]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await trusting.close();
    }
  });
});
