/** Which client headers reach the backend (issue [1/5]): one rule per case. */
import { classifyRequestHeader, forwardHeaderPatternProblem, forwardsRequestHeader, requestsGovernanceBypass } from '../../../lib/s3/forwarded-headers';
import { resolveProfile } from '../../../lib/backends/profiles';
import { resolveOptions } from '../../../lib/options';

const none = () => false;
const all = () => true;

describe('classifyRequestHeader', () => {
  it.each([
    // x-amz-*: forwarded, signed upstream (verifySignature refuses unsigned ones)
    ['x-amz-acl', 'amz'],
    ['x-amz-bypass-governance-retention', 'amz'],
    ['x-amz-object-lock-mode', 'amz'],
    ['x-amz-grant-full-control', 'amz'],
    ['x-amz-server-side-encryption-customer-key', 'amz'],
    ['x-amz-expected-bucket-owner', 'amz'],
    ['x-amz-request-payer', 'amz'],
    ['x-amz-mfa', 'amz'],
    ['x-amz-meta-my_key', 'amz'],
    // standard S3 headers: forwarded as S3 accepts them
    ['content-md5', 'standard'],
    ['content-type', 'standard'],
    ['if-none-match', 'standard'],
    ['if-unmodified-since', 'standard'],
    ['range', 'standard'],
    ['cache-control', 'standard'],
    ['origin', 'standard'],
    // dropped: hop-by-hop and the client's credentials (the proxy re-signs)
    ['authorization', 'drop'],
    ['x-amz-security-token', 'drop'],
    ['x-amz-date', 'drop'],
    ['connection', 'drop'],
    ['expect', 'drop'],
    [':authority', 'drop'],
    // dropped: who the client is (RGW `rgw remote addr param`, aws:SourceIp)
    ['x-forwarded-for', 'drop'],
    ['x-forwarded-host', 'drop'],
    ['x-forwarded-proto', 'drop'],
    ['forwarded', 'drop'],
    ['x-real-ip', 'drop'],
    ['true-client-ip', 'drop'],
    ['via', 'drop'],
    // dropped: other auth schemes (Swift tempauth/keystone)
    ['x-auth-token', 'drop'],
    ['x-storage-token', 'drop'],
    ['cookie', 'drop'],
    // dropped: `_` aliases `-` on CGI-style servers (RGW, Swift)
    ['x_amz_bypass_governance_retention', 'drop'],
    ['x-amz-bypass_governance_retention', 'drop'],
    ['x_forwarded_for', 'drop'],
    ['x_auth_token', 'drop'],
    // dropped: reserved for a backend's own components, whatever the profile
    ['x-minio-internal-server-side-encryption-sealed-key', 'drop'],
    ['x-minio-source-replication-request', 'drop'],
    ['x-minio-replication-object-size', 'drop'],
    ['x-backend-storage-policy-index', 'drop'],
    ['x-object-sysmeta-s3api-acl', 'drop'],
    ['x-container-sysmeta-foo', 'drop'],
    ['x-account-sysmeta-foo', 'drop'],
    // vendor: dropped unless the profile allows them and the client signed them
    ['x-rgw-object-type', 'vendor'],
    ['x-minio-force-delete', 'vendor'],
    ['ibm-service-instance-id', 'vendor'],
    ['x-goog-acl', 'vendor'],
    ['x-timestamp', 'vendor'],
    ['amz-sdk-invocation-id', 'vendor'],
  ] as const)('%s is %s', (name, expected) => {
    expect(classifyRequestHeader(name)).toBe(expected);
  });
});

