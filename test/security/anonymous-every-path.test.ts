/**
 * Issue [1/5]: with `allowAnonymous`, an anonymous request never gets the bucket's keys on any
 * path (plain requests, POST forms, ListBuckets, CORS preflights), unless the bucket sets
 * `signAnonymousRequests`; what goes upstream unsigned looks up no backend credentials; the
 * backend answers `Expect: 100-continue` of what it decides; `response-*` overrides and
 * ListBuckets are refused as S3 refuses them. Against Ceph RGW (strict: it refuses unsigned
 * writes to a private bucket), behind a recording relay that shows what reached it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutBucketAclCommand, PutBucketCorsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { NextFunction, Request, Response } from 'express';
import type { BucketConfig } from '../../lib/options';
import { backend, backendClient, createTestBucket } from '../helpers/backends';
import { startProxy, type RunningProxy } from '../helpers/proxy-server';
import { authorize, resolveBackend, s3ErrorHandler, s3Proxy, setOspIdentity, type OspOptions } from '../../lib';
import { startRelay, sendRaw, type Relay } from '../helpers/recording-relay';
import { signHeaders } from '../helpers/independent-signer';

const run = promisify(execFile);
const CLIENT = { accessKey: 'anon-paths-client', secretKey: 'anon-paths-client-secret-0123' };
const ORIGIN = 'https://app.example';

/** An unsigned browser form (no policy, no signature): `key`, then the file. */
async function postForm(url: string, key: string, body: string): Promise<{ status: number; text: string }> {
  const form = new FormData();
  form.append('key', key);
  form.append('file', new Blob([body]), 'f.txt');
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, text: await res.text() };
}

