import { errorOf } from './vector-helpers';
import { isSigV2Authorization, parseAuthorizationHeader } from '../../../lib/sigv4/parse-authorization';

const SIG = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
const CRED = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

describe('parseAuthorizationHeader', () => {
  it.each([
    `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;range;x-amz-date, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=${CRED},SignedHeaders=host;range;x-amz-date,Signature=${SIG}`,
    `AWS4-HMAC-SHA256   Credential=${CRED} ,  SignedHeaders=host;range;x-amz-date ,Signature=${SIG}  `,
    `AWS4-HMAC-SHA256 Signature=${SIG}, Credential=${CRED}, SignedHeaders=host;range;x-amz-date`,
  ])('parses %j', (value) => {
    expect(parseAuthorizationHeader(value)).toEqual({
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      scope: { date: '20130524', region: 'us-east-1', service: 's3', terminator: 'aws4_request' },
      scopeString: '20130524/us-east-1/s3/aws4_request',
      signedHeaders: ['host', 'range', 'x-amz-date'],
      signature: SIG,
    });
  });

  it('rejects SigV2 with InvalidRequest naming the fix', () => {
    const e = errorOf(() => parseAuthorizationHeader('AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg='));
    expect([e.status, e.s3Code]).toEqual([400, 'InvalidRequest']);
    expect(e.message).toContain('signature_version s3v4');
    expect(e.message).not.toContain('frJIUN8DYpKDtOLCwo');
    expect(isSigV2Authorization('AWS AK:sig')).toBe(true);
    expect(isSigV2Authorization(`AWS4-HMAC-SHA256 Credential=${CRED}`)).toBe(false);
  });

  it.each(['Bearer abc', 'AWS4-ECDSA-P256-SHA256 Credential=x', 'Basic dXNlcjpwYXNz', 'aws4-hmac-sha256 Credential=x'])('rejects algorithm %j with InvalidArgument', (value) => {
    const e = errorOf(() => parseAuthorizationHeader(value));
    expect([e.status, e.s3Code]).toEqual([400, 'InvalidArgument']);
  });

  it.each([
    ['missing signature', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host`],
    ['nothing after algorithm', 'AWS4-HMAC-SHA256'],
    ['short credential', `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3, SignedHeaders=host, Signature=${SIG}`],
    ['empty credential part', `AWS4-HMAC-SHA256 Credential=AK//us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`],
    ['uppercase signed header', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=Host;x-amz-date, Signature=${SIG}`],
    ['empty signed header', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;;x-amz-date, Signature=${SIG}`],
    ['host not signed', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=x-amz-date, Signature=${SIG}`],
    ['uppercase signature', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=${SIG.toUpperCase()}`],
    ['short signature', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=${SIG.slice(1)}`],
    ['repeated component', `AWS4-HMAC-SHA256 Credential=${CRED}, Credential=${CRED}, SignedHeaders=host, Signature=${SIG}`],
    ['unknown component', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=${SIG}, Foo=bar`],
    ['component without =', `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature`],
  ])('%s -> 400 AuthorizationHeaderMalformed without leaking the signature', (_label, value) => {
    const e = errorOf(() => parseAuthorizationHeader(value));
    expect([e.status, e.s3Code]).toEqual([400, 'AuthorizationHeaderMalformed']);
    expect(e.message).not.toContain(SIG);
    expect(e.message).not.toContain(SIG.toUpperCase());
  });
});
