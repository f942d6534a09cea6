import { bucketFromHost, checkKey, hasDotSegment, parseS3Target, splitUrl, stripPort } from '../../../lib/s3/parse-request';
import { OspError } from '../../../lib/errors';

const none = { virtualHostDomains: [] };
const s3ExampleCom = { virtualHostDomains: ['s3.example.com'] };

/** The S3 error code a call throws. */
function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return err instanceof OspError ? err.s3Code : 'not an OspError';
  }
  return undefined;
}

describe('parseS3Target', () => {
  it('reads path-style bucket and decodes the key once', () => {
    expect(parseS3Target('/photos/a%20b/c.jpg', 'proxy:8080', none)).toEqual({ bucket: 'photos', key: 'a b/c.jpg', style: 'path' });
    expect(parseS3Target('/photos/100%2525', undefined, none).key).toBe('100%25');
  });
  it('bucket without key, with and without trailing slash', () => {
    expect(parseS3Target('/photos', undefined, none)).toEqual({ bucket: 'photos', style: 'path' });
    expect(parseS3Target('/photos/', undefined, none)).toEqual({ bucket: 'photos', key: '', style: 'path' });
  });
  it('service level', () => {
    expect(parseS3Target('/', undefined, none)).toEqual({ style: 'service' });
  });
  it('keeps empty segments of keys', () => {
    expect(parseS3Target('/b/a//c/', undefined, none).key).toBe('a//c/');
  });
  it('virtual-hosted bucket from a configured domain, case-insensitive, port ignored', () => {
    expect(parseS3Target('/k%2Bx', 'Photos.S3.Example.com:8443', s3ExampleCom)).toEqual({ bucket: 'photos', key: 'k+x', style: 'virtual' });
    expect(parseS3Target('/', 'photos.s3.example.com', s3ExampleCom)).toEqual({ bucket: 'photos', key: undefined, style: 'virtual' });
  });
  it('an unconfigured host falls back to path-style', () => {
    expect(parseS3Target('/b/k', 'photos.other.com', s3ExampleCom).style).toBe('path');
    expect(bucketFromHost('s3.example.com', ['s3.example.com'])).toBeUndefined();
    expect(bucketFromHost('xs3.example.com', ['s3.example.com'])).toBeUndefined();
  });
  it('rejects malformed bucket names and non-origin-form targets', () => {
    expect(codeOf(() => parseS3Target('/%E0%A4%A/k', undefined, none))).toBe('InvalidURI');
    expect(codeOf(() => parseS3Target('/a%2Fb/k', undefined, none))).toBe('InvalidURI');
    expect(codeOf(() => parseS3Target('/../k', undefined, none))).toBe('InvalidURI');
    expect(codeOf(() => parseS3Target('relative', undefined, none))).toBe('InvalidURI');
    expect(codeOf(() => parseS3Target('http://evil.example/b/k', undefined, none))).toBe('InvalidURI');
    expect(codeOf(() => parseS3Target('*', undefined, none))).toBe('InvalidURI');
  });
  it('refuses dot segments in keys, however encoded, unless allowed (issue [9])', () => {
    for (const path of ['/b/x/../../other/secret', '/b/x%2F..%2F..%2Fother%2Fsecret', '/b/%2E%2E/k', '/b/.%2e', '/b/./k', '/b/k/.', '/b/..']) {
      expect(codeOf(() => parseS3Target(path, undefined, none))).toBe('InvalidArgument');
      expect(parseS3Target(path, undefined, { ...none, allowDotSegmentsInKeys: true }).bucket).toBe('b');
    }
    expect(codeOf(() => parseS3Target('/..%2Fother/k', 'b.s3.example.com', s3ExampleCom))).toBe('InvalidArgument');
    // Dots inside a segment are ordinary key characters.
    expect(parseS3Target('/b/a..b/.hidden/...', undefined, none).key).toBe('a..b/.hidden/...');
  });
  it('refuses keys over 1024 UTF-8 bytes', () => {
    expect(codeOf(() => checkKey('é'.repeat(513), false))).toBe('KeyTooLongError');
    expect(codeOf(() => checkKey('é'.repeat(512), false))).toBeUndefined();
  });
  it('hasDotSegment', () => {
    expect(hasDotSegment('a/./b')).toBe(true);
    expect(hasDotSegment('..')).toBe(true);
    expect(hasDotSegment('a.b/c.')).toBe(false);
    // Every key of up to 7 characters from '.', '/', 'a': the same answer as splitting on '/'.
    const bySplit = (key: string) => key.split('/').some((s) => s === '.' || s === '..');
    const keys = [''];
    for (let len = 1; len <= 7; len++) for (const k of keys.filter((x) => x.length === len - 1)) keys.push(k + '.', k + '/', k + 'a');
    for (const key of keys) expect([key, hasDotSegment(key)]).toEqual([key, bySplit(key)]);
  });
});

describe('helpers', () => {
  it('splitUrl', () => {
    expect(splitUrl('/a/b?x=1&y')).toEqual({ path: '/a/b', query: 'x=1&y' });
    expect(splitUrl('/a')).toEqual({ path: '/a', query: '' });
  });
  it('stripPort keeps IPv6 brackets', () => {
    expect(stripPort('[::1]:9000')).toBe('[::1]');
    expect(stripPort('h:1')).toBe('h');
    expect(stripPort('h')).toBe('h');
  });
});
