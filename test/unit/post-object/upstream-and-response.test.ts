import { buildUpstreamHeaders, streamsWithoutLength, taggingXmlToHeader } from '../../../lib/operations/post-object/upstream-headers';
import { buildPostSuccess } from '../../../lib/operations/post-object/post-response';

describe('buildUpstreamHeaders', () => {
  it('maps form fields to PutObject headers and drops the rest', () => {
    const fields = new Map(
      Object.entries({
        key: 'k',
        policy: 'p',
        'x-amz-signature': 's',
        'x-amz-credential': 'c',
        success_action_status: '201',
        'content-type': 'image/png',
        'cache-control': 'no-cache',
        'content-disposition': 'attachment',
        expires: 'Thu, 01 Dec 2094 16:00:00 GMT',
        acl: 'public-read',
        'x-amz-meta-user': 'alice',
        'x-amz-storage-class': 'STANDARD',
        'x-amz-server-side-encryption': 'AES256',
        tagging: '<Tagging><TagSet><Tag><Key>a b</Key><Value>1&amp;2</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>',
        'x-amz-copy-source': '/other/secret',
        'x-ignore-me': '1',
      }),
    );
    expect(buildUpstreamHeaders(fields)).toEqual({
      'content-type': 'image/png',
      'cache-control': 'no-cache',
      'content-disposition': 'attachment',
      expires: 'Thu, 01 Dec 2094 16:00:00 GMT',
      'x-amz-acl': 'public-read',
      'x-amz-meta-user': 'alice',
      'x-amz-storage-class': 'STANDARD',
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-tagging': 'a%20b=1%262&c=',
    });
  });

  it('refuses values that cannot be headers', () => {
    expect(buildUpstreamHeaders(new Map())).toEqual({});
    expect(() => buildUpstreamHeaders(new Map([['x-amz-meta-a', 'x\r\nInjected: 1']]))).toThrow(/printable ASCII/);
    expect(() => buildUpstreamHeaders(new Map([['x-amz-meta-bad name', 'v']]))).toThrow(/printable ASCII/);
  });

  it('rejects malformed tagging XML with MalformedXML', () => {
    expect(taggingXmlToHeader('<Tagging><TagSet></TagSet></Tagging>')).toBe('');
    expect(() => taggingXmlToHeader('<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>')).toThrow(expect.objectContaining({ s3Code: 'MalformedXML' }));
    expect(() => taggingXmlToHeader('a=b')).toThrow(expect.objectContaining({ s3Code: 'MalformedXML' }));
  });

  it('streams chunked only to backends measured to accept it', () => {
    expect(streamsWithoutLength('swift')).toBe(true);
    expect(streamsWithoutLength({ preset: 'moto' })).toBe(true);
    expect(streamsWithoutLength('ceph-rgw')).toBe(false);
    expect(streamsWithoutLength('aws')).toBe(false);
    expect(streamsWithoutLength(undefined)).toBe(false);
  });
});

describe('buildPostSuccess', () => {
  const base = { bucket: 'b', key: 'a/x y.txt', etag: '"abc"', location: 'http://proxy/b/a/x%20y.txt' };
  it('204 by default, 200 on request, 201 with the PostResponse XML', () => {
    expect(buildPostSuccess({ ...base, fields: new Map() })).toEqual({ status: 204, headers: { Location: base.location, ETag: '"abc"' }, body: '' });
    expect(buildPostSuccess({ ...base, fields: new Map([['success_action_status', '200']]) }).status).toBe(200);
    expect(buildPostSuccess({ ...base, fields: new Map([['success_action_status', '404']]) }).status).toBe(204);
    const created = buildPostSuccess({ ...base, key: 'a<b', fields: new Map([['success_action_status', '201']]) });
    expect(created.status).toBe(201);
    expect(created.body).toContain('<Key>a&lt;b</Key><ETag>"abc"</ETag>');
  });

  it('303 to a valid redirect with bucket, key and etag; an invalid redirect is ignored', () => {
    const r = buildPostSuccess({
      ...base,
      fields: new Map([
        ['success_action_redirect', 'https://app/done?x=1'],
        ['success_action_status', '201'],
      ]),
    });
    expect(r.status).toBe(303);
    expect(r.headers.Location).toBe('https://app/done?x=1&bucket=b&key=a%2Fx+y.txt&etag=%22abc%22');
    expect(buildPostSuccess({ ...base, fields: new Map([['redirect', 'javascript:alert(1)']]) }).status).toBe(204);
  });
});
