/**
 * The post-object operation as one request through the ordinary stages, composed by hand (not
 * ospMiddleware): postObject reads the form, then verifySignature, authorize and resolveBackend
 * run as for any request and s3Proxy hands the file to the operation. Also its spool failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { authorize, postObject, resolveBackend, s3ErrorHandler, s3Proxy, verifySignature } from '../../../lib';
import type { AuthorizeRequest, OspOptions } from '../../../lib/options';
import { spoolFailure } from '../../../lib/operations/post-object/spool-error';
import { FRONTEND, kitBucket, multipartForm, signedPolicyFields, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';
import { call } from '../../helpers/raw-http';

let upstream: KitUpstream;
let proxy: KitChain;
let spool: string;
const seen: { stage: string; authMethod?: string; operation?: string; key?: string }[] = [];
const decided: AuthorizeRequest[] = [];

/** Records what the request record holds when a stage starts. */
const spy = (stage: string, handler: (req: Request, res: Response, next: NextFunction) => void) => (req: Request, res: Response, next: NextFunction) => {
  seen.push({ stage, authMethod: req.osp?.authMethod, operation: req.osp?.operation, key: req.osp?.key });
  handler(req, res, next);
};

beforeAll(async () => {
  spool = mkdtempSync(path.join(os.tmpdir(), 'kit-post-op-'));
  upstream = await startKitUpstream();
  const options: OspOptions = {
    buckets: { forms: kitBucket(upstream) },
    hmacKeystore: [FRONTEND],
    postSpoolDirectory: spool,
    authorize: (_token, _bucket, req) => {
      decided.push(req);
      return !(req.key ?? '').startsWith('denied/');
    },
  };
  proxy = await startChain(options, {
    handler: [
      postObject(options),
      spy('verifySignature', verifySignature(options)),
      spy('authorize', authorize(options)),
      spy('resolveBackend', resolveBackend(options)),
      spy('s3Proxy', s3Proxy(options)),
      s3ErrorHandler(),
    ],
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
  decided.length = 0;
});

const post = (form: { body: Buffer; contentType: string }) => call(`http://127.0.0.1:${proxy.port}/forms`, 'POST', { 'content-type': form.contentType }, form.body);
const FILE = Buffer.from('operation file');

describe('post-object operation through hand-composed stages', () => {
  it('every stage sees the PutObject of the final key with the form’s auth; s3Proxy sends the file', async () => {
    upstream.reply({ status: 200, headers: { etag: '"op"' } });
    const fields = { key: 'in/${filename}', ...signedPolicyFields([{ bucket: 'forms' }, ['starts-with', '$key', 'in/']]) };
    const answer = await post(multipartForm(fields, { name: 'a.txt', content: FILE }));
    expect(answer.status).toBe(204);
    expect(seen.map((s) => s.stage)).toEqual(['verifySignature', 'authorize', 'resolveBackend', 's3Proxy']);
    for (const s of seen) expect(s).toMatchObject({ authMethod: 'post-policy', operation: 'PutObject', key: 'in/a.txt' });
    expect(decided).toMatchObject([{ operation: 'PutObject', key: 'in/a.txt', method: 'POST' }]);
    expect(upstream.last()).toMatchObject({ method: 'PUT', path: '/forms/in/a.txt', auth: { valid: true } });
    expect(upstream.last().body.equals(FILE)).toBe(true);
  });

  it('authorize’s refusal ends the request before s3Proxy: 403, nothing upstream, and the connection still answers', async () => {
    const fields = { key: 'denied/${filename}', ...signedPolicyFields([{ bucket: 'forms' }, ['starts-with', '$key', 'denied/']]) };
    const answer = await post(multipartForm(fields, { name: 'big.bin', content: Buffer.alloc(256 * 1024, 1) }));
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
    expect(seen.map((s) => s.stage)).toEqual(['verifySignature', 'authorize']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a bad form signature never reaches the stages after postObject', async () => {
    const fields = { key: 'in/x', ...signedPolicyFields([{ bucket: 'forms' }, ['starts-with', '$key', 'in/']]) };
    const answer = await post(multipartForm({ ...fields, 'x-amz-signature': '0'.repeat(64) }, { name: 'x', content: FILE }));
    expect([answer.status, answer.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(seen).toHaveLength(0);
  });
});

describe('spoolFailure', () => {
  const logger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() };
  it('no room is 503 ServiceUnavailable (retry later); anything else 500; the log has the errno and directory', () => {
    const full = spoolFailure(Object.assign(new Error('full'), { code: 'ENOSPC', syscall: 'write' }), logger, 'R1', '/spool');
    expect([full.status, full.s3Code]).toEqual([503, 'ServiceUnavailable']);
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ requestId: 'R1', code: 'ENOSPC', directory: '/spool' }), expect.any(String));
    const denied = spoolFailure(Object.assign(new Error('no'), { code: 'EACCES' }), logger, 'R2', '/spool');
    expect([denied.status, denied.s3Code]).toEqual([500, 'InternalError']);
    expect(full.message).not.toContain('/spool');
  });
});
