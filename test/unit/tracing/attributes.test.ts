import { clientSpanAttributes, methodAttributes, parseHostHeader, redactQuery, s3Route, serverSpanAttributes, spanMethod } from '../../../lib/tracing/attributes';

describe('redactQuery', () => {
  test.each([
    ['', ''],
    ['x-id=GetObject', 'x-id=GetObject'],
    ['X-Amz-Signature=abc&x-id=GetObject', 'X-Amz-Signature=REDACTED&x-id=GetObject'],
    ['X-Amz-Credential=AK%2F20261130%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=tok&X-Amz-Expires=60', 'X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Expires=60'],
    // SigV2 presigned URLs, and a name written percent-encoded
    ['AWSAccessKeyId=AK&Signature=sig&Expires=1', 'AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1'],
    ['X-Amz-%53ignature=abc', 'X-Amz-%53ignature=REDACTED'],
    ['x-amz-signature', 'x-amz-signature=REDACTED'],
  ])('%s', (query, expected) => expect(redactQuery(query)).toBe(expected));
});

test('parseHostHeader', () => {
  expect(parseHostHeader('example.com')).toEqual({ address: 'example.com' });
  expect(parseHostHeader('bucket.s3.local:8080')).toEqual({ address: 'bucket.s3.local', port: 8080 });
  expect(parseHostHeader('[::1]:9000')).toEqual({ address: '::1', port: 9000 });
  expect(parseHostHeader(undefined)).toEqual({});
  expect(parseHostHeader('a:b:c')).toEqual({});
});

test('method attributes and span method: unknown methods are _OTHER / HTTP', () => {
  expect(methodAttributes('PUT')).toEqual({ 'http.request.method': 'PUT' });
  expect(methodAttributes('PROPFIND')).toEqual({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND' });
  expect(spanMethod('PROPFIND')).toBe('HTTP');
  expect(spanMethod('HEAD')).toBe('HEAD');
});

test('s3Route: bucket and key values never enter the route', () => {
  expect(s3Route('', 'path', true, true)).toBe('/{bucket}/{key}');
  expect(s3Route('', 'path', true, false)).toBe('/{bucket}');
  expect(s3Route('', 'service', false, false)).toBe('/');
  expect(s3Route('', 'virtual', true, true)).toBe('/{key}');
  expect(s3Route('', 'virtual', true, false)).toBe('/');
  expect(s3Route('/s3', 'path', true, true)).toBe('/s3/{bucket}/{key}');
  expect(s3Route('', undefined, false, false)).toBe('/');
});

test('serverSpanAttributes: path without query, query redacted, host split', () => {
  expect(
    serverSpanAttributes({
      method: 'GET',
      target: '/s3/photos/a%20b.jpg?X-Amz-Signature=deadbeef&x-id=GetObject',
      host: 'proxy.example:8443',
      tls: true,
      httpVersion: '1.1',
      remoteAddress: '127.0.0.1',
      userAgent: 'aws-cli/2',
    }),
  ).toEqual({
    'http.request.method': 'GET',
    'url.path': '/s3/photos/a%20b.jpg',
    'url.query': 'X-Amz-Signature=REDACTED&x-id=GetObject',
    'url.scheme': 'https',
    'server.address': 'proxy.example',
    'server.port': 8443,
    'network.protocol.version': '1.1',
    'client.address': '127.0.0.1',
    'user_agent.original': 'aws-cli/2',
  });
  expect(serverSpanAttributes({ method: 'PUT', target: '/', host: undefined, tls: false, httpVersion: undefined, remoteAddress: undefined, userAgent: undefined })).toEqual({
    'http.request.method': 'PUT',
    'url.path': '/',
    'url.scheme': 'http',
  });
});

test('clientSpanAttributes: the backend URL and host', () => {
  expect(
    clientSpanAttributes({
      method: 'PUT',
      protocol: 'https:',
      hostname: 's3.eu-de.example',
      port: 443,
      hostHeader: 's3.eu-de.example',
      path: '/real-bucket/k',
      query: 'uploadId=1&partNumber=2',
      operation: 'UploadPart',
      bucket: 'photos',
    }),
  ).toEqual({
    'http.request.method': 'PUT',
    'server.address': 's3.eu-de.example',
    'server.port': 443,
    'url.full': 'https://s3.eu-de.example/real-bucket/k?uploadId=1&partNumber=2',
    'osp.backend.host': 's3.eu-de.example',
    'osp.operation': 'UploadPart',
    'osp.bucket': 'photos',
  });
});
