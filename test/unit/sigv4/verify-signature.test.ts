import botocore from '../../fixtures/sigv4/botocore-vectors.json';
import jssdk from '../../fixtures/sigv4/jssdk-vectors.json';
import { parseAuthorizationHeader } from '../../../lib/sigv4/parse-authorization';
import { parsePresignedQuery, type SigV4Presigned } from '../../../lib/sigv4/parse-presigned';
import { getSigningKey } from '../../../lib/sigv4/signing-key';
import { checkPresignedValidity, checkRequestTime, checkScope, computeSignature, parseHttpDate, verifySignature } from '../../../lib/sigv4/verify-signature';
import { canonicalizePath } from '../../../lib/sigv4/canonical-request';
import { flipChar, rawHeader, toVerifyInput, verifyVector, withHeader, errorOf, type Vector } from './vector-helpers';

const NOW = Date.parse(botocore.nowIso);
const sources: [string, Vector[]][] = [
  [botocore.generator, botocore.vectors as Vector[]],
  [jssdk.generator, jssdk.vectors as Vector[]],
];

function expectedSignature(v: Vector): string {
  if (v.kind === 'header') return /Signature=([0-9a-f]{64})/.exec(v.expectedAuthorization!)![1]!;
  return new URL(v.presignedUrl!).searchParams.get('X-Amz-Signature')!;
}

describe.each(sources)('vectors from %s', (_generator, vectors) => {
  it('has vectors', () => {
    expect(vectors.length).toBeGreaterThan(20);
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('verifies and computes the same signature', () => {
      expect(verifyVector(v, NOW)).toBe(true);
      const input = toVerifyInput(v);
      expect(computeSignature(input, canonicalizePath(v.rawPath))).toBe(expectedSignature(v));
    });

    it('fails with one character of the secret changed', () => {
      expect(verifyVector(v, NOW, { secretKey: flipChar(v.secretKey, 5) })).toBe(false);
    });

    it('fails with the path changed', () => {
      expect(verifyVector(v, NOW, { rawPath: flipChar(v.rawPath, 1) })).toBe(false);
      expect(verifyVector(v, NOW, { rawPath: v.rawPath + 'x' })).toBe(false);
    });

    it('fails with the query changed', () => {
      const q = v.rawQuery === '' ? 'x=1' : v.rawQuery + '&x=1';
      expect(verifyVector(v, NOW, { rawQuery: q })).toBe(false);
      if (v.kind === 'header' && v.rawQuery.includes('=') && !/=(&|$)/.test(v.rawQuery)) {
        const i = v.rawQuery.indexOf('=') + 1;
        expect(verifyVector(v, NOW, { rawQuery: flipChar(v.rawQuery, i) })).toBe(false);
      }
    });

    it('fails with the method changed', () => {
      expect(verifyVector(v, NOW, { method: v.method === 'GET' ? 'DELETE' : 'GET' })).toBe(false);
    });

    it('fails with a signed header value changed', () => {
      const input = toVerifyInput(v);
      for (const name of input.auth.signedHeaders) {
        if (name === 'x-amz-date' || name === 'date') continue; // changes the request time itself
        const rawHeaders = withHeader(v.rawHeaders, name, (old) => old + 'x');
        expect(verifySignature({ ...input, rawHeaders })).toBe(false);
      }
      // removing the host header entirely also fails
      const noHost = v.rawHeaders.filter((_h, i, a) => (i % 2 === 0 ? a[i] : a[i - 1])!.toLowerCase() !== 'host');
      expect(verifySignature({ ...input, rawHeaders: noHost })).toBe(false);
    });

    it('fails with one character of the signature changed', () => {
      const input = toVerifyInput(v);
      const signature = flipChar(input.auth.signature, 10);
      expect(verifySignature({ ...input, auth: { ...input.auth, signature } })).toBe(false);
    });

    it('ignores unsigned headers', () => {
      const rawHeaders = [...withHeader(v.rawHeaders, 'user-agent', () => 'other-agent/9'), 'X-Forwarded-For', '10.0.0.1', 'Accept', '*/*'];
      expect(verifyVector(v, NOW, { rawHeaders })).toBe(true);
    });

    it('accepts HTTP/2 :authority instead of Host', () => {
      const host = rawHeader(v.rawHeaders, 'host')!;
      const rawHeaders = [':authority', host, ...v.rawHeaders.filter((_h, i, a) => (i % 2 === 0 ? a[i] : a[i - 1])!.toLowerCase() !== 'host')];
      expect(verifyVector(v, NOW, { rawHeaders })).toBe(true);
    });
  });
});

