/**
 * Issue [1/5] "Browsers", over raw HTTP (test/e2e/cors-browser.test.ts runs Chromium): a preflight
 * sent to a presigned URL is answered by the bucket's CORS rules, not refused as a bad signature;
 * an OPTIONS without Origin or Access-Control-Request-Method gets RGW's 400; the proxy's own
 * answers to a request with Origin (POST upload success, its S3 errors) carry the bucket's CORS
 * headers. A recording relay between the proxy and the backend shows what went upstream.
 */
import { GetObjectCommand, PutBucketCorsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { backend, backendClient, createTestBucket, type Backend, type BackendName } from '../helpers/backends';
import { proxyClient, startProxy, type RunningProxy } from '../helpers/proxy-server';
import { startRelay, type Relay } from '../helpers/recording-relay';
import { call, type Answer } from '../helpers/raw-http';

const CLIENT = { accessKey: 'cors-client', secretKey: 'cors-client-secret-0123456789' };
const ALLOWED = 'https://app.example.com';
const REFUSED = 'https://evil.example.com';

/** The CORS headers of an answer that a page's script depends on. */
function corsOf(a: Answer): Record<string, unknown> {
  return {
    allowOrigin: a.headers['access-control-allow-origin'],
    allowCredentials: a.headers['access-control-allow-credentials'],
    exposeHeaders: a.headers['access-control-expose-headers'],
    vary: a.headers['vary'],
  };
}

/** A multipart form body and its Content-Type, as a browser's FormData makes it. */
async function formBody(fields: Record<string, string>, file: string): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([file], { type: 'text/plain' }), 'posted.txt');
  const r = new Response(form);
  return { body: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type') as string };
}

