/**
 * `x-amz-bypass-governance-retention` reaches `authorize` as `bypassGovernanceRetention`, key
 * policies require `s3:BypassGovernanceRetention` for it, and a cached decision made without it
 * never serves a request with it (issue [1/5]).
 */
import type { NextFunction, Request, Response } from 'express';
import { authorize } from '../../../lib/middleware/authorize';
import { getContext } from '../../../lib/context';
import { resolveOptions, type AuthorizeRequest, type OspOptions } from '../../../lib/options';
import { OspError } from '../../../lib/errors';
import type { PolicyDocument } from '../../../lib/policy/types';

function request(method: string, url: string, headers: Record<string, string> = {}): Request {
  const req = { method, url, originalUrl: url, headers: { host: 's3.example.com', ...headers }, socket: {}, ip: '127.0.0.1', secure: false } as unknown as Request;
  return req;
}

function run(handler: ReturnType<typeof authorize>, req: Request, options: OspOptions, identity: string | null = 'client'): Promise<unknown> {
  getContext(req, resolveOptions(options)).identity = identity;
  req.osp!.authMethod = 'header';
  return new Promise((resolve) => {
    const next: NextFunction = (err?: unknown) => resolve(err);
    handler(req, {} as Response, next);
  });
}

const BUCKETS: OspOptions['buckets'] = { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK', ttlSeconds: 300 } };
const BYPASS = { 'x-amz-bypass-governance-retention': 'true' };

describe('authorize callback', () => {
  it('sees bypassGovernanceRetention, and a decision cached without it never serves a request with it', async () => {
    const calls: AuthorizeRequest[] = [];
    const options: OspOptions = {
      buckets: BUCKETS,
      hmacKeystore: [{ accessKey: 'client', secretKey: 's' }],
      authorize: (_t, _b, r) => {
        calls.push(r);
        return !r.bypassGovernanceRetention;
      },
    };
    const handler = authorize(options);
    expect(await run(handler, request('DELETE', '/photos/a.txt?versionId=v1'), options)).toBeUndefined();
    expect(calls.at(-1)).toMatchObject({ operation: 'DeleteObject', bypassGovernanceRetention: false });
    // Same caller, object and query: only the header differs.
    const denied = await run(handler, request('DELETE', '/photos/a.txt?versionId=v1', BYPASS), options);
    expect(denied).toBeInstanceOf(OspError);
    expect(denied).toMatchObject({ status: 403, s3Code: 'AccessDenied' });
    expect(calls).toHaveLength(2);
    expect(calls.at(-1)).toMatchObject({ operation: 'DeleteObject', bypassGovernanceRetention: true });
    // Other spellings of "true" are other variants, never the cached "without" decision.
    expect(await run(handler, request('DELETE', '/photos/a.txt?versionId=v1', { 'x-amz-bypass-governance-retention': 'TRUE' }), options)).toMatchObject({ status: 403 });
    expect(calls).toHaveLength(3);
    // And the plain one is still served from the cache.
    expect(await run(handler, request('DELETE', '/photos/a.txt?versionId=v1'), options)).toBeUndefined();
    expect(calls).toHaveLength(3);
  });

  it('sees it from a presigned URL query parameter and on DeleteObjects and PutObjectRetention', async () => {
    const calls: AuthorizeRequest[] = [];
    const options: OspOptions = { buckets: BUCKETS, hmacKeystore: [{ accessKey: 'client', secretKey: 's' }], authorize: (_t, _b, r) => (calls.push(r), true) };
    const handler = authorize(options);
    await run(handler, request('DELETE', '/photos/a.txt?x-amz-bypass-governance-retention=true'), options);
    await run(handler, request('POST', '/photos?delete', BYPASS), options);
    await run(handler, request('PUT', '/photos/a.txt?retention', BYPASS), options);
    await run(handler, request('PUT', '/photos/a.txt?retention', { 'x-amz-bypass-governance-retention': 'false' }), options);
    expect(calls.map((c) => [c.operation, c.bypassGovernanceRetention])).toEqual([
      ['DeleteObject', true],
      ['DeleteObjects', true],
      ['PutObjectRetention', true],
      ['PutObjectRetention', false],
    ]);
  });
});

describe('key policies', () => {
  const deleteOnly: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention'], Resource: 'arn:aws:s3:::photos/*' }],
  };
  const withBypass: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:BypassGovernanceRetention'], Resource: 'arn:aws:s3:::photos/*' }],
  };
  const options: OspOptions = {
    buckets: BUCKETS,
    hmacKeystore: [
      { accessKey: 'deleter', secretKey: 's', policies: [deleteOnly] },
      { accessKey: 'admin', secretKey: 's', policies: [withBypass] },
      { accessKey: 'static', secretKey: 's', buckets: ['photos'] },
    ],
  };
  const handler = authorize(options);

  it.each([
    ['DELETE', '/photos/a.txt?versionId=v1'],
    ['PUT', '/photos/a.txt?retention'],
  ])('%s %s with the header needs s3:BypassGovernanceRetention', async (method, url) => {
    expect(await run(handler, request(method, url), options, 'deleter')).toBeUndefined();
    const denied = await run(handler, request(method, url, BYPASS), options, 'deleter');
    expect(denied).toMatchObject({ status: 403, s3Code: 'AccessDenied' });
    expect((denied as OspError).message).toContain('s3:BypassGovernanceRetention');
    expect(await run(handler, request(method, url, BYPASS), options, 'admin')).toBeUndefined();
  });

  it('DeleteObjects with the header needs it on every key of the body', async () => {
    const req = request('POST', '/photos?delete', BYPASS);
    expect(await run(handler, req, options, 'deleter')).toBeUndefined(); // the keys are in the body
    expect(req.osp!.authorizeDeleteKeys!([{ key: 'a.txt', versionId: 'v1' }])).toMatchObject({ status: 403, message: expect.stringContaining('s3:BypassGovernanceRetention') });
    const plain = request('POST', '/photos?delete');
    await run(handler, plain, options, 'deleter');
    expect(plain.osp!.authorizeDeleteKeys!([{ key: 'a.txt', versionId: 'v1' }])).toBeUndefined();
    const admin = request('POST', '/photos?delete', BYPASS);
    await run(handler, admin, options, 'admin');
    expect(admin.osp!.authorizeDeleteKeys!([{ key: 'a.txt', versionId: 'v1' }])).toBeUndefined();
  });

  it('a keystore key with only a static buckets list (no policies, no callback) may do everything on its buckets, bypass included', async () => {
    expect(await run(handler, request('DELETE', '/photos/a.txt?versionId=v1', BYPASS), options, 'static')).toBeUndefined();
  });
});

describe('key policies: ACL and tagging headers need their own actions, as in S3', () => {
  const putOnly: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::photos/*' }] };
  const options: OspOptions = { buckets: BUCKETS, hmacKeystore: [{ accessKey: 'writer', secretKey: 's', policies: [putOnly] }] };
  const handler = authorize(options);

  it.each([
    [{ 'x-amz-acl': 'public-read' }, '', 's3:PutObjectAcl'],
    [{ 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }, '', 's3:PutObjectAcl'],
    [{ 'x-amz-tagging': 'a=b' }, '', 's3:PutObjectTagging'],
    [{}, '?x-amz-acl=public-read', 's3:PutObjectAcl'], // presigned URL
  ])('PutObject with %j%s needs %s', async (headers, query, action) => {
    expect(await run(handler, request('PUT', '/photos/a.txt'), options, 'writer')).toBeUndefined();
    expect(await run(handler, request('PUT', `/photos/a.txt${query}`, headers), options, 'writer')).toMatchObject({ status: 403, message: expect.stringContaining(action) });
  });
});
