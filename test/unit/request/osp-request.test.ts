/** The request record parsed once at the entry (lib/context.ts `parseRequest`, issue [2/5] item 1). */
import type { Request } from 'express';
import { copySourceOf, getContext, parseRequest } from '../../../lib/context';
import { OspError } from '../../../lib/errors';
import { canonicalQueryOf, parseQuery } from '../../../lib/s3/query';
import { canonicalizeQuery } from '../../../lib/sigv4/canonical-request';
import { parsePresignedParams, parsePresignedQuery } from '../../../lib/sigv4/parse-presigned';

const options = { virtualHostDomains: ['s3.example.com'], trustForwardedHost: false };

function fakeReq(method: string, url: string, headers: Record<string, string> = {}, originalUrl = url): Request {
  return { method, url, originalUrl, headers: { host: 'proxy.local', ...headers } } as unknown as Request;
}

describe('parseRequest', () => {
  it('splits the URL once: route path from req.url, signed path from req.originalUrl (mount point), one query', () => {
    const r = parseRequest(fakeReq('GET', '/photos/a%20b.txt?versionId=v%201&tagging', {}, '/s3/photos/a%20b.txt?versionId=v%201&tagging'), options);
    expect(r).toMatchObject({
      routePath: '/photos/a%20b.txt',
      signedPath: '/s3/photos/a%20b.txt',
      rawQuery: 'versionId=v%201&tagging',
      bucket: 'photos',
      key: 'a b.txt',
      rawKey: 'a%20b.txt',
      style: 'path',
      operation: 'GetObjectTagging',
    });
    expect(r.queryRecord).toEqual({ versionId: 'v 1', tagging: '' });
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.queryRecord)).toBe(true);
  });

  it('parses x-amz-copy-source once: source bucket, decoded key, version', () => {
    const r = parseRequest(fakeReq('PUT', '/dst/k', { 'x-amz-copy-source': '/src/dir/a%2Bb.txt?versionId=3' }), options);
    expect(copySourceOf(r)).toMatchObject({ bucket: 'src', key: 'dir/a+b.txt', rawKey: 'dir/a%2Bb.txt', hasVersionId: true, raw: '/src/dir/a%2Bb.txt?versionId=3' });
    expect(r.operation).toBe('CopyObject');
  });

  it('keeps a malformed copy source as an error for the stage that needs it (a bad signature is reported first)', () => {
    const r = parseRequest(fakeReq('PUT', '/dst/k', { 'x-amz-copy-source': 'nobucket' }), options);
    expect(r.copySource).toBeInstanceOf(OspError);
    expect(() => copySourceOf(r)).toThrow(expect.objectContaining({ s3Code: 'InvalidArgument' }) as Error);
    const dots = parseRequest(fakeReq('PUT', '/dst/k', { 'x-amz-copy-source': '/src/a/../b' }), options);
    expect(() => copySourceOf(dots)).toThrow(expect.objectContaining({ s3Code: 'InvalidArgument' }) as Error);
  });

  it('getContext exposes the record and the public fields from it, and builds it once', () => {
    const req = fakeReq('GET', '/photos/k');
    const ctx = getContext(req, options);
    expect(ctx.request.bucket).toBe('photos');
    expect([ctx.bucket, ctx.key, ctx.rawKey, ctx.operation, ctx.style]).toEqual(['photos', 'k', 'k', 'GetObject', 'path']);
    expect(getContext(req, options)).toBe(ctx);
  });
});

describe('canonicalQueryOf', () => {
  it.each(['', 'a=1&b=2', 'b=2&a=1', 'uploads', 'x=a+b&y=%7e&z=*', 'X-Amz-Signature=abc&X-Amz-Date=1&k=%E2%82%AC', 'a=&b', 'name=v%2Fw&name2=%2a'])(
    'equals canonicalizeQuery of the raw query: %s',
    (raw) => {
      expect(canonicalQueryOf(parseQuery(raw))).toBe(canonicalizeQuery(raw));
      expect(canonicalQueryOf(parseQuery(raw), 'X-Amz-Signature')).toBe(canonicalizeQuery(raw, 'X-Amz-Signature'));
    },
  );
});

describe('parsePresignedParams', () => {
  const signed =
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=' +
    'a'.repeat(64);
  it.each([signed, `${signed}&versionId=1`, 'versionId=1', '', `${signed}&X-Amz-Security-Token=t%2Bk`])('reads the parsed query as parsePresignedQuery reads the raw one: %s', (raw) => {
    expect(parsePresignedParams(parseQuery(raw))).toEqual(parsePresignedQuery(raw));
  });
  it.each(['X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Signature=x', 'X-Amz-Credential=AK', 'AWSAccessKeyId=AK&Signature=x&Expires=1'])('fails as parsePresignedQuery does: %s', (raw) => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return (err as OspError).s3Code;
      }
    };
    expect(code(() => parsePresignedParams(parseQuery(raw)))).toBe(code(() => parsePresignedQuery(raw)));
  });
});
