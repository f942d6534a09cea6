import { randomBytes } from 'node:crypto';
import { AwsChunkedDecoder } from '../../../lib/body/aws-chunked-decoder';
import { AwsChunkedEncoder, type AwsChunkedEncoderOptions, encodedLength, framingKind } from '../../../lib/body/aws-chunked-encoder';
import type { ChecksumAlgorithm } from '../../../lib/body/checksums';
import { getSigningKey } from '../../../lib/sigv4/signing-key';
import { DOC_DATA, DOC_SIGNED, DOC_SIGNED_TRAILER, docSignedBody, docSignedTrailerBody, docSigning } from './aws-vectors';
import { expectOspError, randomSplit, runThrough, runThroughExpectingError, split } from './stream-helpers';

describe('AwsChunkedEncoder reproduces the AWS examples byte for byte', () => {
  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', async () => {
    const encoder = new AwsChunkedEncoder({ chunkSize: 65536, signing: docSigning(DOC_SIGNED.seed) });
    const out = await runThrough(encoder, randomSplit(DOC_DATA, 5, 10_000));
    expect(out.toString('latin1')).toBe(docSignedBody().toString('latin1'));
    expect(encodedLength(66560, encoder.framing)).toBe(DOC_SIGNED.contentLength);
    expect(framingKind(encoder.framing)).toBe('streaming-signed');
  });

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with x-amz-checksum-crc32c', async () => {
    const encoder = new AwsChunkedEncoder({
      chunkSize: 65536,
      signing: docSigning(DOC_SIGNED_TRAILER.seed),
      trailerChecksum: 'crc32c',
    });
    const out = await runThrough(encoder, [DOC_DATA]);
    expect(out.toString('latin1')).toBe(docSignedTrailerBody().toString('latin1'));
    expect(encoder.trailerValue).toBe('sOO8/Q==');
    expect(encodedLength(66560, encoder.framing)).toBe(out.length);
    expect(framingKind(encoder.framing)).toBe('streaming-signed-trailer');
  });
});

describe('decoder(encoder(x)) round trips and encodedLength', () => {
  const signing = {
    signingKey: getSigningKey('backend-secret', '20240131', 'eu-west-1', 's3'),
    seedSignature: 'f'.repeat(64),
    amzDate: '20240131T120000Z',
    scope: '20240131/eu-west-1/s3/aws4_request',
  };
  const modes: Array<[string, AwsChunkedEncoderOptions]> = [
    ['signed', { signing }],
    ['signed + crc32 trailer', { signing, trailerChecksum: 'crc32' }],
    ['signed + crc64nvme trailer', { signing, trailerChecksum: 'crc64nvme' }],
    ['unsigned + crc32c trailer', { trailerChecksum: 'crc32c' }],
    ['unsigned + sha256 trailer', { trailerChecksum: 'sha256' }],
    ['unsigned, no trailer', {}],
  ];
  const sizes = [0, 1, 65535, 65536, 65537, 1024 * 1024 + 3];

  for (const [label, options] of modes) {
    it(`${label}: sizes ${sizes.join(', ')}`, async () => {
      for (const size of sizes) {
        const data = randomBytes(size);
        const encoder = new AwsChunkedEncoder(options);
        const encoded = await runThrough(encoder, randomSplit(data, size + 1, 40_000));
        expect([size, encoded.length]).toEqual([size, encodedLength(size, encoder.framing)]);
        const kind = framingKind(encoder.framing);
        const trailerNames = options.trailerChecksum ? [`x-amz-checksum-${options.trailerChecksum}`] : [];
        const decoder = new AwsChunkedDecoder({ kind, signing: options.signing, trailerNames, decodedContentLength: size });
        const decoded = await runThrough(decoder, randomSplit(encoded, size + 2, 70_000));
        expect(decoded.equals(data)).toBe(true);
        const trailers = await decoder.trailers();
        expect(trailers.decodedBytes).toBe(size);
        expect(trailers.checksum?.value).toBe(encoder.trailerValue);
        expect(trailers.signatureVerified).toBe(options.signing !== undefined && options.trailerChecksum !== undefined);
      }
    });
  }

  it('small chunk sizes and 1-byte splits', async () => {
    const data = randomBytes(5000);
    for (const chunkSize of [1, 3, 8192]) {
      const encoder = new AwsChunkedEncoder({ chunkSize, signing, trailerChecksum: 'crc32c' });
      const encoded = await runThrough(encoder, split(data, 1));
      expect(encoded.length).toBe(encodedLength(5000, encoder.framing));
      const decoder = new AwsChunkedDecoder({
        kind: 'streaming-signed-trailer',
        signing,
        trailerNames: ['x-amz-checksum-crc32c'],
      });
      expect((await runThrough(decoder, split(encoded, 1))).equals(data)).toBe(true);
    }
  });

  it('a body signed with another key is rejected', async () => {
    const encoded = await runThrough(new AwsChunkedEncoder({ signing }), [randomBytes(100)]);
    const other = { ...signing, signingKey: getSigningKey('other-secret', '20240131', 'eu-west-1', 's3') };
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder({ kind: 'streaming-signed', signing: other }), [encoded]);
    expectOspError(error, 403, 'SignatureDoesNotMatch');
    expect(output.length).toBe(0);
  });

  it('encodedLength covers every algorithm and rejects bad input', () => {
    for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256', 'md5', 'sha512'] as ChecksumAlgorithm[]) {
      expect(encodedLength(0, { signed: false, trailerChecksum: alg })).toBe(`0\r\nx-amz-checksum-${alg}:\r\n\r\n`.length + Buffer.from(new Uint8Array(digestLength(alg))).toString('base64').length);
    }
    expect(encodedLength(0, { signed: false })).toBe('0\r\n\r\n'.length);
    expect(() => encodedLength(-1, { signed: false })).toThrow(RangeError);
    expect(() => encodedLength(1, { signed: false, chunkSize: 0 })).toThrow(RangeError);
  });
});

function digestLength(alg: ChecksumAlgorithm): number {
  return { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32, md5: 16, sha512: 64 }[alg];
}
