import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ChecksumVerifier } from '../../../lib/body/checksum-verifier';
import { createChecksum } from '../../../lib/body/checksums';
import { OspError } from '../../../lib/errors';
import { expectHeldBack, expectOspError, pseudoRandomBytes, randomSplit, runThrough, runThroughExpectingError, split } from './stream-helpers';

const data = pseudoRandomBytes(200_003, 9);
const sha256 = createHash('sha256').update(data).digest('hex');
const md5 = createHash('md5').update(data).digest('base64');
const crc32 = (() => {
  const c = createChecksum('crc32');
  c.update(data);
  return c.digestBase64();
})();
const crc64 = (() => {
  const c = createChecksum('crc64nvme');
  c.update(data);
  return c.digestBase64();
})();

describe('ChecksumVerifier', () => {
  it('passes a good body through unchanged and reports what it computed', async () => {
    const verifier = new ChecksumVerifier({
      expectedLength: data.length,
      contentSha256: sha256.toUpperCase(),
      contentMd5: md5,
      checksums: { crc32, crc64nvme: crc64 },
      compute: ['crc32c'],
    });
    let event: unknown;
    verifier.on('verified', (r) => (event = r));
    const out = await runThrough(verifier, randomSplit(data, 4, 20_000));
    expect(out.equals(data)).toBe(true);
    expect(verifier.result).toEqual(event);
    expect(verifier.result).toEqual({
      bytes: data.length,
      sha256Hex: sha256,
      md5Base64: md5,
      checksums: { crc32, crc64nvme: crc64, crc32c: expect.any(String) },
    });
  });

  it('works with 1-byte input and with no checks at all', async () => {
    const small = data.subarray(0, 3000);
    const smallSha = createHash('sha256').update(small).digest('hex');
    expect((await runThrough(new ChecksumVerifier({ contentSha256: smallSha }), split(small, 1))).equals(small)).toBe(true);
    expect((await runThrough(new ChecksumVerifier(), [data])).equals(data)).toBe(true);
  });

  const failing: Array<[string, ConstructorParameters<typeof ChecksumVerifier>[0], number, string]> = [
    ['x-amz-content-sha256 mismatch', { contentSha256: '0'.repeat(64) }, 400, 'XAmzContentSHA256Mismatch'],
    ['Content-MD5 mismatch', { contentMd5: '1B2M2Y8AsgTpgAmY7PhCfg==' }, 400, 'BadDigest'],
    ['CRC32 mismatch', { checksums: { crc32: 'AAAAAA==' } }, 400, 'BadDigest'],
    ['CRC64NVME mismatch', { checksums: { crc64nvme: 'AAAAAAAAAAA=' } }, 400, 'BadDigest'],
    ['too few bytes', { expectedLength: data.length + 1 }, 400, 'IncompleteBody'],
  ];
  for (const [label, options, status, code] of failing) {
    it(`${label}: ${status} ${code}, and the end of the body never goes downstream`, async () => {
      const { error, output } = await runThroughExpectingError(new ChecksumVerifier(options), split(data, 65536));
      expectOspError(error, status, code);
      expectHeldBack(output, data);
    });
  }

  it('too many bytes: 400 IncompleteBody as soon as they arrive', async () => {
    const { error, output } = await runThroughExpectingError(new ChecksumVerifier({ expectedLength: 1000 }), split(data, 600));
    expectOspError(error, 400, 'IncompleteBody');
    expect(output.length).toBeLessThan(1000);
  });

  it('the CRC32 mismatch message is the S3 one', async () => {
    const { error } = await runThroughExpectingError(new ChecksumVerifier({ checksums: { crc32: 'AAAAAA==' } }), [data]);
    expect((error as OspError).message).toBe('The CRC32 you specified did not match the calculated checksum.');
  });

  it('rejects malformed expected values in the constructor', () => {
    const expectThrow = (fn: () => unknown, code: string) => {
      try {
        fn();
      } catch (e) {
        expect((e as OspError).s3Code).toBe(code);
        return;
      }
      throw new Error('did not throw');
    };
    expectThrow(() => new ChecksumVerifier({ contentMd5: 'abc' }), 'InvalidDigest');
    expectThrow(() => new ChecksumVerifier({ contentMd5: 'AAAAAA==' }), 'InvalidDigest');
    expectThrow(() => new ChecksumVerifier({ contentSha256: 'xyz' }), 'InvalidArgument');
    expectThrow(() => new ChecksumVerifier({ checksums: { crc32c: 'AAAA' } }), 'InvalidRequest');
    expect(() => new ChecksumVerifier({ expectedLength: -1 })).toThrow(RangeError);
  });

  it('respects backpressure: a stalled consumer stops the producer', async () => {
    const verifier = new ChecksumVerifier();
    const sink = new PassThrough({ highWaterMark: 16 });
    verifier.pipe(sink);
    let writes = 0;
    const piece = Buffer.alloc(64 * 1024);
    while (verifier.write(piece)) {
      writes++;
      if (writes > 1000) break;
    }
    expect(writes).toBeLessThan(10);
    verifier.destroy();
  });
});
