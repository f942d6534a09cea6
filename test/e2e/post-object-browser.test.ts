/**
 * A real browser (headless Chromium, Debian's package) submits an HTML form to the proxy: the
 * form's hidden fields come from boto3 `generate_presigned_post`, the file is put into the
 * `<input type=file>` with DataTransfer and the form is submitted (a navigation, not fetch). The
 * 303 from `success_action_redirect` brings the browser back to the page's server.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { closeChromium, openInChromium } from '../helpers/chromium';
import { backend, backendClient, createTestBucket, type BackendName } from '../helpers/backends';
import { startProxy } from '../helpers/proxy-server';

const run = promisify(execFile);
const CLIENT = { accessKey: 'browser-client', secretKey: 'browser-client-secret-00000000' };
const html = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe.each([
  ['rgw', 'ceph-rgw'],
  ['swift', 'swift'],
] as Array<[BackendName, 'ceph-rgw' | 'swift']>)('headless Chromium posts an HTML form through the proxy to %s', (name, profile) => {
  it("stores the file under ${filename} with the form's Content-Type and metadata, and redirects back", async () => {
    const be = backend(name);
    const bucket = await createTestBucket('browser', name);
    const proxy = await startProxy({
      buckets: { [bucket]: { host: be.host, port: be.port, addressingStyle: 'path', accessKey: be.accessKey, secretKey: be.secretKey, profile } },
      hmacKeystore: [CLIENT],
    });
    let page = '';
    let resolveDone: (url: string) => void = () => undefined;
    const done = new Promise<string>((resolve) => (resolveDone = resolve));
    const site = http.createServer((req, res) => {
      if (req.url?.startsWith('/done')) {
        resolveDone(req.url);
        res.end('thanks');
        return;
      }
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const sitePort = (site.address() as AddressInfo).port;
    const prefix = `browser-${randomBytes(3).toString('hex')}/`;
    const fields = { 'Content-Type': 'text/plain', 'x-amz-meta-via': 'chromium', success_action_redirect: `http://127.0.0.1:${sitePort}/done` };
    const conditions = [
      ['starts-with', '$key', prefix],
      { 'Content-Type': 'text/plain' },
      { 'x-amz-meta-via': 'chromium' },
      { success_action_redirect: fields.success_action_redirect },
      ['content-length-range', 1, 1000],
    ];
    const { stdout } = await run(
      'python3',
      [
        path.join(__dirname, 'py', 'presigned_post_boto3.py'),
        proxy.endpoint,
        bucket,
        `${prefix}\${filename}`,
        CLIENT.accessKey,
        CLIENT.secretKey,
        's3v4',
        JSON.stringify(fields),
        JSON.stringify(conditions),
        '300',
      ],
      { timeout: 60_000 },
    );
    const minted = JSON.parse(stdout) as { url: string; fields: Record<string, string> };
    page = `<!doctype html><html><body>
<form id="f" action="${html(minted.url)}" method="post" enctype="multipart/form-data">
${Object.entries(minted.fields)
  .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
  .join('\n')}
<input type="file" name="file" id="file">
</form>
<script>
const dt = new DataTransfer();
dt.items.add(new File(['hello from chromium'], 'from browser.txt', { type: 'application/x-chosen' }));
document.getElementById('file').files = dt.files;
document.getElementById('f').submit();
</script></body></html>`;

    const profileDir = mkdtempSync(path.join(tmpdir(), 'osp-e2e-chromium-'));
    const browser = openInChromium(`http://127.0.0.1:${sitePort}/`, profileDir);
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((_, reject) => (timer = setTimeout(() => reject(new Error('the browser never came back')), 60_000)));
      const doneUrl = new URL(await Promise.race([done, timeout]).finally(() => clearTimeout(timer)), 'http://x');
      const key = `${prefix}from browser.txt`;
      expect(doneUrl.searchParams.get('bucket')).toBe(bucket);
      expect(doneUrl.searchParams.get('key')).toBe(key);
      expect(doneUrl.searchParams.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
      const direct = backendClient(name);
      const head = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentType).toBe('text/plain');
      expect(head.Metadata).toEqual({ via: 'chromium' });
      expect(await (await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()).toBe('hello from chromium');
      direct.destroy();
    } finally {
      closeChromium(browser);
      site.closeAllConnections();
      await new Promise<void>((resolve) => site.close(() => resolve()));
      await proxy.close();
      rmSync(profileDir, { recursive: true, force: true });
    }
  }, 120_000);
});