/** curl -T with `Expect: 100-continue`, waiting up to 10 s for the 100: status, seconds taken, and the exchange. */
async function curlPutExpecting(url: string, file: string): Promise<{ status: number; seconds: number; trace: string }> {
  const t0 = Date.now();
  const { stdout, stderr } = await run('curl', ['-sS', '-v', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Expect: 100-continue', '--expect100-timeout', '10', '-T', file, url], { timeout: 30_000 });
  return { status: Number(stdout.trim()), seconds: (Date.now() - t0) / 1000, trace: stderr };
}

describe('anonymous requests on every path (RGW behind a recording relay)', () => {
  const rgw = backend('rgw');
  let direct: S3Client;
  let relay: Relay;
  let privateBucket: string;
  let publicBucket: string;
  let dir: string;
  let bigFile: string;
  /** Static bucket keys. */
  let keyed: RunningProxy;
  /** No keys in the config: a bucketCredsFetcher that (reasonably) refuses the null token. */
  let fetched: RunningProxy;
  /** Your own auth in front of the stages, marking every caller anonymous (`setOspIdentity(req, null)`). */
  let ownAuth: RunningProxy;
  const fetcherTokens: (string | null)[] = [];

  const stored = async (bucket: string, key: string): Promise<boolean> =>
    direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (err: { $metadata?: { httpStatusCode?: number } }) => {
        if (err.$metadata?.httpStatusCode === 404) return false;
        throw err;
      },
    );

  beforeAll(async () => {
    direct = backendClient('rgw');
    privateBucket = await createTestBucket('anon-paths', 'rgw');
    publicBucket = await createTestBucket('anon-paths-pub', 'rgw');
    await direct.send(new PutObjectCommand({ Bucket: privateBucket, Key: 'private.txt', Body: 'PRIVATE', ContentType: 'text/plain' }));
    await direct.send(new PutBucketAclCommand({ Bucket: publicBucket, ACL: 'public-read-write' }));
    await direct.send(new PutBucketCorsCommand({ Bucket: privateBucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: [ORIGIN], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'] }] } }));
    relay = await startRelay({ host: rgw.host, port: rgw.port });
    const at: BucketConfig = { host: relay.host, port: relay.port, tls: false, addressingStyle: 'path', profile: 'ceph-rgw' };
    const keys = { accessKey: rgw.accessKey, secretKey: rgw.secretKey };
    keyed = await startProxy({
      buckets: {
        open: { ...at, ...keys, backendBucket: privateBucket },
        lent: { ...at, ...keys, backendBucket: privateBucket, signAnonymousRequests: true },
        pub: { ...at, ...keys, backendBucket: publicBucket },
        // A pattern: ListBuckets would list the backend's buckets with these keys.
        'anon-paths-*': { ...at, ...keys },
      },
      hmacKeystore: [CLIENT],
      allowAnonymous: true,
    });
    fetched = await startProxy({
      buckets: { open: { ...at, backendBucket: privateBucket }, 'anon-paths-*': at },
      hmacKeystore: [CLIENT],
      allowAnonymous: true,
      bucketCredsFetcher: (token) => {
        fetcherTokens.push(token);
        if (token === null) throw new Error('no backend identity for anonymous callers');
        return keys;
      },
    });
    const ownAuthOptions: OspOptions = { buckets: { open: { ...at, ...keys, backendBucket: privateBucket } }, allowAnonymous: true };
    ownAuth = await startProxy(ownAuthOptions, {
      handler: [
        (req: Request, _res: Response, next: NextFunction) => {
          setOspIdentity(req, null);
          next();
        },
        authorize(ownAuthOptions),
        resolveBackend(ownAuthOptions),
        s3Proxy(ownAuthOptions),
        s3ErrorHandler(),
      ],
    });
    dir = await mkdtemp(path.join(tmpdir(), 'osp-anon-'));
    bigFile = path.join(dir, 'big.bin');
    await writeFile(bigFile, randomBytes(256 * 1024));
  });
  afterAll(async () => {
    await keyed?.close();
    await fetched?.close();
    await ownAuth?.close();
    await relay?.close();
    direct?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    relay.clear();
    fetcherTokens.length = 0;
  });

  describe('POST forms', () => {
    it('an unsigned form goes upstream unsigned: RGW refuses it and nothing is stored', async () => {
      const key = `planted-${randomBytes(4).toString('hex')}.txt`;
      const res = await postForm(`${keyed.endpoint}/open`, key, 'planted');
      expect(res.status).toBe(403);
      expect(res.text).toContain('<Code>AccessDenied</Code>');
      expect(relay.requests.map((r) => [r.method, r.headers.authorization])).toEqual([['PUT', undefined]]);
      expect(await stored(privateBucket, key)).toBe(false);
    });
    it('with signAnonymousRequests the form is signed with the bucket keys and stored', async () => {
      const key = `lent-${randomBytes(4).toString('hex')}.txt`;
      const res = await postForm(`${keyed.endpoint}/lent`, key, 'lent');
      expect(res.status).toBe(204);
      expect(String(relay.requests[0]?.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 /);
      expect(await stored(privateBucket, key)).toBe(true);
    });
    it('an unsigned form looks up no backend credentials (a fetcher refusing null is never asked)', async () => {
      const key = `fetched-${randomBytes(4).toString('hex')}.txt`;
      const res = await postForm(`${fetched.endpoint}/open`, key, 'planted');
      expect(res.status).toBe(403);
      expect(res.text).toContain('<Code>AccessDenied</Code>');
      expect(fetcherTokens).toEqual([]);
      expect(relay.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
      expect(await stored(privateBucket, key)).toBe(false);
    });
  });

  describe('your own auth marking the caller anonymous (setOspIdentity(req, null))', () => {
    it('a PUT goes upstream unsigned: RGW refuses it and nothing is stored', async () => {
      const key = `own-auth-${randomBytes(4).toString('hex')}.txt`;
      const res = await sendRaw(ownAuth.port, { method: 'PUT', target: `/open/${key}`, headers: { 'content-length': '7' }, body: 'planted' });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(relay.requests.map((r) => [r.method, r.headers.authorization])).toEqual([['PUT', undefined]]);
      expect(await stored(privateBucket, key)).toBe(false);
    });
    it('ListBuckets is refused and no backend is asked', async () => {
      const res = await sendRaw(ownAuth.port, { method: 'GET', target: '/' });
      expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
      expect(relay.requests).toHaveLength(0);
    });
  });

  describe('ListBuckets', () => {
    it('an unsigned GET / is 403 AccessDenied, as S3, and no backend is asked', async () => {
      for (const proxy of [keyed, fetched]) {
        const res = await sendRaw(proxy.port, { method: 'GET', target: '/' });
        expect([res.status, res.code]).toEqual([403, 'AccessDenied']);
        expect(res.body).not.toContain(privateBucket);
      }
      expect(relay.requests).toHaveLength(0);
      expect(fetcherTokens).toEqual([]);
    });
    it('a signed ListBuckets still lists the pattern backend', async () => {
      const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${keyed.port}`, path: '/', accessKeyId: CLIENT.accessKey, secretAccessKey: CLIENT.secretKey });
      const res = await sendRaw(keyed.port, { method: 'GET', target: '/', headers });
      expect(res.status).toBe(200);
      expect(res.body).toContain(`<Name>${privateBucket}</Name>`);
    });
  });

  describe('CORS preflights', () => {
    it('a preflight looks up no backend credentials: the bucket CORS rules answer it unsigned', async () => {
      const res = await sendRaw(fetched.port, { method: 'OPTIONS', target: '/open/private.txt', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(fetcherTokens).toEqual([]);
      expect(relay.requests.map((r) => [r.method, r.headers.authorization])).toEqual([['OPTIONS', undefined]]);
    });
  });

  describe('Expect: 100-continue on an unsigned upload', () => {
    it('directly, RGW refuses before the body (the reference)', async () => {
      const res = await curlPutExpecting(`${rgw.endpoint}/${privateBucket}/direct-${randomBytes(4).toString('hex')}`, bigFile);
      expect(res.status).toBe(403);
      expect(res.trace).not.toMatch(/< HTTP\/1\.1 100/i);
      expect(res.seconds).toBeLessThan(5);
    });
    it('through the proxy: the backend answers the expectation, 403 before the body; nothing sent or stored', async () => {
      const key = `expect-${randomBytes(4).toString('hex')}`;
      const res = await curlPutExpecting(`${keyed.endpoint}/open/${key}`, bigFile);
      expect(res.status).toBe(403);
      expect(res.trace).not.toMatch(/< HTTP\/1\.1 100/i);
      expect(res.seconds).toBeLessThan(5); // curl would send the body after its 10 s wait
      expect(relay.requests).toHaveLength(1);
      expect(relay.requests[0]).toMatchObject({ method: 'PUT', bodyBytes: 0 });
      expect(relay.requests[0]!.headers.authorization).toBeUndefined();
      expect(relay.requests[0]!.headers.expect).toBe('100-continue');
      expect(await stored(privateBucket, key)).toBe(false);
    });
    it("a bucket that lets anonymous users write: the backend's 100 is relayed at once and the object stored", async () => {
      const key = `expect-pub-${randomBytes(4).toString('hex')}`;
      const res = await curlPutExpecting(`${keyed.endpoint}/pub/${key}`, bigFile);
      expect(res.status).toBe(200);
      expect(res.trace).toMatch(/< HTTP\/1\.1 100/i);
      expect(res.seconds).toBeLessThan(5);
      expect(relay.requests[0]).toMatchObject({ method: 'PUT', bodyBytes: 256 * 1024, complete: true });
      expect(relay.requests[0]!.headers.authorization).toBeUndefined();
      expect(await stored(publicBucket, key)).toBe(true);
    });
  });

  describe('response-* overrides', () => {
    it('are refused for anonymous requests (400 InvalidRequest, as S3), even with signAnonymousRequests', async () => {
      for (const bucket of ['lent', 'open']) {
        const res = await sendRaw(keyed.port, { method: 'GET', target: `/${bucket}/private.txt?response-content-type=text%2Fhtml` });
        expect([res.status, res.code]).toEqual([400, 'InvalidRequest']);
        expect(res.body).toContain('Request specific response headers cannot be used for anonymous GET requests.');
        expect(res.body).not.toContain('PRIVATE');
      }
      expect(relay.requests).toHaveLength(0);
    });
    it('a plain anonymous GET on a signAnonymousRequests bucket is still served', async () => {
      const res = await sendRaw(keyed.port, { method: 'GET', target: '/lent/private.txt' });
      expect([res.status, res.body]).toEqual([200, 'PRIVATE']);
    });
  });
});
