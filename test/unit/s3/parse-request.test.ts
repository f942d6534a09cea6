import { bucketFromHost, parseS3Target, splitUrl, stripPort } from '../../../lib/s3/parse-request';
import { OspError } from '../../../lib/errors';

describe('parseS3Target', () => {
  it('reads path-style bucket and raw key', () => {
    expect(parseS3Target('/photos/a%20b/c.jpg', 'proxy:8080', [])).toEqual({ bucket: 'photos', rawKey: 'a%20b/c.jpg', style: 'path' });
  });
  it('bucket without key, with and without trailing slash', () => {
    expect(parseS3Target('/photos', undefined, [])).toEqual({ bucket: 'photos', style: 'path' });
    expect(parseS3Target('/photos/', undefined, [])).toEqual({ bucket: 'photos', rawKey: '', style: 'path' });
  });
  it('service level', () => {
    expect(parseS3Target('/', undefined, [])).toEqual({ style: 'service' });
  });
  it('keeps empty segments of keys', () => {
    expect(parseS3Target('/b/a//c/', undefined, []).rawKey).toBe('a//c/');
  });
  it('virtual-hosted bucket from a configured domain, case-insensitive, port ignored', () => {
    expect(parseS3Target('/k%2Bx', 'Photos.S3.Example.com:8443', ['s3.example.com'])).toEqual({ bucket: 'photos', rawKey: 'k%2Bx', style: 'virtual' });
    expect(parseS3Target('/', 'photos.s3.example.com', ['s3.example.com'])).toEqual({ bucket: 'photos', rawKey: undefined, style: 'virtual' });
  });
  it('an unconfigured host falls back to path-style', () => {
    expect(parseS3Target('/b/k', 'photos.other.com', ['s3.example.com']).style).toBe('path');
    expect(bucketFromHost('s3.example.com', ['s3.example.com'])).toBeUndefined();
    expect(bucketFromHost('xs3.example.com', ['s3.example.com'])).toBeUndefined();
  });
  it('rejects malformed bucket names', () => {
    expect(() => parseS3Target('/%E0%A4%A/k', undefined, [])).toThrow(OspError);
    expect(() => parseS3Target('/a%2Fb/k', undefined, [])).toThrow(OspError);
    expect(() => parseS3Target('/../k', undefined, [])).toThrow(OspError);
    expect(() => parseS3Target('relative', undefined, [])).toThrow(OspError);
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
