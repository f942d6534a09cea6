import vectors from '../../fixtures/sigv2/botocore-vectors.json';
import { parseSigV2Authorization, parseSigV2Presigned } from '../../../lib/sigv2/parse';
import { buildSigV2StringToSign, canonicalizedResource, type SigV2Request } from '../../../lib/sigv2/string-to-sign';
import { checkSigV2Expiry, checkSigV2RequestTime, signSigV2, verifySigV2 } from '../../../lib/sigv2/verify';
import { errorOf, flipChar, rawHeader, withHeader } from '../sigv4/vector-helpers';

interface V2Vector {
  name: string;
  kind: 'header' | 'query';
  method: string;
  host: string;
  rawPath: string;
  rawQuery: string;
  rawHeaders: string[];
  secretKey: string;
  accessKeyId: string;
  expectedAuthorization?: string;
  presignedUrl?: string;
}

const all = vectors.vectors as V2Vector[];
const NOW = vectors.now * 1000;

/** The request and the signature the client sent, as the middleware reads them. */
function toRequest(v: V2Vector, o: Partial<V2Vector> = {}): { req: SigV2Request; accessKeyId: string; signature: string } {
  const x = { ...v, ...o };
  const bucketPrefix = x.host.startsWith('bucket.') ? '/bucket' : '';
  const bucketLevel = x.rawPath === '/bucket';
  if (x.kind === 'header') {
    const auth = parseSigV2Authorization(rawHeader(x.rawHeaders, 'authorization')!);
    return { req: { method: x.method, rawPath: x.rawPath, rawQuery: x.rawQuery, rawHeaders: x.rawHeaders, bucketPrefix, bucketLevel }, ...auth };
  }
  const p = parseSigV2Presigned(x.rawQuery)!;
  return { req: { method: x.method, rawPath: x.rawPath, rawQuery: x.rawQuery, rawHeaders: x.rawHeaders, bucketPrefix, bucketLevel, expires: p.expires }, ...p };
}

function verifies(v: V2Vector, o: Partial<V2Vector> = {}): boolean {
  const { req, signature } = toRequest(v, o);
  return verifySigV2(req, o.secretKey ?? v.secretKey, signature);
}

describe(`SigV2 vectors from ${vectors.generator}`, () => {
  it('has header, presigned and virtual-hosted vectors', () => {
    expect(all.filter((v) => v.kind === 'header').length).toBeGreaterThan(15);
    expect(all.filter((v) => v.kind === 'query').length).toBeGreaterThanOrEqual(5);
    expect(all.filter((v) => v.host.startsWith('bucket.')).length).toBeGreaterThanOrEqual(3);
  });

  describe.each(all.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('verifies, and signs to the same signature', () => {
      expect(verifies(v)).toBe(true);
      const { req, accessKeyId, signature } = toRequest(v);
      expect(accessKeyId).toBe(v.accessKeyId);
      // botocore signs bucket-level path-style requests as `/bucket/`.
      const signed = req.bucketLevel ? { ...req, rawPath: req.rawPath + '/' } : req;
      expect(signSigV2(v.secretKey, buildSigV2StringToSign(signed))).toBe(signature);
    });

    it('fails with the secret, path, method or signature changed', () => {
      expect(verifies(v, { secretKey: flipChar(v.secretKey, 5) })).toBe(false);
      expect(verifies(v, { rawPath: v.rawPath + 'x' })).toBe(false);
      expect(verifies(v, { method: v.method === 'GET' ? 'DELETE' : 'GET' })).toBe(false);
      const { req, signature } = toRequest(v);
      expect(verifySigV2(req, v.secretKey, flipChar(signature, 3))).toBe(false);
      expect(verifySigV2(req, v.secretKey, signature.slice(0, -1))).toBe(false);
    });

    it('fails when a signed sub-resource is added; ignores other query parameters', () => {
      const sep = v.rawQuery === '' ? '' : '&';
      expect(verifies(v, { rawQuery: v.rawQuery + sep + 'versionId=x' })).toBe(false);
      expect(verifies(v, { rawQuery: v.rawQuery + sep + 'acl' })).toBe(false);
      expect(verifies(v, { rawQuery: v.rawQuery + sep + 'max-keys=3' })).toBe(true);
    });

    it('fails with any x-amz-* header added or changed, or Content-Type/Content-MD5 changed', () => {
      expect(verifies(v, { rawHeaders: [...v.rawHeaders, 'X-Amz-Meta-Added', 'x'] })).toBe(false);
      for (let i = 0; i < v.rawHeaders.length; i += 2) {
        const name = v.rawHeaders[i]!.toLowerCase();
        if (name.startsWith('x-amz-') || name === 'content-type' || name === 'content-md5' || (name === 'date' && v.kind === 'header')) {
          expect(verifies(v, { rawHeaders: withHeader(v.rawHeaders, name, (old) => old + 'x') })).toBe(false);
        }
      }
      // Unsigned headers (User-Agent, Host) do not matter.
      expect(verifies(v, { rawHeaders: withHeader(v.rawHeaders, 'user-agent', () => 'other') })).toBe(true);
    });

    if (v.kind === 'query') {
      it('fails with Expires changed', () => {
        const q = v.rawQuery.replace(/Expires=(\d+)/, (_m, n: string) => `Expires=${Number(n) + 1}`);
        expect(verifies(v, { rawQuery: q })).toBe(false);
      });
    }
  });
});

