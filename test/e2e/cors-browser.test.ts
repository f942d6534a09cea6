/**
 * Issue [1/5] "Browsers" with a real browser: headless Chromium (Debian's package) loads a page
 * from another origin (its own server on 127.0.0.1) whose script, with fetch(), does a presigned
 * PUT (preflighted: Chromium sends its OPTIONS to the presigned URL, signature query included), a
 * presigned GET, a POST upload of a presigned form, and a GET with a broken signature, through the
 * proxy; the bucket's CORS rules are set directly on the backend. The page reports what it could
 * read back to its own server. Started by test/helpers/chromium.ts.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutBucketCorsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { closeChromium, openInChromium } from '../helpers/chromium';
import { backend, backendClient, createTestBucket, type BackendName } from '../helpers/backends';
import { proxyClient, startProxy } from '../helpers/proxy-server';
import { startRelay } from '../helpers/recording-relay';

const CLIENT = { accessKey: 'page-client', secretKey: 'page-client-secret-0123456789' };

/** What the page could read of one fetch(): its status, body and the ETag header, or the error fetch() threw. */
interface Seen {
  status?: number;
  body?: string;
  etag?: string | null;
  error?: string;
}

/** The page's script: four fetch() calls, results posted back to the page's own origin. */
function pageOf(params: { putUrl: string; getUrl: string; badGetUrl: string; postUrl: string; fields: Record<string, string> }): string {
  return `<!doctype html><html><body><script>
const P = ${JSON.stringify(params).replace(/</g, '\\u003c')};
const read = async (r) => ({ status: r.status, etag: r.headers.get('etag'), body: await r.text() });
const attempt = async (fn) => { try { return await fn(); } catch (e) { return { error: String(e) }; } };
(async () => {
  const out = {};
  out.put = await attempt(async () => read(await fetch(P.putUrl, { method: 'PUT', body: 'put by chromium', headers: { 'Content-Type': 'text/plain' } })));
  out.get = await attempt(async () => read(await fetch(P.getUrl)));
  out.post = await attempt(async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(P.fields)) form.append(k, v);
    form.append('file', new Blob(['posted by chromium'], { type: 'text/plain' }), 'posted.txt');
    return read(await fetch(P.postUrl, { method: 'POST', body: form }));
  });
  out.error = await attempt(async () => read(await fetch(P.badGetUrl)));
  await fetch('/report', { method: 'POST', body: JSON.stringify(out) });
})();
</script></body></html>`;
}

describe.each(['rgw', 'moto'] as BackendName[])('headless Chromium uses presigned URLs and POST uploads from another origin, through the proxy to %s', (name) => {
  it('the page reads the presigned PUT, the GET, the POST upload and the proxy error; the backend stored what the page sent', async () => {
    const be = backend(name);
    const bucket = await createTestBucket('page', name);
    const direct: S3Client = backendClient(name);
    const relay = await startRelay({ host: be.host, port: be.port });
    const proxy = await startProxy({
      buckets: { [bucket]: { host: relay.host, port: relay.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey } },
      hmacKeystore: [CLIENT],
    });
    const signer = proxyClient(proxy.endpoint, CLIENT.accessKey, CLIENT.secretKey, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    let page = '';
    let resolveReport: (body: string) => void = () => undefined;
    const reported = new Promise<string>((resolve) => (resolveReport = resolve));
    const site = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/report') {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          resolveReport(Buffer.concat(parts).toString('utf8'));
          res.end('ok');
        });
        return;
      }
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const profileDir = mkdtempSync(path.join(tmpdir(), 'osp-e2e-chromium-'));
    let browser: ChildProcess | undefined;
    try {
      await direct.send(
        new PutBucketCorsCommand({
          Bucket: bucket,
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ['GET', 'PUT', 'POST'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 5 }] },
        }),
      );
      await direct.send(new PutObjectCommand({ Bucket: bucket, Key: 'read-me.txt', Body: 'read by chromium' }));
      const getUrl = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: 'read-me.txt' }), { expiresIn: 300 });
      const post = await createPresignedPost(signer, {
        Bucket: bucket,
        Key: 'posted.txt',
        Fields: { success_action_status: '201' },
        Conditions: [{ success_action_status: '201' }, ['content-length-range', 1, 1000]],
        Expires: 300,
      });
      page = pageOf({
        putUrl: await getSignedUrl(signer, new PutObjectCommand({ Bucket: bucket, Key: 'put.txt' }), { expiresIn: 300 }),
        getUrl,
        badGetUrl: getUrl.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`),
        postUrl: post.url,
        fields: post.fields,
      });
      browser = openInChromium(`${origin}/`, profileDir);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((_, reject) => (timer = setTimeout(() => reject(new Error('the page never reported')), 60_000)));
      const seen = JSON.parse(await Promise.race([reported, timeout]).finally(() => clearTimeout(timer))) as Record<'put' | 'get' | 'post' | 'error', Seen>;

      const etag = /^"[0-9a-f]{32}"$/;
      expect(seen).toEqual({
        put: { status: 200, etag: expect.stringMatching(etag), body: '' },
        get: { status: 200, etag: expect.stringMatching(etag), body: 'read by chromium' },
        post: { status: 201, etag: expect.stringMatching(etag), body: expect.stringContaining('<Key>posted.txt</Key>') },
        error: { status: 403, etag: null, body: expect.stringContaining('<Code>SignatureDoesNotMatch</Code>') },
      });

      const stored = async (key: string) => (await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();
      expect(await stored('put.txt')).toBe('put by chromium');
      expect(await stored('posted.txt')).toBe('posted by chromium');
      // Chromium's preflight of the PUT went upstream unsigned and without the presigned URL's parameters.
      const preflights = relay.requests.filter((r) => r.method === 'OPTIONS' && r.url.startsWith(`/${bucket}/put.txt`));
      expect(preflights.length).toBeGreaterThanOrEqual(1);
      for (const r of preflights) {
        expect(r.url).not.toMatch(/x-amz-(algorithm|credential|signature|date|expires)/i);
        expect([r.headers.authorization, r.headers.origin, r.headers['access-control-request-method']]).toEqual([undefined, origin, 'PUT']);
      }
    } finally {
      closeChromium(browser);
      site.closeAllConnections();
      await new Promise<void>((resolve) => site.close(() => resolve()));
      await proxy.close();
      await relay.close();
      direct.destroy();
      signer.destroy();
      rmSync(profileDir, { recursive: true, force: true });
    }
  }, 120_000);
});
