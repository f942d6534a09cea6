import { redactHeaders, redactUrl } from '../../../lib/server/redact';

describe('redactUrl', () => {
  test.each([
    ['/b/k', '/b/k'],
    ['/b/k?x-id=GetObject', '/b/k?x-id=GetObject'],
    [
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20200101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcdef&x-id=GetObject',
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&x-id=GetObject',
    ],
    ['/b?x-amz-security-token=tok&list-type=2', '/b?x-amz-security-token=[REDACTED]&list-type=2'],
    ['/b?X-Amz-%53ignature=abc', '/b?X-Amz-%53ignature=[REDACTED]'],
    ['/b?X-Amz-Signature', '/b?X-Amz-Signature=[REDACTED]'],
    ['/b?Signature=v2sig&AWSAccessKeyId=AK&Expires=1', '/b?Signature=[REDACTED]&AWSAccessKeyId=[REDACTED]&Expires=1'],
    ['https://h/b?X-Amz-Signature=abc#frag', 'https://h/b?X-Amz-Signature=[REDACTED]#frag'],
    ['/b?a=%zz&X-Amz-Signature=s', '/b?a=%zz&X-Amz-Signature=[REDACTED]'],
    ['/b?X-Amz-Signature=a&X-Amz-Signature=b', '/b?X-Amz-Signature=[REDACTED]&X-Amz-Signature=[REDACTED]'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  test('keeps paths that merely look like parameters', () => {
    expect(redactUrl('/b/X-Amz-Signature=abc')).toBe('/b/X-Amz-Signature=abc');
  });
});

describe('redactHeaders', () => {
  test('replaces credential headers, case-insensitively, and keeps the rest', () => {
    expect(redactHeaders({ Authorization: 'AWS4-HMAC-SHA256 Credential=…', cookie: 'c', 'x-amz-security-token': 't', 'x-amz-date': 'd', host: 'h' })).toEqual({
      Authorization: '[REDACTED]',
      cookie: '[REDACTED]',
      'x-amz-security-token': '[REDACTED]',
      'x-amz-date': 'd',
      host: 'h',
    });
  });
});