describe.each(['moto', 'rgw'] as BackendName[])('browsers and CORS through the proxy, against %s', (name) => {
  let be: Backend;
  let bucket: string;
  let direct: S3Client;
  let relay: Relay;
  let proxy: RunningProxy;
  let signer: S3Client;

  beforeAll(async () => {
    be = backend(name);
    bucket = await createTestBucket(`cors1-${name}`, name);
    direct = backendClient(name);
    await direct.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [{ AllowedOrigins: [ALLOWED], AllowedMethods: ['GET', 'PUT', 'POST'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag', 'x-amz-request-id'], MaxAgeSeconds: 600 }],
        },
      }),
    );
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj.txt', Body: 'hello' }));
    relay = await startRelay({ host: be.host, port: be.port });
    proxy = await startProxy({
      buckets: { [bucket]: { host: relay.host, port: relay.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey } },
      hmacKeystore: [CLIENT],
    });
    signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  });
  afterAll(async () => {
    await proxy?.close();
    await relay?.close();
    direct?.destroy();
    signer?.destroy();
  });
  beforeEach(() => relay.clear());

  /** The request target (path and query) of a URL minted for the proxy. */
  const targetOf = (url: string) => url.slice(proxy.endpoint.length);

  it('a preflight sent to a presigned URL is a preflight: the bucket rules answer, as directly, and the URL credentials stay in the proxy', async () => {
    const command = new PutObjectCommand({ Bucket: bucket, Key: 'from-page.txt' });
    const viaProxy = targetOf(await getSignedUrl(signer, command, { expiresIn: 300 }));
    // Directly: the same preflight to a URL minted for the backend (RGW refuses the frontend key's URL: 403 InvalidAccessKeyId).
    const directUrl = await getSignedUrl(direct, command, { expiresIn: 300 });
    const v2 = `/${bucket}/from-page.txt?AWSAccessKeyId=${CLIENT.accessKey}&Expires=4102444800&Signature=bm90LWNoZWNrZWQ%3D`;
    const headers = { origin: ALLOWED, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' };
    const d = await call(directUrl, 'OPTIONS', headers);
    for (const target of [viaProxy, v2]) {
      relay.clear();
      const p = await call(`${proxy.endpoint}${target}`, 'OPTIONS', headers);
      expect({ status: p.status, ...corsOf(p), allowMethods: p.headers['access-control-allow-methods'] }).toEqual({
        status: d.status,
        ...corsOf(d),
        allowMethods: d.headers['access-control-allow-methods'],
      });
      expect([p.status, p.headers['access-control-allow-origin']]).toEqual([200, ALLOWED]);
      // Upstream: unsigned, and without the presigned URL's own parameters (they are the proxy's).
      expect(relay.requests.map((r) => [r.method, r.url.split('?')[0], r.headers.authorization])).toEqual([['OPTIONS', `/${bucket}/from-page.txt`, undefined]]);
      expect(relay.requests[0]!.url).not.toMatch(/x-amz-|AWSAccessKeyId|Signature|Expires/i);
    }
  });

  it.each([
    ['no Origin nor Access-Control-Request-Method', {}],
    ['Origin only', { origin: ALLOWED }],
    ['Access-Control-Request-Method only', { 'access-control-request-method': 'GET' }],
  ])('an OPTIONS with %s is no preflight and no S3 request: 400 InvalidArgument, as RGW', async (_label, headers: Record<string, string>) => {
    const command = new GetObjectCommand({ Bucket: bucket, Key: 'obj.txt' });
    const presigned = { proxy: targetOf(await getSignedUrl(signer, command, { expiresIn: 300 })), direct: (await getSignedUrl(direct, command, { expiresIn: 300 })).slice(be.endpoint.length) };
    for (const [viaProxy, directly] of [
      [`/${bucket}/obj.txt`, `/${bucket}/obj.txt`],
      [`/${bucket}`, `/${bucket}`],
      [presigned.proxy, presigned.direct],
    ]) {
      const p = await call(`${proxy.endpoint}${viaProxy}`, 'OPTIONS', headers);
      expect([p.status, p.code]).toEqual([400, 'InvalidArgument']);
      // moto answers 200 or 500 here; RGW is the reference (and S3: 400 "Origin request header needed").
      if (name === 'rgw') {
        const d = await call(`${be.endpoint}${directly}`, 'OPTIONS', headers);
        expect([d.status, d.code]).toEqual([p.status, p.code]);
      }
    }
    expect(relay.requests).toEqual([]);
  });

  it("a POST upload with Origin: the proxy's own 201 carries the bucket's CORS headers, as the backend's preflight answer gives them", async () => {
    const key = `posted-${name}.txt`;
    const { url, fields } = await createPresignedPost(signer, {
      Bucket: bucket,
      Key: key,
      Fields: { success_action_status: '201' },
      Conditions: [{ success_action_status: '201' }, ['content-length-range', 1, 1000]],
      Expires: 300,
    });
    // The bucket's rules, asked on the bucket (moto answers 403 to any OPTIONS on an existing object).
    const rule = await call(`${be.endpoint}/${bucket}`, 'OPTIONS', { origin: ALLOWED, 'access-control-request-method': 'POST' });
    expect(rule.headers['access-control-allow-origin']).toBe(ALLOWED);
    const post = async (origin?: string) => {
      const { body, contentType } = await formBody(fields, `posted with ${origin ?? 'no origin'}`);
      return call(url, 'POST', { 'content-type': contentType, ...(origin ? { origin } : {}) }, body);
    };
    const allowed = await post(ALLOWED);
    expect(allowed.status).toBe(201);
    expect(allowed.body.toString()).toContain(`<Key>${key}</Key>`);
    expect(corsOf(allowed)).toEqual(corsOf(rule));
    // The question went upstream unsigned; the upload itself signed.
    expect(relay.requests.map((r) => [r.method, r.headers.authorization === undefined])).toEqual(
      expect.arrayContaining([
        ['OPTIONS', true],
        ['PUT', false],
      ]),
    );
    const stored = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await stored.Body?.transformToString()).toBe(`posted with ${ALLOWED}`);

    const refused = await post(REFUSED);
    expect(refused.status).toBe(201);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const none = await post();
    expect(none.status).toBe(201);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("the proxy's own S3 error to a request with Origin carries the bucket's CORS headers, so a page can read it", async () => {
    const getUrl = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'obj.txt' }), { expiresIn: 300 });
    const tampered = getUrl.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    const rule = await call(`${be.endpoint}/${bucket}`, 'OPTIONS', { origin: ALLOWED, 'access-control-request-method': 'GET' });
    const p = await call(tampered, 'GET', { origin: ALLOWED });
    expect([p.status, p.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(corsOf(p)).toEqual(corsOf(rule));
    expect(p.headers['access-control-allow-origin']).toBe(ALLOWED);
    // Only the unsigned question reached the backend, never the refused request.
    expect(relay.requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([['OPTIONS', `/${bucket}`, undefined]]);
    const again = await call(tampered, 'GET', { origin: ALLOWED });
    expect(again.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(relay.requests).toHaveLength(1); // cached
    expect((await call(tampered, 'GET', { origin: REFUSED })).headers['access-control-allow-origin']).toBeUndefined();
    expect((await call(tampered, 'GET')).headers['access-control-allow-origin']).toBeUndefined();
    // The proxied answer keeps the backend's own CORS headers.
    const ok = await call(getUrl, 'GET', { origin: ALLOWED });
    expect([ok.status, ok.body.toString(), ok.headers['access-control-allow-origin']]).toEqual([200, 'hello', ALLOWED]);
  });
});