describe('canonicalizedResource', () => {
  it('keeps only sub-resources, sorted, values decoded, valueless ones bare', () => {
    expect(canonicalizedResource('/b/k', 'uploadId=a%2Bb&partNumber=2&prefix=x&uploads')).toBe('/b/k?partNumber=2&uploadId=a+b&uploads');
    expect(canonicalizedResource('/b', 'list-type=2&prefix=a')).toBe('/b');
    expect(canonicalizedResource('', '')).toBe('/');
    expect(canonicalizedResource('/k', 'versionId=1', '/bucket')).toBe('/bucket/k?versionId=1');
  });

  it('puts a decoded UTF-8 value in as its bytes', () => {
    expect(Buffer.from(canonicalizedResource('/b/k', 'response-content-disposition=%C3%A9'), 'latin1').toString('utf8')).toBe('/b/k?response-content-disposition=é');
  });

  it('rejects malformed percent-encoding in a signed sub-resource with InvalidURI', () => {
    expect(errorOf(() => canonicalizedResource('/b/k', 'versionId=%ZZ')).s3Code).toBe('InvalidURI');
  });
});

describe('buildSigV2StringToSign', () => {
  it('blanks Date when x-amz-date is present and joins repeated x-amz-* headers', () => {
    const sts = buildSigV2StringToSign({
      method: 'put',
      rawPath: '/b/k',
      rawQuery: '',
      rawHeaders: [
        'Date',
        'Thu, 01 Jan 2026 00:00:00 GMT',
        'X-Amz-Date',
        'Thu, 01 Jan 2026 00:00:01 GMT',
        'x-amz-meta-a',
        ' 1 ',
        'X-AMZ-META-A',
        '2',
        'Content-Type',
        'text/plain',
        'Content-MD5',
        'md5==',
      ],
    });
    expect(sts).toBe('PUT\nmd5==\ntext/plain\n\nx-amz-date:Thu, 01 Jan 2026 00:00:01 GMT\nx-amz-meta-a:1,2\n/b/k');
  });
});

describe('parseSigV2Authorization', () => {
  it('parses AWS key:signature', () => {
    expect(parseSigV2Authorization('AWS AK:abc/def+=')).toEqual({ accessKeyId: 'AK', signature: 'abc/def+=' });
  });
  it.each(['AWS AK', 'AWS :sig', 'AWS AK:', 'AWS4 AK:sig', 'AWS AK:sig extra'])('rejects %p with 400 InvalidArgument', (h) => {
    const e = errorOf(() => parseSigV2Authorization(h));
    expect([e.status, e.s3Code]).toEqual([400, 'InvalidArgument']);
  });
});

