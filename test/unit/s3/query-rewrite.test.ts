import { buildBackendQuery, isClientAuthParam, parseQuery, queryRecord } from '../../../lib/s3/query';
import { removeDotSegments, rewriteToBackend } from '../../../lib/s3/rewrite';
import { canonicalizeQuery } from '../../../lib/sigv4/canonical-request';
import { OspError } from '../../../lib/errors';

const backendQuery = (raw: string, strip = false) => buildBackendQuery(parseQuery(raw), strip ? isClientAuthParam : undefined);

describe('parseQuery', () => {
  it('decodes names and values once, keeps valueless params apart from empty values', () => {
    expect(parseQuery('%64elete&a=%20x&b=&c')).toEqual([
      { name: 'delete', value: undefined },
      { name: 'a', value: ' x' },
      { name: 'b', value: '' },
      { name: 'c', value: undefined },
    ]);
    expect(parseQuery('a=1+2')[0]?.value).toBe('1+2');
    expect(parseQuery('')).toEqual([]);
    expect(parseQuery('&&a&')).toEqual([{ name: 'a', value: undefined }]);
  });
  it('refuses a name given twice, also when encoded differently (issue [9])', () => {
    for (const raw of ['a=1&a=2', 'delete&%64elete', 'versionId=1&versionId']) {
      expect(() => parseQuery(raw)).toThrow(OspError);
      try {
        parseQuery(raw);
      } catch (err) {
        expect((err as OspError).s3Code).toBe('InvalidArgument');
      }
    }
  });
  it('refuses malformed encoding and empty names', () => {
    expect(() => parseQuery('a=%E0%A4%A')).toThrow(OspError);
    expect(() => parseQuery('=x')).toThrow(OspError);
  });
  it('queryRecord', () => {
    expect(queryRecord(parseQuery('a=1&b&c=%20x'))).toEqual({ a: '1', b: '', c: ' x' });
  });
});

describe('buildBackendQuery', () => {
  it('keeps valueless params valueless on the wire, canonical has name=', () => {
    expect(backendQuery('uploads')).toEqual({ wire: 'uploads', canonical: 'uploads=' });
  });
  it('forwards the decoded name: what was classified is what is sent', () => {
    expect(backendQuery('%64elete').wire).toBe('delete');
  });
  it('re-encodes with AWS UriEncode and sorts only the canonical form', () => {
    const q = backendQuery('prefix=a%20b/c&list-type=2&continuation-token=x%3D%2B');
    expect(q.wire).toBe('prefix=a%20b%2Fc&list-type=2&continuation-token=x%3D%2B');
    expect(q.canonical).toBe('continuation-token=x%3D%2B&list-type=2&prefix=a%20b%2Fc');
    // The backend canonicalizes what we send: it must equal what we signed.
    expect(canonicalizeQuery(q.wire)).toBe(q.canonical);
  });
  it('strips presigned auth params only when asked, keeps the rest', () => {
    const raw =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab&response-content-type=text%2Fplain&x-id=GetObject';
    expect(backendQuery(raw, true).wire).toBe('response-content-type=text%2Fplain&x-id=GetObject');
    expect(backendQuery(raw, false).wire).toContain('X-Amz-Signature=ab');
  });
});

describe('rewriteToBackend', () => {
  const base = { host: 's3.example.com', port: 443, tls: true, backendBucket: 'real', key: 'a b/c+d' };
  it('virtual-hosted: bucket in host, canonical key path', () => {
    expect(rewriteToBackend({ ...base, addressingStyle: 'virtual' })).toEqual({
      protocol: 'https:',
      hostname: 'real.s3.example.com',
      port: 443,
      hostHeader: 'real.s3.example.com',
      path: '/a%20b/c%2Bd',
    });
  });
  it('path-style with a non-default port keeps the port in Host', () => {
    expect(rewriteToBackend({ ...base, addressingStyle: 'path', port: 9000, tls: false })).toEqual({
      protocol: 'http:',
      hostname: 's3.example.com',
      port: 9000,
      hostHeader: 's3.example.com:9000',
      path: '/real/a%20b/c%2Bd',
    });
  });
  it('bucket-level requests', () => {
    expect(rewriteToBackend({ ...base, key: undefined, addressingStyle: 'virtual' }).path).toBe('/');
    expect(rewriteToBackend({ ...base, key: undefined, addressingStyle: 'path' }).path).toBe('/real');
    expect(rewriteToBackend({ ...base, key: '', addressingStyle: 'path' }).path).toBe('/real/');
  });
  it('never double-encodes and keeps empty segments', () => {
    expect(rewriteToBackend({ ...base, key: '100%/done//x', addressingStyle: 'path' }).path).toBe('/real/100%25/done//x');
  });
  it('allowed dot segments: a key that would climb out of its path-style bucket is refused (issue [9])', () => {
    expect(() => rewriteToBackend({ ...base, key: 'x/../../other/secret', addressingStyle: 'path' })).toThrow(OspError);
    expect(() => rewriteToBackend({ ...base, key: '..', addressingStyle: 'path' })).toThrow(OspError);
    expect(rewriteToBackend({ ...base, key: 'x/../y', addressingStyle: 'path' }).path).toBe('/real/x/../y');
    // Virtual-hosted: the bucket is in the Host, no path can leave it.
    expect(rewriteToBackend({ ...base, key: '../../y', addressingStyle: 'virtual' }).path).toBe('/../../y');
  });
  it('removeDotSegments (RFC 3986 5.2.4)', () => {
    expect(removeDotSegments('/a/b/../c')).toBe('/a/c');
    expect(removeDotSegments('/a/../../c')).toBe('/c');
    expect(removeDotSegments('/a/./b/.')).toBe('/a/b/');
    expect(removeDotSegments('/a/..')).toBe('/');
  });
});
