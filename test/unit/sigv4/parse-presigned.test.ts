import { errorOf } from './vector-helpers';
import { isSigV2Authorization, parsePresignedQuery } from '../../../lib/sigv4/parse-presigned';

const SIG = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
const BASE =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' + '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host';

describe('parsePresignedQuery', () => {
  it('returns undefined without SigV4 query parameters', () => {
    expect(parsePresignedQuery('')).toBeUndefined();
    expect(parsePresignedQuery('list-type=2&prefix=a%20b')).toBeUndefined();
    expect(parsePresignedQuery('uploads')).toBeUndefined();
    expect(parsePresignedQuery('X-Amz-Date=20130524T000000Z')).toBeUndefined();
  });

  it('parses the AWS documentation example', () => {
    expect(parsePresignedQuery(`${BASE}&X-Amz-Signature=${SIG}`)).toEqual({
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      scope: { date: '20130524', region: 'us-east-1', service: 's3', terminator: 'aws4_request' },
      scopeString: '20130524/us-east-1/s3/aws4_request',
      signedHeaders: ['host'],
      signature: SIG,
      amzDate: '20130524T000000Z',
      expiresSeconds: 86400,
    });
  });

  it('decodes the security token and X-Amz-Content-Sha256', () => {
    const p = parsePresignedQuery(`${BASE}&X-Amz-Security-Token=ab%2Bc%2F%3D%3D&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Signature=${SIG}`);
    expect(p?.securityToken).toBe('ab+c/==');
    expect(p?.contentSha256).toBe('UNSIGNED-PAYLOAD');
  });

  it('rejects SigV2 presigned URLs with InvalidRequest', () => {
    const e = errorOf(() => parsePresignedQuery('AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D'));
    expect([e.status, e.s3Code]).toEqual([400, 'InvalidRequest']);
    expect(e.message).toContain('SigV4');
    expect(isSigV2Authorization('AWS AK:sig')).toBe(true);
  });

  it.each([
    ['missing X-Amz-Date', `${BASE.replace('&X-Amz-Date=20130524T000000Z', '')}&X-Amz-Signature=${SIG}`],
    ['missing X-Amz-Signature', BASE],
    ['missing X-Amz-Expires', `${BASE.replace('&X-Amz-Expires=86400', '')}&X-Amz-Signature=${SIG}`],
    ['other algorithm', `${BASE.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256')}&X-Amz-Signature=${SIG}`],
    ['bad signature', `${BASE}&X-Amz-Signature=${SIG.slice(2)}`],
    ['repeated signature', `${BASE}&X-Amz-Signature=${SIG}&X-Amz-Signature=${SIG}`],
    ['expires 0', `${BASE.replace('X-Amz-Expires=86400', 'X-Amz-Expires=0')}&X-Amz-Signature=${SIG}`],
    ['expires negative', `${BASE.replace('X-Amz-Expires=86400', 'X-Amz-Expires=-5')}&X-Amz-Signature=${SIG}`],
    ['expires > 7 days', `${BASE.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801')}&X-Amz-Signature=${SIG}`],
    ['expires not a number', `${BASE.replace('X-Amz-Expires=86400', 'X-Amz-Expires=1e3')}&X-Amz-Signature=${SIG}`],
    ['malformed credential', `${BASE.replace('%2Fs3%2Faws4_request', '')}&X-Amz-Signature=${SIG}`],
    ['host not signed', `${BASE.replace('X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=range')}&X-Amz-Signature=${SIG}`],
  ])('%s -> 400 AuthorizationQueryParametersError', (_label, query) => {
    const e = errorOf(() => parsePresignedQuery(query));
    expect([e.status, e.s3Code]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(e.message).not.toContain(SIG);
  });

  it('accepts X-Amz-Expires of exactly 604800', () => {
    expect(parsePresignedQuery(`${BASE.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604800')}&X-Amz-Signature=${SIG}`)?.expiresSeconds).toBe(604800);
  });

  it('throws InvalidURI on malformed percent-encoding', () => {
    expect(errorOf(() => parsePresignedQuery(`${BASE}&X-Amz-Signature=%zz`)).s3Code).toBe('InvalidURI');
  });
});
