import { checkPostPolicy, decodePostPolicy, type PostPolicy } from '../../../lib/operations/post-object/policy';
import { OspError } from '../../../lib/errors';

const b64 = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64');
const NOW = Date.parse('2026-01-01T00:00:00Z');
const policyOf = (conditions: unknown[], expiration = '2026-01-01T01:00:00.000Z'): PostPolicy => decodePostPolicy(b64({ expiration, conditions }));
const form = (fields: Record<string, string>) => new Map(Object.entries(fields));
const errorOf = (fn: () => unknown): OspError => {
  try {
    fn();
  } catch (err) {
    return err as OspError;
  }
  throw new Error('did not throw');
};

describe('decodePostPolicy', () => {
  it('normalizes the three condition forms', () => {
    const p = policyOf([{ bucket: 'b' }, ['eq', '$Content-Type', 'image/png'], ['starts-with', '$key', 'u/'], ['content-length-range', 1, '10']]);
    expect(p.expiresAtMs).toBe(Date.parse('2026-01-01T01:00:00Z'));
    expect(p.conditions.map((c) => (c.op === 'content-length-range' ? [c.op, c.min, c.max] : [c.op, c.field, c.value]))).toEqual([
      ['eq', 'bucket', 'b'],
      ['eq', 'content-type', 'image/png'],
      ['starts-with', 'key', 'u/'],
      ['content-length-range', 1, 10],
    ]);
  });

  it.each([
    ['not base64 JSON', '!!!', 'Invalid JSON'],
    ['no expiration', b64({ conditions: [] }), 'missing expiration'],
    ['bad expiration', b64({ expiration: 'tomorrow', conditions: [] }), 'expiration'],
    ['no conditions', b64({ expiration: '2026-01-01T00:00:00Z' }), 'missing conditions'],
    ['unknown operator', b64({ expiration: '2026-01-01T00:00:00Z', conditions: [['lt', '$key', 'x']] }), 'Invalid Condition'],
    ['two keys in an object', b64({ expiration: '2026-01-01T00:00:00Z', conditions: [{ a: '1', b: '2' }] }), 'Invalid Condition'],
    ['negative range', b64({ expiration: '2026-01-01T00:00:00Z', conditions: [['content-length-range', -1, 5]] }), 'content-length-range'],
  ])('%s: 400 InvalidPolicyDocument', (_label, policy, message) => {
    const err = errorOf(() => decodePostPolicy(policy));
    expect(err).toMatchObject({ status: 400, s3Code: 'InvalidPolicyDocument' });
    expect(err.message).toContain(message);
  });
});

describe('checkPostPolicy', () => {
  const p = policyOf([
    { bucket: 'photos' },
    ['starts-with', '$key', 'user/alice/'],
    { acl: 'private' },
    ['starts-with', '$Content-Type', 'image/'],
    ['content-length-range', 10, 1000],
    ['starts-with', '$x-amz-meta-tag', ''],
  ]);
  const ok = { key: 'user/alice/cat.png', acl: 'private', 'content-type': 'image/png', 'x-amz-meta-tag': 'anything', policy: 'p', 'x-amz-signature': 's', 'x-ignore-me': '1' };

  it('accepts a matching form and returns the length range', () => {
    expect(checkPostPolicy(p, form(ok), 'photos', NOW)).toEqual({ min: 10, max: 1000 });
  });

  it.each([
    ['expired', ok, 'photos', NOW + 2 * 3600_000, 'Policy expired.'],
    ['other bucket', ok, 'videos', NOW, 'Policy Condition failed: ["eq", "$bucket", "photos"]'],
    ['key outside the prefix', { ...ok, key: 'user/bob/cat.png' }, 'photos', NOW, 'Policy Condition failed: ["starts-with","$key","user/alice/"]'],
    ['acl differs', { ...ok, acl: 'public-read' }, 'photos', NOW, '"$acl"'],
    ['one of several content types off', { ...ok, 'content-type': 'image/png, text/html' }, 'photos', NOW, '$Content-Type'],
    ['a field the policy does not name', { ...ok, 'x-amz-meta-other': '1' }, 'photos', NOW, 'Extra input fields: x-amz-meta-other'],
    ['a missing field with an eq condition', { key: ok.key, 'content-type': 'image/png', 'x-amz-meta-tag': '' }, 'photos', NOW, '"$acl"'],
  ])('%s: 403 AccessDenied', (_label, fields, bucket, now, message) => {
    const err = errorOf(() => checkPostPolicy(p, form(fields as Record<string, string>), bucket, now));
    expect(err).toMatchObject({ status: 403, s3Code: 'AccessDenied' });
    expect(err.message).toContain('Invalid according to Policy: ');
    expect(err.message).toContain(message);
  });

  it('intersects several content-length-range conditions', () => {
    const q = policyOf([
      ['content-length-range', 0, 100],
      ['content-length-range', 5, 1000],
    ]);
    expect(checkPostPolicy(q, form({}), 'b', NOW)).toEqual({ min: 5, max: 100 });
  });
});