describe('forwardsRequestHeader', () => {
  it('forwards x-amz-* and standard headers whatever the profile', () => {
    expect(forwardsRequestHeader('x-amz-acl', [], none)).toBe(true);
    expect(forwardsRequestHeader('content-disposition', [], none)).toBe(true);
  });

  it('drops vendor headers the profile does not list, signed or not', () => {
    expect(forwardsRequestHeader('x-rgw-foo', [], all)).toBe(false);
    expect(forwardsRequestHeader('x-minio-force-delete', ['x-minio-extract'], all)).toBe(false);
  });

  it('forwards a listed vendor header only when the client signed it', () => {
    expect(forwardsRequestHeader('x-minio-extract', ['x-minio-extract'], all)).toBe(true);
    expect(forwardsRequestHeader('x-minio-extract', ['x-minio-extract'], none)).toBe(false);
    expect(forwardsRequestHeader('x-rgw-foo', ['x-rgw-*'], (n) => n === 'x-rgw-foo')).toBe(true);
  });

  it('never forwards dropped or internal headers, even under an allowed prefix', () => {
    expect(forwardsRequestHeader('x-minio-internal-foo', ['x-minio-*'], all)).toBe(false);
    expect(forwardsRequestHeader('x-forwarded-for', ['x-*'], all)).toBe(false);
    expect(forwardsRequestHeader('x_rgw_foo', ['x-rgw-*'], all)).toBe(false);
  });

  it('ibm-cos forwards the COS client headers (service instance, Key Protect), no other ibm-* header', () => {
    const ibm = resolveProfile('ibm-cos').forwardHeaders ?? [];
    for (const name of ['ibm-service-instance-id', 'ibm-sse-kp-encryption-algorithm', 'ibm-sse-kp-customer-root-key-crn']) expect(forwardsRequestHeader(name, ibm, all)).toBe(true);
    expect(forwardsRequestHeader('ibm-other', ibm, all)).toBe(false);
    expect(forwardsRequestHeader('ibm-service-instance-id', resolveProfile('ceph-rgw').forwardHeaders ?? [], all)).toBe(false);
    expect(forwardsRequestHeader('ibm-service-instance-id', resolveProfile(undefined).forwardHeaders ?? [], all)).toBe(false);
  });
});

describe('forwardHeaders option', () => {
  it.each([['x-minio-extract'], ['x-rgw-*'], ['x-minio-*'], ['ibm-*']])('accepts %s', (pattern) => {
    expect(forwardHeaderPatternProblem(pattern)).toBeUndefined();
  });

  it.each([
    ['X-Minio-Extract', /lowercase/],
    ['x_rgw_foo', /lowercase/],
    ['*', /lowercase|broad/],
    ['x*', /broad/],
    ['x-*', /x-amz/],
    ['x-amz-*', /x-amz/],
    ['content-type', /x-amz/],
    ['authorization', /never forwards/],
    ['x-forwarded-for', /reserves|never/],
    ['x-auth-token', /never forwards/],
    ['x-minio-internal-*', /reserves/],
    ['x-backend-*', /reserves/],
  ])('refuses %s', (pattern, message) => {
    expect(forwardHeaderPatternProblem(pattern)).toMatch(message);
  });

  it('is validated in the bucket profile, with the path of the bad entry', () => {
    const options = (forwardHeaders: unknown) => ({
      buckets: { b: { host: 's3.example.com', profile: { preset: 'minio' as const, forwardHeaders: forwardHeaders as string[] } } },
      hmacKeystore: [{ accessKey: 'c', secretKey: 's' }],
    });
    expect(() => resolveOptions(options(['x-minio-extract']))).not.toThrow();
    expect(() => resolveOptions(options(['x-minio-extract', 'x-minio-internal-foo']))).toThrow(/buckets\.b\.profile\.forwardHeaders\[1\]/);
    expect(() => resolveOptions(options('x-minio-extract'))).toThrow(/must be an array/);
  });
});

describe('requestsGovernanceBypass', () => {
  it.each([
    [{ 'x-amz-bypass-governance-retention': 'true' }, {}, true],
    [{ 'x-amz-bypass-governance-retention': 'TRUE' }, {}, true],
    [{ 'x-amz-bypass-governance-retention': ' True ' }, {}, true],
    [{ 'x-amz-bypass-governance-retention': 'true, false' }, {}, true], // repeated header, joined by Node
    [{ 'x-amz-bypass-governance-retention': 'yes' }, {}, true], // fail closed on values a backend may read otherwise
    [{ 'x-amz-bypass-governance-retention': 'false' }, {}, false],
    [{ 'x-amz-bypass-governance-retention': 'FALSE' }, {}, false],
    [{}, {}, false],
    [{}, { 'x-amz-bypass-governance-retention': 'true' }, true], // presigned URL
    [{}, { 'X-Amz-Bypass-Governance-Retention': 'true' }, true],
  ])('%j %j → %s', (headers, query, expected) => {
    expect(requestsGovernanceBypass(headers, query)).toBe(expected);
  });
});
