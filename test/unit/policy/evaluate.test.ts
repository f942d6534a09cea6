/**
 * Policy evaluation, table-driven over the rules of AWS's documentation:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
import { compilePolicy } from '../../../lib/policy/compile';
import { evaluatePolicies, mayUseBucket, type PolicyDecision } from '../../../lib/policy/evaluate';
import { conditionKeysOf, type RequestFacts } from '../../../lib/policy/keys';
import type { PolicyDocument, PolicyStatement } from '../../../lib/policy/types';

const doc = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[], Resource: string | string[], Condition?: PolicyStatement['Condition']): PolicyStatement => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});
const deny = (Action: string | string[], Resource: string | string[], Condition?: PolicyStatement['Condition']): PolicyStatement => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

const baseFacts: RequestFacts = {
  identity: 'alice',
  tags: { team: 'finance' },
  sourceIp: '127.0.0.1',
  secureTransport: false,
  now: new Date('2026-11-30T12:00:00Z'),
  query: {},
  headers: {},
  authMethod: 'header',
};

interface Case {
  name: string;
  policies: PolicyDocument[];
  action: string | null;
  resource: string;
  facts?: Partial<RequestFacts>;
  expect: PolicyDecision;
}

const OBJ = 'arn:aws:s3:::data/reports/q1.csv';
const BUCKET = 'arn:aws:s3:::data';

const cases: Case[] = [
  // Allow / implicit deny / explicit deny
  { name: 'an Allow for the action and resource allows', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/*'))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  { name: 'no statement matching: implicit deny', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/*'))], action: 's3:PutObject', resource: OBJ, expect: 'implicitDeny' },
  { name: 'resource outside the Allow: implicit deny', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::other/*'))], action: 's3:GetObject', resource: OBJ, expect: 'implicitDeny' },
  { name: 'no policy at all: implicit deny', policies: [], action: 's3:GetObject', resource: OBJ, expect: 'implicitDeny' },
  {
    name: 'explicit deny overrides an allow in the same policy',
    policies: [doc(allow('s3:*', '*'), deny('s3:DeleteObject', 'arn:aws:s3:::data/*'))],
    action: 's3:DeleteObject',
    resource: OBJ,
    expect: 'explicitDeny',
  },
  {
    name: 'explicit deny overrides an allow in another policy',
    policies: [doc(allow('s3:*', '*')), doc(deny('s3:DeleteObject', '*'))],
    action: 's3:DeleteObject',
    resource: OBJ,
    expect: 'explicitDeny',
  },
  { name: 'deny listed before the allow still wins', policies: [doc(deny('s3:GetObject', OBJ), allow('s3:GetObject', '*'))], action: 's3:GetObject', resource: OBJ, expect: 'explicitDeny' },
  { name: 'a deny on another action does not apply', policies: [doc(allow('s3:*', '*'), deny('s3:DeleteObject', '*'))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  {
    name: 'a deny whose condition fails does not apply',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  // Wildcards
  { name: 'action wildcard s3:Get*', policies: [doc(allow('s3:Get*', '*'))], action: 's3:GetObjectTagging', resource: OBJ, expect: 'allow' },
  { name: 'action wildcard does not reach other verbs', policies: [doc(allow('s3:Get*', '*'))], action: 's3:PutObject', resource: OBJ, expect: 'implicitDeny' },
  { name: 'action names are case-insensitive', policies: [doc(allow('S3:getobject', '*'))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  { name: '* as action', policies: [doc(allow('*', '*'))], action: 's3:DeleteBucket', resource: BUCKET, expect: 'allow' },
  { name: '? matches exactly one character', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/reports/q?.csv'))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  {
    name: '? does not match two characters',
    policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/reports/q?.csv'))],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::data/reports/q10.csv',
    expect: 'implicitDeny',
  },
  { name: '* in a resource crosses /', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/*'))], action: 's3:GetObject', resource: 'arn:aws:s3:::data/a/b/c', expect: 'allow' },
  { name: 'resources are case-sensitive', policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/Reports/*'))], action: 's3:GetObject', resource: OBJ, expect: 'implicitDeny' },
  { name: 'object ARN pattern does not match the bucket ARN', policies: [doc(allow('s3:ListBucket', 'arn:aws:s3:::data/*'))], action: 's3:ListBucket', resource: BUCKET, expect: 'implicitDeny' },
  { name: 'a list of actions is OR', policies: [doc(allow(['s3:PutObject', 's3:GetObject'], '*'))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  { name: 'a list of resources is OR', policies: [doc(allow('s3:GetObject', ['arn:aws:s3:::x/*', 'arn:aws:s3:::data/*']))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  // NotAction / NotResource
  { name: 'Allow NotAction allows the other actions', policies: [doc({ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' })], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  {
    name: 'Allow NotAction does not allow the listed action',
    policies: [doc({ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' })],
    action: 's3:DeleteObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  {
    name: 'Deny NotAction denies everything but the listed actions',
    policies: [doc(allow('s3:*', '*'), { Effect: 'Deny', NotAction: ['s3:GetObject', 's3:ListBucket'], Resource: '*' })],
    action: 's3:PutObject',
    resource: OBJ,
    expect: 'explicitDeny',
  },
  {
    name: 'Deny NotAction leaves the listed actions to the allows',
    policies: [doc(allow('s3:*', '*'), { Effect: 'Deny', NotAction: ['s3:GetObject', 's3:ListBucket'], Resource: '*' })],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 'Allow NotResource allows outside the listed resources',
    policies: [doc({ Effect: 'Allow', Action: 's3:*', NotResource: 'arn:aws:s3:::secret/*' })],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 'Allow NotResource does not allow the listed resources',
    policies: [doc({ Effect: 'Allow', Action: 's3:*', NotResource: 'arn:aws:s3:::secret/*' })],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::secret/x',
    expect: 'implicitDeny',
  },
  {
    name: 'Deny NotResource denies everything but the listed resources',
    policies: [doc(allow('s3:*', '*'), { Effect: 'Deny', Action: 's3:*', NotResource: ['arn:aws:s3:::data', 'arn:aws:s3:::data/*'] })],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::other/x',
    expect: 'explicitDeny',
  },
  // Unclassified operations
  { name: 'unknown operation: allowed by s3:*', policies: [doc(allow('s3:*', 'arn:aws:s3:::data'))], action: null, resource: BUCKET, expect: 'allow' },
  { name: 'unknown operation: not allowed by s3:Get*', policies: [doc(allow('s3:Get*', '*'))], action: null, resource: BUCKET, expect: 'implicitDeny' },
  { name: 'unknown operation: not allowed by NotAction', policies: [doc({ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' })], action: null, resource: BUCKET, expect: 'implicitDeny' },
  { name: 'unknown operation: any matching Deny denies', policies: [doc(allow('s3:*', '*'), deny('s3:DeleteBucket', BUCKET))], action: null, resource: BUCKET, expect: 'explicitDeny' },
  // Conditions: AND between operators and keys, OR between values
  {
    name: 'condition values are OR (second value matches)',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLike: { 's3:prefix': ['public/*', 'reports/*'] } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'reports/2026' } },
    expect: 'allow',
  },
  {
    name: 'condition values: none matches',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLike: { 's3:prefix': ['public/*', 'reports/*'] } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'secret/' } },
    expect: 'implicitDeny',
  },
  {
    name: 'two keys of one operator are AND (one fails)',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringEquals: { 's3:prefix': 'reports/', 's3:delimiter': '/' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'reports/', delimiter: '|' } },
    expect: 'implicitDeny',
  },
  {
    name: 'two keys of one operator are AND (both hold)',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringEquals: { 's3:prefix': 'reports/', 's3:delimiter': '/' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'reports/', delimiter: '/' } },
    expect: 'allow',
  },
  {
    name: 'two operators are AND',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLike: { 's3:prefix': 'reports/*' }, NumericLessThanEquals: { 's3:max-keys': 100 } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'reports/', 'max-keys': '500' } },
    expect: 'implicitDeny',
  },
  {
    name: 'positive operator, key absent: false',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLike: { 's3:prefix': 'reports/*' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    expect: 'implicitDeny',
  },
  {
    name: 'negated operator, key absent: true',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringNotEquals: { 's3:prefix': 'secret/' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    expect: 'allow',
  },
  {
    name: 'negated operator with values: must match none (NOR)',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringNotLike: { 's3:prefix': ['secret/*', 'private/*'] } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'private/x' } },
    expect: 'implicitDeny',
  },
  {
    name: 'IfExists, key absent: true',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLikeIfExists: { 's3:prefix': 'reports/*' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    expect: 'allow',
  },
  {
    name: 'IfExists, key present and not matching: false',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLikeIfExists: { 's3:prefix': 'reports/*' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'x/' } },
    expect: 'implicitDeny',
  },
  { name: 'Null true: key absent', policies: [doc(allow('s3:ListBucket', BUCKET, { Null: { 's3:prefix': 'true' } }))], action: 's3:ListBucket', resource: BUCKET, expect: 'allow' },
  {
    name: 'Null true: key present',
    policies: [doc(allow('s3:ListBucket', BUCKET, { Null: { 's3:prefix': 'true' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'a' } },
    expect: 'implicitDeny',
  },
  {
    name: 'Null false: key present',
    policies: [doc(allow('s3:PutObject', '*', { Null: { 's3:x-amz-server-side-encryption': 'false' } }))],
    action: 's3:PutObject',
    resource: OBJ,
    facts: { headers: { 'x-amz-server-side-encryption': 'AES256' } },
    expect: 'allow',
  },
  {
    name: 'Deny when a key is absent (Null true)',
    policies: [doc(allow('s3:*', '*'), deny('s3:PutObject', '*', { Null: { 's3:x-amz-server-side-encryption': true } }))],
    action: 's3:PutObject',
    resource: OBJ,
    expect: 'explicitDeny',
  },
  // Set operators
  {
    name: 'ForAnyValue: some value matches',
    policies: [doc(allow('s3:GetObject', '*', { 'ForAnyValue:StringEquals': { 'aws:PrincipalTag/team': ['ops', 'finance'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 'ForAnyValue: key absent is false',
    policies: [doc(allow('s3:GetObject', '*', { 'ForAnyValue:StringEquals': { 'aws:PrincipalTag/missing': ['x'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  {
    name: 'ForAllValues: key absent is true',
    policies: [doc(allow('s3:GetObject', '*', { 'ForAllValues:StringEquals': { 'aws:PrincipalTag/missing': ['x'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 'ForAllValues: a value outside the set is false',
    policies: [doc(allow('s3:GetObject', '*', { 'ForAllValues:StringEquals': { 'aws:PrincipalTag/team': ['ops'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  {
    name: 'ForAllValues with a negated operator',
    policies: [doc(allow('s3:GetObject', '*', { 'ForAllValues:StringNotEquals': { 'aws:PrincipalTag/team': ['ops'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  // Operators
  {
    name: 'StringEqualsIgnoreCase',
    policies: [doc(allow('s3:PutObject', '*', { StringEqualsIgnoreCase: { 's3:x-amz-acl': 'PRIVATE' } }))],
    action: 's3:PutObject',
    resource: OBJ,
    facts: { headers: { 'x-amz-acl': 'private' } },
    expect: 'allow',
  },
  {
    name: 'StringEquals is case-sensitive',
    policies: [doc(allow('s3:PutObject', '*', { StringEquals: { 's3:x-amz-acl': 'PRIVATE' } }))],
    action: 's3:PutObject',
    resource: OBJ,
    facts: { headers: { 'x-amz-acl': 'private' } },
    expect: 'implicitDeny',
  },
  {
    name: 'StringNotEqualsIgnoreCase',
    policies: [doc(allow('s3:*', '*'), deny('s3:PutObject', '*', { StringNotEqualsIgnoreCase: { 's3:x-amz-acl': 'private' } }))],
    action: 's3:PutObject',
    resource: OBJ,
    facts: { headers: { 'x-amz-acl': 'public-read' } },
    expect: 'explicitDeny',
  },
  {
    name: 'NumericLessThan',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericLessThan: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': '9' } },
    expect: 'allow',
  },
  {
    name: 'NumericLessThan at the bound',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericLessThan: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': '10' } },
    expect: 'implicitDeny',
  },
  {
    name: 'NumericGreaterThanEquals',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericGreaterThanEquals: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': '10' } },
    expect: 'allow',
  },
  {
    name: 'NumericGreaterThan',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericGreaterThan: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': '10' } },
    expect: 'implicitDeny',
  },
  {
    name: 'NumericEquals / a non-number request value never matches',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericEquals: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': 'ten' } },
    expect: 'implicitDeny',
  },
  {
    name: 'NumericNotEquals',
    policies: [doc(allow('s3:ListBucket', BUCKET, { NumericNotEquals: { 's3:max-keys': '10' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { 'max-keys': '11' } },
    expect: 'allow',
  },
  {
    name: 'DateLessThan (before the date)',
    policies: [doc(allow('s3:GetObject', '*', { DateLessThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 'DateGreaterThan (before the date)',
    policies: [doc(allow('s3:GetObject', '*', { DateGreaterThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  { name: 'Date as epoch seconds', policies: [doc(allow('s3:GetObject', '*', { DateGreaterThan: { 'aws:EpochTime': '1700000000' } }))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  {
    name: 'Bool aws:SecureTransport false denies plain HTTP',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { Bool: { 'aws:SecureTransport': 'false' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'explicitDeny',
  },
  {
    name: 'Bool aws:SecureTransport over TLS',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { Bool: { 'aws:SecureTransport': false } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { secureTransport: true },
    expect: 'allow',
  },
  { name: 'IpAddress in the CIDR', policies: [doc(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } }))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  { name: 'IpAddress outside the CIDR', policies: [doc(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }))], action: 's3:GetObject', resource: OBJ, expect: 'implicitDeny' },
  {
    name: 'IpAddress: IPv4-mapped IPv6 client',
    policies: [doc(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { sourceIp: '::ffff:192.0.2.7' },
    expect: 'allow',
  },
  {
    name: 'IpAddress IPv6 CIDR',
    policies: [doc(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { sourceIp: '2001:db8:1::5' },
    expect: 'allow',
  },
  {
    name: 'IpAddress IPv6 CIDR, IPv4 client',
    policies: [doc(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  {
    name: 'NotIpAddress',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { sourceIp: '203.0.113.9' },
    expect: 'explicitDeny',
  },
  {
    name: 's3:x-amz-copy-source',
    policies: [doc(allow('s3:PutObject', '*', { StringLike: { 's3:x-amz-copy-source': 'data/public/*' } }))],
    action: 's3:PutObject',
    resource: OBJ,
    facts: { copySource: 'data/public/a.txt' },
    expect: 'allow',
  },
  {
    name: 's3:signatureversion: a Deny of SigV2',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { StringNotEquals: { 's3:signatureversion': 'AWS4-HMAC-SHA256' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { signatureVersion: 'AWS' },
    expect: 'explicitDeny',
  },
  {
    name: 's3:signatureversion: SigV4 passes',
    policies: [doc(allow('s3:*', '*'), deny('s3:*', '*', { StringNotEquals: { 's3:signatureversion': 'AWS4-HMAC-SHA256' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'allow',
  },
  {
    name: 's3:authType: presigned URLs only',
    policies: [doc(allow('s3:GetObject', '*', { StringEquals: { 's3:authType': 'REST-QUERY-STRING' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    facts: { authMethod: 'query' },
    expect: 'allow',
  },
  {
    name: 's3:authType: a header-signed request is not a presigned one',
    policies: [doc(allow('s3:GetObject', '*', { StringEquals: { 's3:authType': 'REST-QUERY-STRING' } }))],
    action: 's3:GetObject',
    resource: OBJ,
    expect: 'implicitDeny',
  },
  // Variables and tags
  {
    name: '${aws:username} in a resource',
    policies: [doc(allow('s3:*', 'arn:aws:s3:::home/${aws:username}/*'))],
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::home/alice/notes.txt',
    expect: 'allow',
  },
  {
    name: "${aws:username}: another user's folder",
    policies: [doc(allow('s3:*', 'arn:aws:s3:::home/${aws:username}/*'))],
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::home/bob/notes.txt',
    expect: 'implicitDeny',
  },
  {
    name: 'a substituted value is literal, not a wildcard',
    policies: [doc(allow('s3:*', 'arn:aws:s3:::home/${aws:username}/x'))],
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::home/a1/x',
    facts: { identity: 'a?' },
    expect: 'implicitDeny',
  },
  {
    name: 'variables are literal text in Version 2008-10-17',
    policies: [{ Version: '2008-10-17', Statement: [allow('s3:*', 'arn:aws:s3:::home/${aws:username}/*')] }],
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::home/alice/x',
    expect: 'implicitDeny',
  },
  {
    name: '${aws:username} in a condition',
    policies: [doc(allow('s3:ListBucket', BUCKET, { StringLike: { 's3:prefix': 'home/${aws:username}/*' } }))],
    action: 's3:ListBucket',
    resource: BUCKET,
    facts: { query: { prefix: 'home/alice/docs' } },
    expect: 'allow',
  },
  {
    name: 'aws:PrincipalTag in a resource variable',
    policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/${aws:PrincipalTag/team}/*'))],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::data/finance/x',
    expect: 'allow',
  },
  {
    name: 'a variable without a value matches nothing',
    policies: [doc(allow('s3:GetObject', 'arn:aws:s3:::data/${aws:PrincipalTag/nope}/*'))],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::data//x',
    expect: 'implicitDeny',
  },
  { name: 'aws:username condition', policies: [doc(allow('s3:*', '*', { StringEquals: { 'aws:username': 'alice' } }))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
  { name: 'condition key names are case-insensitive', policies: [doc(allow('s3:*', '*', { StringEquals: { 'AWS:UserName': 'alice' } }))], action: 's3:GetObject', resource: OBJ, expect: 'allow' },
];

describe('evaluatePolicies', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const policies = c.policies.map((p) => compilePolicy(p));
    const keys = conditionKeysOf({ ...baseFacts, ...c.facts });
    expect(evaluatePolicies(policies, { action: c.action, resource: c.resource }, keys)).toBe(c.expect);
  });
});

describe('mayUseBucket (what ListBuckets shows)', () => {
  const keys = conditionKeysOf(baseFacts);
  it.each([
    ['an Allow on objects under a prefix shows the bucket', doc(allow('s3:GetObject', 'arn:aws:s3:::data/reports/*')), 'data', true],
    ['an Allow on another bucket hides it', doc(allow('s3:GetObject', 'arn:aws:s3:::other/*')), 'data', false],
    ['an Allow on the bucket ARN shows it', doc(allow('s3:ListBucket', 'arn:aws:s3:::data')), 'data', true],
    ['a prefix-conditioned ListBucket shows it', doc(allow('s3:ListBucket', 'arn:aws:s3:::data', { StringLike: { 's3:prefix': 'reports/*' } })), 'data', true],
    ['an Allow from another IP hides it', doc(allow('s3:*', '*', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })), 'data', false],
    ['a bucket-name wildcard', doc(allow('s3:*', 'arn:aws:s3:::da*')), 'data', true],
    ['a Deny of everything on the bucket and its objects hides it', doc(allow('s3:*', '*'), deny('s3:*', ['arn:aws:s3:::data', 'arn:aws:s3:::data/*'])), 'data', false],
    ['a Deny of some objects does not hide it', doc(allow('s3:*', '*'), deny('s3:*', ['arn:aws:s3:::data', 'arn:aws:s3:::data/secret/*'])), 'data', true],
    ['no Allow at all', doc(deny('s3:DeleteObject', '*')), 'data', false],
    ['s3:ListAllMyBuckets on * shows no bucket by itself', doc(allow('s3:ListAllMyBuckets', '*')), 'data', false],
    ['NotAction of every action shows nothing', doc({ Effect: 'Allow', NotAction: 's3:*', Resource: '*' }), 'data', false],
    ['NotAction of one action shows the bucket', doc({ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' }), 'data', true],
  ] as const)('%s', (_n, policy, bucket, expected) => {
    expect(mayUseBucket([compilePolicy(policy)], bucket, keys)).toBe(expected);
  });
});
