import botocore from '../../fixtures/sigv4/botocore-vectors.json';
import { canonicalizePath, canonicalizeQuery } from '../../../lib/sigv4/canonical-request';
import { parseAuthorizationHeader } from '../../../lib/sigv4/parse-authorization';
import { signRequest } from '../../../lib/sigv4/sign-request';
import { verifySignature } from '../../../lib/sigv4/verify-signature';

const NOW = new Date(botocore.nowIso);

interface SignCase {
  name: string;
  method: string;
  canonicalUri: string;
  rawQuery: string;
  headers: Record<string, string>;
  sessionToken: string | null;
  accessKeyId: string;
  secretKey: string;
  region: string;
  expectedAuthorization: string;
  expectedAmzDate: string;
}

describe('signRequest matches botocore S3SigV4Auth', () => {
  it.each((botocore.signCases as unknown as SignCase[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const out = signRequest({
      method: c.method,
      canonicalUri: c.canonicalUri,
      canonicalQuery: canonicalizeQuery(c.rawQuery),
      headers: c.headers,
      accessKeyId: c.accessKeyId,
      secretKey: c.secretKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      region: c.region,
      now: NOW,
    });
    expect(out.amzDate).toBe(c.expectedAmzDate);
    expect(out.authorization).toBe(c.expectedAuthorization);
  });
});

describe('signRequest', () => {
  const base = {
    method: 'PUT',
    canonicalUri: canonicalizePath('/bucket/dir/my file+(1).txt'),
    canonicalQuery: canonicalizeQuery('partNumber=1&uploadId=a%2Bb'),
    headers: {
      host: 'backend:9000',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'content-type': 'text/plain',
      'content-length': 11,
      'user-agent': 'osp',
      'x-amz-meta-tags': ['a', 'b'],
      'x-amz-date': '19990101T000000Z',
      'x-amz-acl': undefined,
    },
    accessKeyId: 'AKUP',
    secretKey: 'upstream/secret+key',
    region: 'eu-central-1',
    now: new Date('2024-03-15T12:34:56.789Z'),
  };

  it('signs host, content-type and x-amz-* only, overriding x-amz-date', () => {
    const out = signRequest(base);
    expect(out.amzDate).toBe('20240315T123456Z');
    expect(out.signedHeaders).toBe('content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-tags');
    expect(out.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKUP/20240315/eu-central-1/s3/aws4_request, SignedHeaders=${out.signedHeaders}, Signature=${out.signature}`);
  });

  it('round-trips through verifySignature (with and without session token)', () => {
    for (const sessionToken of [undefined, 'tok+en/=='] as const) {
      const out = signRequest({ ...base, ...(sessionToken ? { sessionToken } : {}) });
      const rawHeaders = [
        'Host',
        'backend:9000',
        'Content-Type',
        'text/plain',
        'Content-Length',
        '11',
        'User-Agent',
        'something-else',
        'X-Amz-Meta-Tags',
        'a',
        'X-Amz-Meta-Tags',
        'b',
        'X-Amz-Content-Sha256',
        'UNSIGNED-PAYLOAD',
        'X-Amz-Date',
        out.amzDate,
        ...(sessionToken ? ['X-Amz-Security-Token', sessionToken] : []),
        'Authorization',
        out.authorization,
      ];
      const auth = parseAuthorizationHeader(out.authorization);
      expect(auth.signedHeaders.includes('x-amz-security-token')).toBe(sessionToken !== undefined);
      const input = {
        method: 'PUT',
        rawPath: '/bucket/dir/my%20file%2B%281%29.txt',
        rawQuery: 'uploadId=a%2Bb&partNumber=1',
        rawHeaders,
        auth,
        kind: 'header' as const,
        amzDate: out.amzDate,
        payloadHash: 'UNSIGNED-PAYLOAD',
        secretKey: base.secretKey,
      };
      expect(verifySignature(input)).toBe(true);
      expect(verifySignature({ ...input, secretKey: 'upstream/secret+kex' })).toBe(false);
    }
  });

  it('requires host and x-amz-content-sha256', () => {
    expect(() => signRequest({ ...base, headers: { host: 'h' } })).toThrow(/x-amz-content-sha256/);
    expect(() => signRequest({ ...base, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })).toThrow(/host/);
  });

  it('uses the service given', () => {
    expect(signRequest({ ...base, service: 's3express' }).authorization).toContain('/eu-central-1/s3express/aws4_request');
  });
});
