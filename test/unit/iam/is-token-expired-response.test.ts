import { isTokenExpiredResponse } from '../../../lib/backends/iam-token-provider';

const xml = (code: string, message = 'x') => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Resource>/b/k</Resource></Error>`;

describe('isTokenExpiredResponse', () => {
  test('401 always means the bearer token was not accepted', () => {
    expect(isTokenExpiredResponse(401, {})).toBe(true);
    expect(isTokenExpiredResponse(401, undefined, xml('AccessDenied'))).toBe(true);
  });

  test('403/400 with an expired/invalid-token code', () => {
    expect(isTokenExpiredResponse(403, {}, xml('ExpiredToken', 'The provided token has expired.'))).toBe(true);
    expect(isTokenExpiredResponse(400, {}, xml('ExpiredToken'))).toBe(true);
    expect(isTokenExpiredResponse(403, {}, xml('InvalidToken'))).toBe(true);
    expect(isTokenExpiredResponse(403, {}, xml('TokenRefreshRequired'))).toBe(true);
  });

  test('403 AccessDenied only when the message speaks of an expired/invalid token', () => {
    expect(isTokenExpiredResponse(403, {}, xml('AccessDenied', 'Access Denied'))).toBe(false);
    expect(isTokenExpiredResponse(403, {}, xml('AccessDenied', 'The token has expired'))).toBe(true);
    expect(isTokenExpiredResponse(403, {}, xml('AccessDenied', 'Invalid token'))).toBe(true);
  });

  test('headers: WWW-Authenticate invalid_token and x-amz-error-code (HEAD has no body)', () => {
    expect(isTokenExpiredResponse(403, { 'www-authenticate': 'Bearer error="invalid_token"' })).toBe(true);
    expect(isTokenExpiredResponse(403, { 'WWW-Authenticate': ['Bearer error="invalid_token"'] })).toBe(true);
    expect(isTokenExpiredResponse(403, { 'x-amz-error-code': 'ExpiredToken' })).toBe(true);
    expect(isTokenExpiredResponse(403, {})).toBe(false);
  });

  test('other statuses never', () => {
    expect(isTokenExpiredResponse(200, {}, xml('ExpiredToken'))).toBe(false);
    expect(isTokenExpiredResponse(404, {}, xml('NoSuchKey'))).toBe(false);
    expect(isTokenExpiredResponse(500, {}, xml('InternalError'))).toBe(false);
    expect(isTokenExpiredResponse(400, {}, xml('InvalidArgument', 'token expired'))).toBe(false);
  });
});
