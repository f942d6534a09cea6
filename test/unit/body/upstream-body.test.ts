import { planUpstreamBody } from '../../../lib/body/upstream-body';
import { resolveProfile } from '../../../lib/backends/profiles';

describe('planUpstreamBody: x-amz-checksum-* headers', () => {
  const lenient = resolveProfile({ verifiesPayloadHash: false, verifiesChecksumHeaders: false });
  const headers = { 'content-length': '120', 'x-amz-checksum-crc32': 'AAAAAA==-2' };

  it('CompleteMultipartUpload: the composite checksum (…-N) is not checked against the XML body (issue 10)', () => {
    const plan = planUpstreamBody({ method: 'POST', operation: 'CompleteMultipartUpload', headers, payloadHash: 'UNSIGNED-PAYLOAD', profile: lenient });
    expect(plan.createStages()).toEqual([]);
  });

  it('PutObject: the same header is a body checksum, malformed here → 400 before anything is sent', () => {
    expect(() => planUpstreamBody({ method: 'PUT', operation: 'PutObject', headers, payloadHash: 'UNSIGNED-PAYLOAD', profile: lenient })).toThrow(/checksum|crc32/i);
  });
});
