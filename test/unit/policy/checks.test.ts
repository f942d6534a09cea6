/** The operation → action table and the checks of a request (issue [13]). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OPERATION_ACTIONS, S3_ACTIONS } from '../../../lib/policy/actions';
import { checksOf, deleteObjectCheck, deleteObjectChecks } from '../../../lib/policy/checks';
import { parseDeleteObjectsKeys } from '../../../lib/s3/delete-objects-xml';

describe('operation → action table', () => {
  it('covers every operation the proxy classifies (but PostObject and Unknown, which need s3:*)', () => {
    const source = readFileSync(path.join(__dirname, '../../../lib/s3/operation.ts'), 'utf8');
    const names = new Set([...source.matchAll(/'([A-Z][a-z][A-Za-z0-9]+)'/g)].map((m) => m[1]!));
    const missing = [...names].filter((n) => !(n in OPERATION_ACTIONS) && n !== 'Unknown' && n !== 'PostObject' && !['AWSAccessKeyId', 'Expires', 'Signature'].includes(n));
    expect(missing).toEqual([]);
    expect(names.size).toBeGreaterThan(60);
  });

  it('names only known actions', () => {
    for (const entry of Object.values(OPERATION_ACTIONS)) for (const a of [...entry.actions, ...(entry.versionActions ?? [])]) expect(S3_ACTIONS).toContain(a);
  });

  it.each([
    ['ListObjectsV2', 'b', undefined, false, [['s3:ListBucket', 'arn:aws:s3:::b']]],
    ['HeadBucket', 'b', undefined, false, [['s3:ListBucket', 'arn:aws:s3:::b']]],
    ['ListObjectVersions', 'b', undefined, false, [['s3:ListBucketVersions', 'arn:aws:s3:::b']]],
    ['GetObject', 'b', 'k/x', false, [['s3:GetObject', 'arn:aws:s3:::b/k/x']]],
    ['GetObject', 'b', 'k', true, [['s3:GetObjectVersion', 'arn:aws:s3:::b/k']]],
    ['HeadObject', 'b', 'k', false, [['s3:GetObject', 'arn:aws:s3:::b/k']]],
    ['UploadPart', 'b', 'k', false, [['s3:PutObject', 'arn:aws:s3:::b/k']]],
    ['CompleteMultipartUpload', 'b', 'k', false, [['s3:PutObject', 'arn:aws:s3:::b/k']]],
    ['AbortMultipartUpload', 'b', 'k', false, [['s3:AbortMultipartUpload', 'arn:aws:s3:::b/k']]],
    ['ListParts', 'b', 'k', false, [['s3:ListMultipartUploadParts', 'arn:aws:s3:::b/k']]],
    ['GetObjectTagging', 'b', 'k', false, [['s3:GetObjectTagging', 'arn:aws:s3:::b/k']]],
    ['DeleteObject', 'b', 'k', true, [['s3:DeleteObjectVersion', 'arn:aws:s3:::b/k']]],
    ['ListBuckets', undefined, undefined, false, [['s3:ListAllMyBuckets', 'arn:aws:s3:::*']]],
    ['Unknown', 'b', undefined, false, [[null, 'arn:aws:s3:::b']]],
    ['PostObject', 'b', undefined, false, [[null, 'arn:aws:s3:::b']]],
    ['DeleteObjects', 'b', undefined, false, []],
  ] as const)('%s %s %s (versionId %s)', (operation, bucket, key, hasVersionId, expected) => {
    expect(checksOf({ operation, bucket, key, hasVersionId }).map((c) => [c.action, c.resource])).toEqual(expected);
  });

  it('CopyObject needs PutObject on the target and GetObject on the source', () => {
    expect(checksOf({ operation: 'CopyObject', bucket: 'dst', key: 'b', hasVersionId: false, copySource: { bucket: 'src', key: 'a', hasVersionId: false } })).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::dst/b' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::src/a' },
    ]);
    expect(checksOf({ operation: 'UploadPartCopy', bucket: 'dst', key: 'b', hasVersionId: false, copySource: { bucket: 'src', key: 'a', hasVersionId: true } })[1]).toEqual({
      action: 's3:GetObjectVersion',
      resource: 'arn:aws:s3:::src/a',
    });
  });

  it('DeleteObjects checks each key', () => {
    expect(deleteObjectCheck('b', 'x/y', false)).toEqual({ action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/x/y' });
    expect(deleteObjectCheck('b', 'x', true).action).toBe('s3:DeleteObjectVersion');
  });
});

describe('parseDeleteObjectsKeys', () => {
  it('reads keys, version ids and entities as SDKs send them', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b &lt;c&gt;</Key></Object><Object><Key>reports/&#x4e2d;&#65;</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>';
    expect(parseDeleteObjectsKeys(xml)).toEqual([{ key: 'a&b <c>' }, { key: 'reports/中A', versionId: 'v1' }]);
  });

  it.each([
    ['CDATA', '<Delete><Object><Key><![CDATA[x]]></Key></Object></Delete>'],
    ['comment', '<Delete><!-- x --><Object><Key>x</Key></Object></Delete>'],
    ['DTD', '<!DOCTYPE x [<!ENTITY e "y">]><Delete><Object><Key>&e;</Key></Object></Delete>'],
    ['no Object', '<Delete><Quiet>true</Quiet></Delete>'],
    ['another root', '<Remove><Object><Key>x</Key></Object></Remove>'],
    ['two keys in one Object', '<Delete><Object><Key>x</Key><Key>y</Key></Object></Delete>'],
    ['an unknown element', '<Delete><Object><Key>x</Key><Extra>y</Extra></Object></Delete>'],
    ['trailing garbage', '<Delete><Object><Key>x</Key></Object>junk</Delete>'],
    ['an unknown entity', '<Delete><Object><Key>&nbsp;</Key></Object></Delete>'],
  ])('refuses %s as MalformedXML', (_n, xml) => {
    expect(() => parseDeleteObjectsKeys(xml)).toThrow(expect.objectContaining({ s3Code: 'MalformedXML', status: 400 }));
  });
});

describe('x-amz-bypass-governance-retention (issue [1/5])', () => {
  it.each([
    [
      'DeleteObject',
      false,
      [
        ['s3:DeleteObject', 'arn:aws:s3:::b/k'],
        ['s3:BypassGovernanceRetention', 'arn:aws:s3:::b/k'],
      ],
    ],
    [
      'DeleteObject',
      true,
      [
        ['s3:DeleteObjectVersion', 'arn:aws:s3:::b/k'],
        ['s3:BypassGovernanceRetention', 'arn:aws:s3:::b/k'],
      ],
    ],
    [
      'PutObjectRetention',
      false,
      [
        ['s3:PutObjectRetention', 'arn:aws:s3:::b/k'],
        ['s3:BypassGovernanceRetention', 'arn:aws:s3:::b/k'],
      ],
    ],
    // S3 reads the header on these three only; elsewhere it changes nothing
    ['GetObject', false, [['s3:GetObject', 'arn:aws:s3:::b/k']]],
    ['PutObject', false, [['s3:PutObject', 'arn:aws:s3:::b/k']]],
  ] as const)('%s (versionId %s) also needs s3:BypassGovernanceRetention when asked', (operation, hasVersionId, expected) => {
    expect(checksOf({ operation, bucket: 'b', key: 'k', hasVersionId, bypassGovernanceRetention: true }).map((c) => [c.action, c.resource])).toEqual(expected);
    expect(checksOf({ operation, bucket: 'b', key: 'k', hasVersionId, bypassGovernanceRetention: false })).toHaveLength(1);
  });

  it('DeleteObjects checks the bypass on every key of the body', () => {
    expect(deleteObjectChecks('b', 'k', true, true).map((c) => [c.action, c.resource])).toEqual([
      ['s3:DeleteObjectVersion', 'arn:aws:s3:::b/k'],
      ['s3:BypassGovernanceRetention', 'arn:aws:s3:::b/k'],
    ]);
    expect(deleteObjectChecks('b', 'k', false, false).map((c) => c.action)).toEqual(['s3:DeleteObject']);
  });
});

describe('ACL and tagging headers on object-creating operations (PutObject API reference, Permissions)', () => {
  it.each([
    ['PutObject', { setsAcl: true }, ['s3:PutObject', 's3:PutObjectAcl']],
    ['PutObject', { setsTagging: true }, ['s3:PutObject', 's3:PutObjectTagging']],
    ['CopyObject', { setsAcl: true, setsTagging: true }, ['s3:PutObject', 's3:PutObjectAcl', 's3:PutObjectTagging']],
    ['CreateMultipartUpload', { setsAcl: true }, ['s3:PutObject', 's3:PutObjectAcl']],
    ['PutObject', {}, ['s3:PutObject']],
    // UploadPart and the like do not apply them
    ['UploadPart', { setsAcl: true, setsTagging: true }, ['s3:PutObject']],
  ] as const)('%s %j needs %j', (operation, flags, expected) => {
    expect(checksOf({ operation, bucket: 'b', key: 'k', hasVersionId: false, ...flags }).map((c) => c.action)).toEqual(expected);
  });
});
