/**
 * The stages used on their own, combined with the host app's auth (as in examples/own-auth.ts).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { authorize, resolveBackend, s3ErrorHandler, s3Proxy, setOspIdentity, verifySignature, type OspOptions } from '../../lib';
import { backend, backendClient, createTestBucket } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { signRequest } from '../../lib/sigv4/sign-request';

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'PUT' ? 'data' : undefined);
  });
}

describe('stages combined with the host app auth (moto)', () => {
  let proxy: RunningProxy;
  let bucket: string;
  const KEY = { accessKey: 'etl-job', secretKey: 'etl-secret-0123456789' };

  beforeAll(async () => {
    const be = backend('moto');
    bucket = await createTestBucket(`stages-${randomBytes(2).toString('hex')}`, 'moto');
    await backendClient('moto').send(new PutObjectCommand({ Bucket: bucket, Key: 'report.csv', Body: 'a,b\n1,2\n' }));
    const options: OspOptions = {
      buckets: { reports: { host: be.host, port: be.port, addressingStyle: 'path', backendBucket: bucket, accessKey: be.accessKey, secretKey: be.secretKey, profile: 'moto' } },
      hmacKeystore: [KEY],
      authorize: (token, _bucket, req) => token === KEY.accessKey || (token === 'user:ann' && req.operation === 'GetObject'),
    };
    const verify = verifySignature(options);
    const session = (req: Request, res: Response, next: NextFunction) => {
      const user = req.headers.cookie?.match(/demo_user=([a-z]+)/)?.[1];
      if (user) {
        setOspIdentity(req, `user:${user}`);
        return next();
      }
      return verify(req, res, next);
    };
    proxy = await startProxy(options, { mountPath: '/files', handler: [session, authorize(options), resolveBackend(options), s3Proxy(options), s3ErrorHandler()] });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('a session user reads without SigV4, through authorize', async () => {
    const res = await get(`${proxy.endpoint}/reports/report.csv`, { cookie: 'demo_user=ann' });
    expect(res).toEqual({ status: 200, body: 'a,b\n1,2\n' });
  });
  it('the same session user may not write (authorize denies)', async () => {
    const res = await get(`${proxy.endpoint}/reports/new.csv`, { cookie: 'demo_user=ann' }, 'PUT');
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>AccessDenied</Code>');
  });
  it('another session user is denied', async () => {
    expect((await get(`${proxy.endpoint}/reports/report.csv`, { cookie: 'demo_user=bob' })).status).toBe(403);
  });
  it('no session and no signature: AccessDenied as S3 XML', async () => {
    const res = await get(`${proxy.endpoint}/reports/report.csv`);
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/<Code>AccessDenied<\/Code><Message>[^<]+<\/Message>/);
  });
  it('a SigV4 client works through the same mount (signature checked on the full path)', async () => {
    const client = proxyClient(proxy.endpoint, KEY.accessKey, KEY.secretKey);
    await client.send(new PutObjectCommand({ Bucket: 'reports', Key: 'etl/out.csv', Body: Buffer.from('x') }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'reports', Key: 'etl/out.csv' }));
    expect(await got.Body?.transformToString()).toBe('x');
    client.destroy();
  });
});

describe('trustForwardedHost (moto)', () => {
  const KEY = { accessKey: 'fwd-client', secretKey: 'fwd-secret-000000000000' };
  const started: RunningProxy[] = [];
  afterAll(async () => {
    for (const p of started) await p.close();
  });

  async function signedGet(trust: boolean): Promise<number> {
    const be = backend('moto');
    const bucket = await createTestBucket(`fwd-${randomBytes(2).toString('hex')}`, 'moto');
    const proxy = await startProxy({
      buckets: { data: { host: be.host, port: be.port, addressingStyle: 'path', backendBucket: bucket, accessKey: be.accessKey, secretKey: be.secretKey, profile: 'moto' } },
      hmacKeystore: [KEY],
      trustForwardedHost: trust,
    });
    started.push(proxy);
    // Signed for the public name the reverse proxy in front answers on.
    const headers: Record<string, string> = { host: 's3.public.example', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
    const signed = signRequest({
      method: 'GET',
      canonicalUri: '/data',
      canonicalQuery: 'list-type=2',
      headers,
      accessKeyId: KEY.accessKey,
      secretKey: KEY.secretKey,
      region: 'us-east-1',
      now: new Date(),
    });
    const res = await get(`${proxy.endpoint}/data?list-type=2`, {
      'x-forwarded-host': 's3.public.example',
      'x-amz-content-sha256': headers['x-amz-content-sha256'] as string,
      'x-amz-date': signed.amzDate,
      authorization: signed.authorization,
    });
    return res.status;
  }

  it('verifies against X-Forwarded-Host only when trusted', async () => {
    expect(await signedGet(true)).toBe(200);
    expect(await signedGet(false)).toBe(403);
  });
});
