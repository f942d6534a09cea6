/**
 * Browser POST uploads (postObject) through the chain against the kit upstream: the form's policy
 * and signature are verified, authorize sees a PutObject of the final key, and the upstream gets
 * one validly re-signed PUT with the file's bytes (spooled with a Content-Length, or streamed
 * chunked for backends that take that).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuthorizeRequest } from '../../../lib/options';
import { FRONTEND, fakeWallClock, kitBucket, multipartForm, s3Xml, signedPolicyFields, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';
import { call } from '../../helpers/raw-http';

let upstream: KitUpstream;
let proxy: KitChain;
let spool: string;
const seen: { token: string | null; bucket: string; req: AuthorizeRequest }[] = [];

beforeAll(async () => {
  spool = mkdtempSync(path.join(os.tmpdir(), 'kit-post-'));
  upstream = await startKitUpstream();
  proxy = await startChain({
    buckets: { forms: kitBucket(upstream), streamed: kitBucket(upstream, { profile: 'moto' }), open: kitBucket(upstream) },
    hmacKeystore: [FRONTEND, { accessKey: 'LIMITED', secretKey: 'LIMITED-SK', buckets: ['open'] }],
    postSpoolDirectory: spool,
    allowAnonymous: true,
    authorize: (token, bucket, req) => {
      seen.push({ token, bucket, req });
      return !(req.key ?? '').startsWith('denied/');
    },
  });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
  rmSync(spool, { recursive: true, force: true });
});
beforeEach(() => {
  upstream.clear();
  seen.length = 0;
});

function post(bucket: string, form: { body: Buffer; contentType: string }, headers: Record<string, string> = {}) {
  return call(`http://127.0.0.1:${proxy.port}/${bucket}`, 'POST', { 'content-type': form.contentType, ...headers }, form.body);
}

/** The spool file is unlinked asynchronously after the answer: waits (event-loop turns, no sleep) until it is gone. */
async function spoolEmptied(): Promise<void> {
  for (let i = 0; readdirSync(spool).length > 0; i++) {
    if (i > 10_000) throw new Error(`spool files left behind: ${readdirSync(spool).join(', ')}`);
    await new Promise((r) => setImmediate(r));
  }
}

const FILE = Buffer.from('the file content\r\n--not a boundary');