describe('raw-path fallback', () => {
  it('accepts a client that signed its own encoding of "/" as %2F', () => {
    // Signed over the raw path "/bucket/a%2Fb" (canonicalizePath would give "/bucket/a/b").
    const v = (botocore.vectors as Vector[]).find((x) => x.name === 'GetObject plain key')!;
    const input = toVerifyInput(v);
    const rawPath = '/bucket/a%2Fb';
    const signature = computeSignature({ ...input, rawPath }, rawPath);
    expect(verifySignature({ ...input, rawPath, auth: { ...input.auth, signature } })).toBe(true);
    // ...and the S3 form of the same request still works
    const s3Signature = computeSignature({ ...input, rawPath }, '/bucket/a/b');
    expect(verifySignature({ ...input, rawPath, auth: { ...input.auth, signature: s3Signature } })).toBe(true);
  });
});

describe('AWS documentation examples', () => {
  const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  it('GET Object with Range (header auth)', () => {
    const rawHeaders = [
      'Host',
      'examplebucket.s3.amazonaws.com',
      'Range',
      'bytes=0-9',
      'x-amz-content-sha256',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date',
      '20130524T000000Z',
    ];
    const auth = parseAuthorizationHeader(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(
      verifySignature({
        method: 'GET',
        rawPath: '/test.txt',
        rawQuery: '',
        rawHeaders,
        auth,
        kind: 'header',
        amzDate: '20130524T000000Z',
        payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        secretKey,
      }),
    ).toBe(true);
  });
  it('presigned GET Object', () => {
    const rawQuery =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const auth = parsePresignedQuery(rawQuery)!;
    expect(
      verifySignature({
        method: 'GET',
        rawPath: '/test.txt',
        rawQuery,
        rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'],
        auth,
        kind: 'query',
        amzDate: auth.amzDate,
        payloadHash: 'UNSIGNED-PAYLOAD',
        secretKey,
      }),
    ).toBe(true);
  });
  it('derives the documented signing key', () => {
    expect(getSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam').toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });
});

describe('checkScope', () => {
  const base = parseAuthorizationHeader(`AWS4-HMAC-SHA256 Credential=AK/20240315/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`);
  it('accepts a matching scope', () => {
    expect(() => checkScope(base, '20240315T123456Z', 'header')).not.toThrow();
  });
  it.each([
    ['date', { ...base, scope: { ...base.scope, date: '20240314' } }],
    ['service', { ...base, scope: { ...base.scope, service: 'ec2' } }],
    ['terminator', { ...base, scope: { ...base.scope, terminator: 'aws4_requesx' } }],
    ['host not signed', { ...base, signedHeaders: ['x-amz-date'] }],
  ])('wrong %s -> 400 AuthorizationHeaderMalformed / AuthorizationQueryParametersError', (_l, auth) => {
    const h = errorOf(() => checkScope(auth, '20240315T123456Z', 'header'));
    expect([h.status, h.s3Code]).toEqual([400, 'AuthorizationHeaderMalformed']);
    const q = errorOf(() => checkScope(auth, '20240315T123456Z', 'query'));
    expect([q.status, q.s3Code]).toEqual([400, 'AuthorizationQueryParametersError']);
  });
});

describe('checkRequestTime', () => {
  const t = Date.parse('2024-03-15T12:34:56Z');
  it('accepts up to exactly 15 minutes of skew in both directions', () => {
    expect(() => checkRequestTime('20240315T123456Z', t)).not.toThrow();
    expect(() => checkRequestTime('20240315T123456Z', t + 900_000)).not.toThrow();
    expect(() => checkRequestTime('20240315T123456Z', t - 900_000)).not.toThrow();
  });
  it('rejects more than 15 minutes with RequestTimeTooSkewed and details', () => {
    const e = errorOf(() => checkRequestTime('20240315T123456Z', t + 900_001));
    expect([e.status, e.s3Code]).toEqual([403, 'RequestTimeTooSkewed']);
    expect(e.details).toEqual({
      RequestTime: '20240315T123456Z',
      ServerTime: '2024-03-15T12:49:56Z',
      MaxAllowedSkewMilliseconds: '900000',
    });
    expect(errorOf(() => checkRequestTime('20240315T123456Z', t - 900_001)).s3Code).toBe('RequestTimeTooSkewed');
    expect(errorOf(() => checkRequestTime('20240315T123456Z', t + 60_001, 60_000)).details.MaxAllowedSkewMilliseconds).toBe('60000');
  });
  it.each(['', '20240315T123456', '2024-03-15T12:34:56Z', '20240230T000000Z', '20241315T000000Z', '20240315T246000Z', '2024031XT123456Z'])('rejects malformed %j with 403 AccessDenied', (d) => {
    const e = errorOf(() => checkRequestTime(d, t));
    expect([e.status, e.s3Code, e.message]).toEqual([403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header']);
  });
});

describe('checkPresignedValidity', () => {
  const t = Date.parse('2024-03-15T12:34:56Z');
  const p = (over: Partial<SigV4Presigned> = {}): SigV4Presigned => ({
    ...parsePresignedQuery(
      `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240315%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240315T123456Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${'b'.repeat(64)}`,
    )!,
    ...over,
  });
  it('is valid until the last second', () => {
    expect(() => checkPresignedValidity(p(), t)).not.toThrow();
    expect(() => checkPresignedValidity(p(), t + 60_000)).not.toThrow();
    expect(() => checkPresignedValidity(p(), t + 60_999)).not.toThrow();
  });
  it('expires after X-Amz-Expires', () => {
    const e = errorOf(() => checkPresignedValidity(p(), t + 61_000));
    expect([e.status, e.s3Code, e.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
    expect(e.details).toEqual({ 'X-Amz-Expires': '60', Expires: '2024-03-15T12:35:56Z', ServerTime: '2024-03-15T12:35:57Z' });
  });
  it('rejects a date too far in the future', () => {
    expect(() => checkPresignedValidity(p(), t - 900_000)).not.toThrow();
    expect(errorOf(() => checkPresignedValidity(p(), t - 900_001)).s3Code).toBe('RequestTimeTooSkewed');
  });
  it('rejects a malformed date and out-of-range expires', () => {
    expect(errorOf(() => checkPresignedValidity(p({ amzDate: '20240315' }), t)).s3Code).toBe('AuthorizationQueryParametersError');
    expect(errorOf(() => checkPresignedValidity(p({ expiresSeconds: 604801 }), t)).s3Code).toBe('AuthorizationQueryParametersError');
    expect(errorOf(() => checkPresignedValidity(p({ expiresSeconds: 0 }), t)).s3Code).toBe('AuthorizationQueryParametersError');
  });
});

describe('parseHttpDate', () => {
  it.each([
    ['Fri, 15 Mar 2024 12:34:56 GMT', '20240315T123456Z'],
    ['Fri, 15 Mar 2024 12:34:56 -0000', '20240315T123456Z'],
    ['Fri, 15 Mar 2024 13:34:56 +0100', '20240315T123456Z'],
    ['Friday, 15-Mar-24 12:34:56 GMT', '20240315T123456Z'],
    ['Fri Mar 15 12:34:56 2024', '20240315T123456Z'],
  ])('%j -> %s', (input, expected) => {
    expect(parseHttpDate(input)).toBe(expected);
  });
  it.each(['', 'yesterday', 'Fri, 15 Mar 2024 12:34:56', '20240315T123456Z'])('rejects %j', (input) => {
    const e = errorOf(() => parseHttpDate(input));
    expect([e.status, e.s3Code]).toEqual([403, 'AccessDenied']);
  });
});
