import rawVectors from '../../fixtures/post-object/botocore-post-vectors.json';
import { parsePostCredentials, verifyPostSignature } from '../../../lib/operations/post-object/post-signature';
import { OspError } from '../../../lib/errors';

interface Vector {
  sigver: 's3v4' | 's3';
  region: string;
  accessKey: string;
  secretKey: string;
  fields: Record<string, string>;
}
const vectors = rawVectors as unknown as Vector[];

/** Form fields as the proxy sees them: lowercase names. */
const lower = (fields: Record<string, string>) => new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));

describe('POST policy signatures (vectors from botocore generate_presigned_post)', () => {
  it.each(vectors.map((v) => [`${v.sigver} ${v.region}`, v] as const))('%s: verifies, and fails when anything changes', (_label, v) => {
    const fields = lower(v.fields);
    const creds = parsePostCredentials(fields);
    expect(creds).toMatchObject({ version: v.sigver === 's3' ? 2 : 4, accessKeyId: v.accessKey });
    expect(verifyPostSignature(creds!, v.secretKey)).toBe(true);
    expect(verifyPostSignature(creds!, `${v.secretKey}x`)).toBe(false);
    const policy = fields.get('policy') as string;
    const tampered = new Map(fields).set('policy', Buffer.from(Buffer.from(policy, 'base64').toString().replace('1048576', '9999999')).toString('base64'));
    expect(verifyPostSignature(parsePostCredentials(tampered)!, v.secretKey)).toBe(false);
  });

  it('an unsigned form is anonymous; incomplete credentials are 400 InvalidArgument', () => {
    expect(parsePostCredentials(new Map([['key', 'a']]))).toBeUndefined();
    const v4 = lower(vectors[0]!.fields);
    for (const missing of ['policy', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']) {
      const f = new Map(v4);
      f.delete(missing);
      expect(() => parsePostCredentials(f)).toThrow(OspError);
    }
    expect(() => parsePostCredentials(new Map(v4).set('x-amz-algorithm', 'AWS4-ECDSA-P256-SHA256'))).toThrow(/x-amz-algorithm/);
    expect(() => parsePostCredentials(new Map(v4).set('x-amz-credential', 'AK/20200101/us-east-1/s3/aws4_request'))).toThrow(/x-amz-credential/);
    expect(() => parsePostCredentials(new Map(v4).set('x-amz-credential', (v4.get('x-amz-credential') as string).replace('/s3/', '/sts/')))).toThrow(/x-amz-credential/);
    const v2 = lower(vectors[2]!.fields);
    v2.delete('awsaccesskeyid');
    expect(() => parsePostCredentials(v2)).toThrow(/AWSAccessKeyId/);
  });
});