describe('browser POST uploads', () => {
  it('a signed form is one PUT upstream: final key, Content-Length, valid signature, the exact bytes; 204 with the ETag', async () => {
    upstream.reply({ status: 200, headers: { etag: '"e-post"', 'x-amz-version-id': 'v9' } });
    const fields = { key: 'up/${filename}', 'x-amz-meta-who': 'kit', ...signedPolicyFields([{ bucket: 'forms' }, ['starts-with', '$key', 'up/'], ['starts-with', '$x-amz-meta-who', '']]) };
    const answer = await post('forms', multipartForm(fields, { name: 'photo.jpg', content: FILE }));
    expect(answer.status).toBe(204);
    expect(answer.headers.etag).toBe('"e-post"');
    expect(answer.headers['x-amz-version-id']).toBe('v9');
    expect(answer.headers.location).toBe(`http://127.0.0.1:${proxy.port}/forms/up/photo.jpg`);
    const got = upstream.last();
    expect(got).toMatchObject({ method: 'PUT', path: '/forms/up/photo.jpg', auth: { kind: 'sigv4', valid: true }, headers: { 'content-length': String(FILE.length), 'x-amz-meta-who': 'kit' } });
    expect(got.body.equals(FILE)).toBe(true);
    expect(seen).toMatchObject([{ token: FRONTEND.accessKey, bucket: 'forms', req: { operation: 'PutObject', key: 'up/photo.jpg', method: 'POST' } }]);
    await spoolEmptied(); // the spooled file is gone
  });

  it('success_action_status 201 answers PostResponse XML', async () => {
    upstream.reply({ status: 200, headers: { etag: '"e201"' } });
    const fields = { key: 'k201', success_action_status: '201', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k201' }, { success_action_status: '201' }]) };
    const answer = await post('forms', multipartForm(fields, { content: 'x' }));
    expect(answer.status).toBe(201);
    expect(answer.body.toString()).toContain('<Key>k201</Key>');
    expect(answer.body.toString()).toContain('<ETag>"e201"</ETag>');
  });

  it('streaming backends (moto profile) get the file chunked, without Content-Length', async () => {
    const fields = { key: 'chunked', ...signedPolicyFields([{ bucket: 'streamed' }, { key: 'chunked' }]) };
    const answer = await post('streamed', multipartForm(fields, { content: FILE }));
    expect(answer.status).toBe(204);
    const got = upstream.last();
    expect(got.headers['transfer-encoding']).toBe('chunked');
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.body.equals(FILE)).toBe(true);
    expect(got.auth).toMatchObject({ kind: 'sigv4', valid: true });
  });

  it('content-length-range: a file over the range is 400 EntityTooLarge and nothing is sent upstream; under it EntityTooSmall', async () => {
    const big = { key: 'big', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'big' }, ['content-length-range', 1, 4]]) };
    const tooLarge = await post('forms', multipartForm(big, { content: '12345' }));
    expect([tooLarge.status, tooLarge.code]).toEqual([400, 'EntityTooLarge']);
    const small = { key: 'small', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'small' }, ['content-length-range', 3, 10]]) };
    const tooSmall = await post('forms', multipartForm(small, { content: '1' }));
    expect([tooSmall.status, tooSmall.code]).toEqual([400, 'EntityTooSmall']);
    expect(upstream.requests).toHaveLength(0);
    await spoolEmptied();
  });

  it('a form over the range to a streaming backend is aborted before its end: the upstream never gets a complete object', async () => {
    const fields = { key: 'big', ...signedPolicyFields([{ bucket: 'streamed' }, { key: 'big' }, ['content-length-range', 0, 10]]) };
    const answer = await post('streamed', multipartForm(fields, { content: Buffer.alloc(200_000, 1) }));
    expect([answer.status, answer.code]).toEqual([400, 'EntityTooLarge']);
    // The upstream saw at most an aborted request (never answered with a stored object).
    for (const r of upstream.requests) expect(r.body.length).toBeLessThanOrEqual(10);
  });

  it('a tampered policy is 403 SignatureDoesNotMatch; an unknown key InvalidAccessKeyId; a key limited to other buckets AccessDenied', async () => {
    const fields = { key: 'k', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k' }]) };
    const tampered = {
      ...fields,
      policy: Buffer.from(
        Buffer.from((fields as Record<string, string>).policy!, 'base64')
          .toString()
          .replace('"k"', '"other"'),
      ).toString('base64'),
      key: 'other',
    };
    expect((await post('forms', multipartForm(tampered, { content: 'x' }))).code).toBe('SignatureDoesNotMatch');
    const unknown = { key: 'k', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k' }], { key: { accessKey: 'NOBODY', secretKey: 's' } }) };
    expect((await post('forms', multipartForm(unknown, { content: 'x' }))).code).toBe('InvalidAccessKeyId');
    const limited = { key: 'k', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k' }], { key: { accessKey: 'LIMITED', secretKey: 'LIMITED-SK' } }) };
    expect((await post('forms', multipartForm(limited, { content: 'x' }))).code).toBe('AccessDenied');
    expect(upstream.requests).toHaveLength(0);
  });

  it('a policy condition that fails, an extra field, or an expired policy is 403 AccessDenied (fake clock, no waiting)', async () => {
    const wrongBucket = { key: 'k', ...signedPolicyFields([{ bucket: 'elsewhere' }, { key: 'k' }]) };
    const a = await post('forms', multipartForm(wrongBucket, { content: 'x' }));
    expect([a.status, a.code]).toEqual([403, 'AccessDenied']);
    expect(a.message).toContain('Policy Condition failed');
    const extra = { key: 'k', 'x-amz-meta-sneaky': '1', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k' }]) };
    expect((await post('forms', multipartForm(extra, { content: 'x' }))).message).toContain('Extra input fields');
    const signedAt = new Date();
    const expiring = { key: 'k', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'k' }], { date: signedAt, expiresInMs: 60_000 }) };
    const clock = fakeWallClock(signedAt.getTime() + 61_000);
    try {
      const expired = await post('forms', multipartForm(expiring, { content: 'x' }));
      expect([expired.status, expired.code, expired.message]).toEqual([403, 'AccessDenied', 'Invalid according to Policy: Policy expired.']);
    } finally {
      clock.restore();
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('authorize denies the final key: 403, nothing upstream; the callback saw PutObject of that key', async () => {
    const fields = { key: 'denied/x', ...signedPolicyFields([{ bucket: 'forms' }, ['starts-with', '$key', '']]) };
    const answer = await post('forms', multipartForm(fields, { content: 'x' }));
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(seen[0]?.req).toMatchObject({ operation: 'PutObject', key: 'denied/x' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('an unsigned form is anonymous: sent upstream unsigned (the backend ACLs decide), its error passed through', async () => {
    upstream.reply({ status: 403, headers: { 'content-type': 'application/xml' }, body: s3Xml.error('AccessDenied', 'backend says no') });
    const answer = await post('open', multipartForm({ key: 'anon.txt' }, { content: 'x' }));
    expect([answer.status, answer.code, answer.message]).toEqual([403, 'AccessDenied', 'backend says no']);
    expect(upstream.last()).toMatchObject({ method: 'PUT', path: '/open/anon.txt', auth: { kind: 'none' } });
    expect(seen[0]?.token).toBeNull();
  });

  it('malformed forms: no key 400 InvalidArgument, no file 400 InvalidArgument, a field twice 400, not multipart 400 MalformedPOSTRequest', async () => {
    const creds = signedPolicyFields([{ bucket: 'forms' }]);
    expect((await post('forms', multipartForm({ ...creds }, { content: 'x' }))).message).toContain('field named &apos;key&apos;');
    const noFile = await post('forms', multipartForm({ key: 'k', ...creds }));
    expect([noFile.status, noFile.code]).toEqual([400, 'InvalidArgument']);
    const dup = multipartForm({ key: 'k', KEY: 'k2', ...creds }, { content: 'x' });
    expect((await post('forms', dup)).message).toContain('appears more than once');
    const broken = await post('forms', { body: Buffer.from('--nope\r\n\r\ngarbage'), contentType: 'multipart/form-data; boundary=zzz' });
    expect([broken.status, broken.code]).toEqual([400, 'MalformedPOSTRequest']);
    const bigFields = await post('forms', multipartForm({ key: 'k', pad: 'x'.repeat(21 * 1024) }, { content: 'x' }));
    expect([bigFields.status, bigFields.code]).toEqual([400, 'MaxPostPreDataLengthExceeded']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a dead backend is 502 BackendUnreachable', async () => {
    upstream.reply('destroy');
    const fields = { key: 'dead', ...signedPolicyFields([{ bucket: 'forms' }, { key: 'dead' }]) };
    const answer = await post('forms', multipartForm(fields, { content: 'x' }));
    expect([answer.status, answer.code]).toEqual([502, 'BackendUnreachable']);
  });

  it('a POST that is not a form, or a form to an object URL, is not a POST upload', async () => {
    upstream.reply({ status: 200, body: '<InitiateMultipartUploadResult/>' });
    const answer = await proxy.send({ method: 'POST', path: '/forms/obj', query: { uploads: '' } });
    expect(answer.status).toBe(200);
    expect(upstream.last()).toMatchObject({ method: 'POST', path: '/forms/obj', query: { uploads: '' }, auth: { valid: true } });
  });
});
