import { isStreamingPayload, parsePayloadMode, parseTrailerHeader, streamingPayloadValue } from '../../../lib/body/payload-mode';
import { OspError } from '../../../lib/errors';

describe('parsePayloadMode', () => {
  it('classifies every x-amz-content-sha256 value', () => {
    const hex = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
    expect(parsePayloadMode(hex)).toEqual({ kind: 'sha256', sha256: hex.toLowerCase() });
    expect(parsePayloadMode('UNSIGNED-PAYLOAD')).toEqual({ kind: 'unsigned' });
    for (const kind of ['streaming-signed', 'streaming-signed-trailer', 'streaming-unsigned-trailer'] as const) {
      const mode = parsePayloadMode(streamingPayloadValue(kind));
      expect(mode).toEqual({ kind });
      expect(isStreamingPayload(mode)).toBe(true);
    }
    expect(isStreamingPayload({ kind: 'unsigned' })).toBe(false);
  });

  it('rejects missing, unknown and SigV4a values with the S3 errors', () => {
    const codeOf = (v: string | undefined) => {
      try {
        parsePayloadMode(v);
      } catch (e) {
        return [(e as OspError).status, (e as OspError).s3Code];
      }
      return undefined;
    };
    expect(codeOf(undefined)).toEqual([400, 'InvalidRequest']);
    expect(codeOf('streaming-aws4-hmac-sha256-payload')).toEqual([400, 'InvalidArgument']);
    expect(codeOf('abc')).toEqual([400, 'InvalidArgument']);
    expect(codeOf('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')).toEqual([501, 'NotImplemented']);
    expect(codeOf('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER')).toEqual([501, 'NotImplemented']);
  });
});

describe('parseTrailerHeader', () => {
  it('splits, trims and lowercases', () => {
    expect(parseTrailerHeader(undefined)).toEqual([]);
    expect(parseTrailerHeader('x-amz-checksum-crc32')).toEqual(['x-amz-checksum-crc32']);
    expect(parseTrailerHeader(' X-Amz-Checksum-CRC32C , ,x-amz-meta-a')).toEqual(['x-amz-checksum-crc32c', 'x-amz-meta-a']);
  });
});
