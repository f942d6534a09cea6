import {
  buildCanonicalRequest,
  buildStringToSign,
  canonicalHeadersFromRaw,
  canonicalHeadersFromRecord,
  canonicalHeaderValue,
  canonicalizePath,
  canonicalizeQuery,
} from '../../../lib/sigv4/canonical-request';

describe('canonicalizePath', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['/bucket/key', '/bucket/key'],
    ['/bucket/a//b', '/bucket/a//b'],
    ['/bucket/dir/', '/bucket/dir/'],
    ['/bucket/my%20file', '/bucket/my%20file'],
    ['/bucket/%7Etilde%7e', '/bucket/~tilde~'],
    ['/bucket/caf%c3%a9', '/bucket/caf%C3%A9'],
    ['/bucket/café', '/bucket/caf%C3%A9'],
    ['/bucket/a+b', '/bucket/a%2Bb'],
    ['/bucket/a%2Bb', '/bucket/a%2Bb'],
    ["/bucket/(x)!*'", '/bucket/%28x%29%21%2A%27'],
    ['/bucket/literal%252F', '/bucket/literal%252F'],
    // S3 does not normalize dot segments
    ['/bucket/./a/../b', '/bucket/./a/../b'],
  ])('%j -> %j', (raw, canonical) => {
    expect(canonicalizePath(raw)).toBe(canonical);
  });
  it('decodes an encoded slash inside a segment (S3 key semantics)', () => {
    expect(canonicalizePath('/bucket/a%2Fb')).toBe('/bucket/a/b');
  });
  it('throws InvalidURI on malformed escapes', () => {
    expect(() => canonicalizePath('/bucket/%zz')).toThrow(expect.objectContaining({ s3Code: 'InvalidURI' }));
  });
});

describe('canonicalizeQuery', () => {
  it.each([
    ['', ''],
    ['uploads', 'uploads='],
    ['uploads=', 'uploads='],
    ['delete&', 'delete='],
    ['&&acl', 'acl='],
    ['b=2&a=1', 'a=1&b=2'],
    ['a=2&a=1&a=10', 'a=1&a=10&a=2'],
    ['prefix=my%20dir/sub dir/', 'prefix=my%20dir%2Fsub%20dir%2F'],
    ['continuation-token=ab%2Bc%3D%3D', 'continuation-token=ab%2Bc%3D%3D'],
    ['continuation-token=ab+c==', 'continuation-token=ab%2Bc%3D%3D'],
    ['k=a=b', 'k=a%3Db'],
    ['x-id=GetObject&uploadId=~x', 'uploadId=~x&x-id=GetObject'],
    ['%7e=%7e', '~=~'],
    ['name=caf%c3%a9', 'name=caf%C3%A9'],
    // sort is by encoded name: "A" (0x41) < "_" (0x5F) < "a" (0x61)
    ['a=1&_=2&A=3', 'A=3&_=2&a=1'],
  ])('%j -> %j', (raw, canonical) => {
    expect(canonicalizeQuery(raw)).toBe(canonical);
  });
  it('omits a parameter', () => {
    expect(canonicalizeQuery('X-Amz-Signature=abc&b=1&X-Amz-Date=x', 'X-Amz-Signature')).toBe('X-Amz-Date=x&b=1');
  });
  it('throws InvalidURI on malformed escapes', () => {
    expect(() => canonicalizeQuery('a=%E0%A4')).toThrow(expect.objectContaining({ s3Code: 'InvalidURI' }));
  });
});

describe('canonical headers', () => {
  it('trims and collapses spaces and tabs', () => {
    expect(canonicalHeaderValue('  a   b\t\tc  ')).toBe('a b c');
    expect(canonicalHeaderValue('plain value')).toBe('plain value');
    expect(canonicalHeaderValue('\t')).toBe('');
    expect(canonicalHeaderValue('"a   b"')).toBe('"a b"');
  });
  it('joins repeated raw headers with "," in arrival order, case-insensitively', () => {
    const raw = ['Host', 'h', 'X-Amz-Meta-X', ' one  1 ', 'x-amz-meta-x', 'two', 'X-Other', 'z'];
    expect(canonicalHeadersFromRaw(raw, ['host', 'x-amz-meta-x'])).toBe('host:h\nx-amz-meta-x:one 1,two\n');
  });
  it('uses :authority for host (HTTP/2) and gives absent headers an empty value', () => {
    const raw = [':authority', 'example.com', ':method', 'GET'];
    expect(canonicalHeadersFromRaw(raw, ['host', 'x-amz-date'])).toBe('host:example.com\nx-amz-date:\n');
    expect(canonicalHeadersFromRaw([':authority', 'a', 'host', 'b'], ['host'])).toBe('host:b\n');
  });
  it('builds from a record (arrays joined with ",", numbers stringified)', () => {
    expect(canonicalHeadersFromRecord({ host: 'h', 'x-amz-meta-a': ['1 ', ' 2'], 'content-length': 5 }, ['content-length', 'host', 'missing', 'x-amz-meta-a'])).toBe(
      'content-length:5\nhost:h\nmissing:\nx-amz-meta-a:1,2\n',
    );
  });
});

describe('canonical request and string to sign', () => {
  // AWS documentation example "GET Object" (sig-v4-header-based-auth.html).
  const canonicalRequest = buildCanonicalRequest(
    'GET',
    '/test.txt',
    '',
    canonicalHeadersFromRaw(
      ['Host', 'examplebucket.s3.amazonaws.com', 'Range', 'bytes=0-9', 'x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'x-amz-date', '20130524T000000Z'],
      ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
    ),
    'host;range;x-amz-content-sha256;x-amz-date',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  it('matches the AWS documentation example', () => {
    expect(canonicalRequest).toBe(
      'GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n' +
        'x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n' +
        'x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n' +
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(buildStringToSign('20130524T000000Z', '20130524/us-east-1/s3/aws4_request', canonicalRequest)).toBe(
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n' + '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
    );
  });
});