describe('parseSigV2Presigned', () => {
  it('returns undefined without AWSAccessKeyId', () => {
    expect(parseSigV2Presigned('')).toBeUndefined();
    expect(parseSigV2Presigned('X-Amz-Signature=1')).toBeUndefined();
  });
  it('parses and decodes the three parameters', () => {
    expect(parseSigV2Presigned('a=1&AWSAccessKeyId=AK&Signature=a%2Bb%3D&Expires=123')).toEqual({ accessKeyId: 'AK', signature: 'a+b=', expires: '123', expiresAtSeconds: 123 });
  });
  it.each(['AWSAccessKeyId=AK&Expires=1', 'AWSAccessKeyId=AK&Signature=s', 'AWSAccessKeyId=AK&Signature=s&Expires=soon', 'AWSAccessKeyId=AK&Signature=s&Signature=t&Expires=1'])(
    'rejects %p with 403 AccessDenied',
    (q) => {
      const e = errorOf(() => parseSigV2Presigned(q));
      expect([e.status, e.s3Code]).toEqual([403, 'AccessDenied']);
    },
  );
});

describe('time checks', () => {
  it('header auth: accepts Date or x-amz-date within 15 minutes, x-amz-date wins', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(checkSigV2RequestTime(undefined, 'Thu, 01 Jan 2026 00:14:00 GMT', now, 900_000)).toBe('20260101T001400Z');
    expect(checkSigV2RequestTime('20251231T235000Z', 'Mon, 01 Jan 2001 00:00:00 GMT', now, 900_000)).toBe('20251231T235000Z');
    expect(errorOf(() => checkSigV2RequestTime(undefined, 'Thu, 01 Jan 2026 00:16:00 GMT', now, 900_000)).s3Code).toBe('RequestTimeTooSkewed');
    expect(errorOf(() => checkSigV2RequestTime(undefined, undefined, now, 900_000)).s3Code).toBe('AccessDenied');
    expect(errorOf(() => checkSigV2RequestTime(undefined, 'yesterday', now, 900_000)).s3Code).toBe('AccessDenied');
  });
  it('presigned: valid through the Expires second, then 403 Request has expired', () => {
    expect(() => checkSigV2Expiry(100, 100_999)).not.toThrow();
    const e = errorOf(() => checkSigV2Expiry(100, 101_000));
    expect([e.status, e.s3Code, e.message]).toEqual([403, 'AccessDenied', 'Request has expired']);
  });
  it('presigned: an Expires more than the cap (7 days by default, as SigV4) from now is 400 AuthorizationQueryParametersError', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const nowS = now / 1000;
    expect(() => checkSigV2Expiry(nowS + 604_800, now)).not.toThrow();
    const e = errorOf(() => checkSigV2Expiry(nowS + 604_801, now));
    expect([e.status, e.s3Code]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(e.message).toContain('604800');
    // "Valid until 2100": the URL that filled the usage store.
    expect(errorOf(() => checkSigV2Expiry(Date.parse('2100-01-01T00:00:00Z') / 1000, now)).s3Code).toBe('AuthorizationQueryParametersError');
    expect(() => checkSigV2Expiry(nowS + 3600, now, 3600)).not.toThrow();
    expect(errorOf(() => checkSigV2Expiry(nowS + 3601, now, 3600)).s3Code).toBe('AuthorizationQueryParametersError');
  });
  it('the vectors were minted at the frozen clock', () => {
    expect(NOW).toBe(Date.parse('2024-03-15T12:34:56Z'));
  });
});

describe('bucket-level requests', () => {
  it('accept /bucket/ for /bucket only when bucketLevel is set', () => {
    const req: SigV2Request = { method: 'GET', rawPath: '/bucket', rawQuery: 'acl', rawHeaders: ['Date', 'x'] };
    const sig = signSigV2('s', buildSigV2StringToSign({ ...req, rawPath: '/bucket/' }));
    expect(verifySigV2(req, 's', sig)).toBe(false);
    expect(verifySigV2({ ...req, bucketLevel: true }, 's', sig)).toBe(true);
    expect(verifySigV2({ ...req, bucketLevel: true }, 's', signSigV2('s', buildSigV2StringToSign(req)))).toBe(true);
  });
});
