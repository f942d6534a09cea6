/** Policy validation: every fault is a config error naming its path (issue [13]). */
import { resolveOptions, type OspOptions } from '../../../lib/options';
import { OspConfigError } from '../../../lib/errors';

const base = (extra: Partial<OspOptions>): OspOptions => ({ buckets: { data: { host: '127.0.0.1', port: 9000 } }, hmacKeystore: [{ accessKey: 'k', secretKey: 's' }], ...extra });
const named = (doc: unknown): OspOptions => base({ policies: { readOnly: doc as never } });
const stmt = (s: Record<string, unknown>) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', ...s }] });

function configError(options: OspOptions): OspConfigError {
  try {
    resolveOptions(options);
  } catch (err) {
    if (err instanceof OspConfigError) return err;
    throw err;
  }
  throw new Error('no config error');
}

describe('policy validation at startup', () => {
  it.each([
    ['unknown action', stmt({ Action: ['s3:GetObject', 's3:Foo'] }), 'policies.readOnly.Statement[0].Action[1]', /unknown action "s3:Foo"/],
    ['action of another service', stmt({ Action: 'iam:PassRole' }), 'policies.readOnly.Statement[0].Action', /unknown action/],
    ['wildcard matching no action', stmt({ Action: 's3:Frobnicate*' }), 'policies.readOnly.Statement[0].Action', /unknown action/],
    ['malformed ARN', stmt({ Resource: 'arn:aws:s3:::' }), 'policies.readOnly.Statement[0].Resource', /malformed ARN/],
    ['ARN of another service', stmt({ Resource: 'arn:aws:iam::123:user/x' }), 'policies.readOnly.Statement[0].Resource', /malformed ARN/],
    ['not an ARN', stmt({ Resource: ['arn:aws:s3:::ok', 'photos/*'] }), 'policies.readOnly.Statement[0].Resource[1]', /malformed ARN/],
    ['S3 ARN with a region', stmt({ Resource: 'arn:aws:s3:us-east-1::b' }), 'policies.readOnly.Statement[0].Resource', /no region or account/],
    ['bad Effect', stmt({ Effect: 'allow' }), 'policies.readOnly.Statement[0].Effect', /"Allow" or "Deny"/],
    ['Action and NotAction', stmt({ NotAction: 's3:PutObject' }), 'policies.readOnly.Statement[0].Action', /exactly one of Action and NotAction/],
    ['no Resource', { Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] }, 'policies.readOnly.Statement[0].Resource', /exactly one of Resource and NotResource/],
    ['a Principal', stmt({ Principal: '*' }), 'policies.readOnly.Statement[0].Principal', /identity-based/],
    ['unknown statement field', stmt({ Actions: 's3:GetObject' }), 'policies.readOnly.Statement[0].Actions', /unknown field/],
    ['unknown condition operator', stmt({ Condition: { StringMatches: { 's3:prefix': 'a' } } }), 'policies.readOnly.Statement[0].Condition.StringMatches', /unknown condition operator/],
    [
      'unknown condition key',
      stmt({ Condition: { StringEquals: { 's3:ExistingObjectTag/x': 'a' } } }),
      'policies.readOnly.Statement[0].Condition.StringEquals.s3:ExistingObjectTag/x',
      /unknown condition key/,
    ],
    ['bad CIDR', stmt({ Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } } }), 'policies.readOnly.Statement[0].Condition.IpAddress.aws:SourceIp[1]', /CIDR/],
    ['bad number', stmt({ Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } }), 'policies.readOnly.Statement[0].Condition.NumericLessThan.s3:max-keys', /number/],
    ['bad date', stmt({ Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }), 'policies.readOnly.Statement[0].Condition.DateLessThan.aws:CurrentTime', /ISO 8601/],
    ['bad Bool', stmt({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }), 'policies.readOnly.Statement[0].Condition.Bool.aws:SecureTransport', /true/],
    ['Null with a set operator', stmt({ Condition: { 'ForAnyValue:Null': { 's3:prefix': 'true' } } }), 'policies.readOnly.Statement[0].Condition.ForAnyValue:Null', /unknown condition operator/],
    ['unknown policy variable', stmt({ Resource: 'arn:aws:s3:::home/${aws:nope}/*' }), 'policies.readOnly.Statement[0].Resource', /unknown policy variable/],
    ['bad Version', { Version: '2012-10-18', Statement: [] }, 'policies.readOnly.Version', /2012-10-17/],
    ['empty Statement', { Version: '2012-10-17', Statement: [] }, 'policies.readOnly.Statement', /must not be empty/],
  ])('%s', (_name, doc, option, rule) => {
    const err = configError(named(doc));
    expect(err.code).toBe('ERR_OSP_INVALID_OPTION');
    expect(err.option).toBe(option);
    expect(err.message).toMatch(rule);
  });

  it('names the keystore path of an inline policy', () => {
    const err = configError(base({ hmacKeystore: [{ accessKey: 'k', secretKey: 's', policies: [stmt({ Effect: 'Maybe' }) as never] }] }));
    expect(err.option).toBe('hmacKeystore[0].policies[0].Statement[0].Effect');
  });

  it('refuses a reference to an undefined named policy', () => {
    const err = configError(base({ hmacKeystore: [{ accessKey: 'k', secretKey: 's', policies: ['nope'] }] }));
    expect(err.option).toBe('hmacKeystore[0].policies[0]');
    expect(err.message).toMatch(/unknown policy "nope"/);
  });

  it('refuses tags that are not strings, and tags without policies', () => {
    expect(configError(base({ hmacKeystore: [{ accessKey: 'k', secretKey: 's', policies: [], tags: { team: 1 as never } }] })).option).toBe('hmacKeystore[0].tags');
    expect(configError(base({ hmacKeystore: [{ accessKey: 'k', secretKey: 's', tags: { team: 'x' } }] })).option).toBe('hmacKeystore[0].tags');
  });

  it('accepts a valid set and compiles the keys that have policies', () => {
    const o = resolveOptions(
      base({
        policies: { readOnly: stmt({ Condition: { 'ForAnyValue:StringLikeIfExists': { 's3:prefix': ['reports/*'] }, IpAddress: { 'aws:SourceIp': ['127.0.0.1/32', '::1'] } } }) as never },
        hmacKeystore: [
          { accessKey: 'plain', secretKey: 's' },
          {
            accessKey: 'ro',
            secretKey: 's',
            policies: ['readOnly', { Version: '2012-10-17', Statement: { Effect: 'Deny', NotAction: 's3:Get*', NotResource: 'arn:aws:s3:::home/${aws:username}/*' } }],
            tags: { team: 'a' },
          },
        ],
      }),
    );
    expect(o.keyPolicies.has('plain')).toBe(false);
    expect(o.keyPolicies.get('ro')?.policies).toHaveLength(2);
  });
});
