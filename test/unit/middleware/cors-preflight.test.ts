/**
 * Which `OPTIONS` is a CORS preflight (issue [1/5]): one with `Origin` and
 * `Access-Control-Request-Method`, whatever its query holds (Chromium sends the preflight of a
 * presigned PUT to the presigned URL); one without either is refused as RGW and S3 refuse it.
 */
import type { Request } from 'express';
import { incompletePreflight, isCorsPreflight } from '../../../lib/middleware/cors-preflight';

const request = (method: string, headers: Record<string, string>) => ({ method, headers }) as unknown as Request;
const PREFLIGHT = { origin: 'https://app.example', 'access-control-request-method': 'PUT' };

describe('isCorsPreflight', () => {
  it('is true for OPTIONS with Origin and Access-Control-Request-Method (the query is not looked at)', () => {
    expect(isCorsPreflight(request('OPTIONS', PREFLIGHT))).toBe(true);
  });

  it('is false for another method, a missing header, or an Authorization header (a signed OPTIONS is verified)', () => {
    expect(isCorsPreflight(request('PUT', PREFLIGHT))).toBe(false);
    expect(isCorsPreflight(request('OPTIONS', { origin: 'https://app.example' }))).toBe(false);
    expect(isCorsPreflight(request('OPTIONS', { 'access-control-request-method': 'PUT' }))).toBe(false);
    expect(isCorsPreflight(request('OPTIONS', { ...PREFLIGHT, authorization: 'AWS4-HMAC-SHA256 Credential=…' }))).toBe(false);
  });
});

describe('incompletePreflight', () => {
  it('refuses an OPTIONS on a bucket without Origin or without Access-Control-Request-Method: 400 InvalidArgument, signed or not', () => {
    const cases: Record<string, string>[] = [{}, { origin: 'https://app.example' }, { 'access-control-request-method': 'GET' }, { authorization: 'AWS4-HMAC-SHA256 …' }];
    for (const headers of cases) {
      const error = incompletePreflight(request('OPTIONS', headers), 'bucket');
      expect([error?.status, error?.s3Code]).toEqual([400, 'InvalidArgument']);
    }
    expect(incompletePreflight(request('OPTIONS', {}), 'bucket')?.message).toBe('Insufficient information. Origin request header needed.');
  });

  it('lets a complete preflight, another method and a service-level OPTIONS through', () => {
    expect(incompletePreflight(request('OPTIONS', PREFLIGHT), 'bucket')).toBeUndefined();
    expect(incompletePreflight(request('GET', {}), 'bucket')).toBeUndefined();
    expect(incompletePreflight(request('OPTIONS', {}), undefined)).toBeUndefined();
  });
});
