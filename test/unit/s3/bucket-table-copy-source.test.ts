import { bucketKeyProblem, createBucketTable, matchesBucketKey } from '../../../lib/s3/bucket-table';
import { formatCopySource, parseCopySource } from '../../../lib/s3/copy-source';
import { resolveOptions } from '../../../lib/options';
import { OspConfigError, OspError } from '../../../lib/errors';

describe('bucket table', () => {
  const table = createBucketTable<string>([
    ['*', 'catch-all'],
    ['acme-*', 'acme'],
    ['acme-prod-*', 'acme-prod'],
    ['acme-prod-billing', 'exact'],
  ]);
  it.each([
    ['acme-prod-billing', 'exact'],
    ['acme-prod-logs', 'acme-prod'],
    ['acme-dev', 'acme'],
    ['acme-', 'acme'],
    ['other', 'catch-all'],
  ])('%s → %s (exact > longest prefix > *)', (name, expected) => {
    expect(table.lookup(name)?.config).toBe(expected);
  });
  it('no catch-all: unmatched names are unknown', () => {
    expect(createBucketTable([['acme-*', 1]]).lookup('beta')).toBeUndefined();
  });
  it('validates keys', () => {
    expect(bucketKeyProblem('a*b')).toMatch(/only have one/);
    expect(bucketKeyProblem('**')).toMatch(/only have one/);
    expect(bucketKeyProblem('a/b')).toBeDefined();
    expect(bucketKeyProblem('acme-*')).toBeUndefined();
    expect(matchesBucketKey('acme-x', 'acme-*')).toBe(true);
    expect(matchesBucketKey('acme', 'acme-*')).toBe(false);
  });
  it('config errors: ambiguous patterns and backendBucket on a pattern', () => {
    const keys = [{ accessKey: 'a', secretKey: 'b' }];
    expect(() => resolveOptions({ buckets: { 'a*b': { host: 'h' } }, hmacKeystore: keys })).toThrow(OspConfigError);
    expect(() => resolveOptions({ buckets: { 'acme-*': { host: 'h', backendBucket: 'one' } }, hmacKeystore: keys })).toThrow(/backendBucket/);
  });
});

describe('x-amz-copy-source', () => {
  it.each([
    ['/src/dir/a%20b.txt', { bucket: 'src', rawKey: 'dir/a%20b.txt', versionSuffix: '', raw: '/src/dir/a%20b.txt', leadingSlash: true }],
    ['src/k?versionId=3', { bucket: 'src', rawKey: 'k', versionSuffix: '?versionId=3', raw: 'src/k?versionId=3', leadingSlash: false }],
    ['src%2Fk%2Fl', { bucket: 'src', rawKey: 'k/l', versionSuffix: '', raw: 'src%2Fk%2Fl', leadingSlash: false }],
  ])('parses %s', (value, expected) => {
    expect(parseCopySource(value)).toEqual(expected);
  });
  it('rejects values without bucket and key', () => {
    for (const bad of ['', '/', 'bucketonly', '/bucket/', '/%ZZ/k']) expect(() => parseCopySource(bad)).toThrow(OspError);
  });
  it('renders with the backend bucket name', () => {
    expect(formatCopySource('real-src', parseCopySource('/alias/dir/a%20b.txt?versionId=1'))).toBe('/real-src/dir/a%20b.txt?versionId=1');
    expect(formatCopySource('real-src', parseCopySource('alias/k'))).toBe('real-src/k');
  });
  it("keeps the client's form when the backend bucket has the same name (no added leading slash)", () => {
    for (const v of ['src/dir/a%20b.txt', '/src/k?versionId=1', 'src%2Fk', 'src/caf%C3%A9']) expect(formatCopySource('src', parseCopySource(v))).toBe(v);
  });
});
