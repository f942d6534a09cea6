/**
 * Checksum vectors. CRC32 / SHA / MD5 expectations come from Python's zlib and hashlib; CRC32C and
 * CRC64NVME from the CRC catalogue check values ("123456789"), the AWS documentation (CRC32C of
 * 66560 'a' = sOO8/Q==) and the AWS SDK's own implementations (@aws-sdk/checksums, a dev dependency).
 */
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  checksumHeaderName,
  checksumMismatchError,
  createChecksum,
  decodeChecksumValue,
  parseChecksumAlgorithmFromHeader,
  parseChecksumAlgorithmName,
} from '../../../lib/body/checksums';
import { Crc64Nvme, crc32, crc32Js, crc32c } from '../../../lib/body/crc';
import { OspError } from '../../../lib/errors';
import { pseudoRandomBytes, split } from './stream-helpers';

function b64(alg: ChecksumAlgorithm, data: Buffer, pieceSize = 0): string {
  const c = createChecksum(alg);
  for (const p of split(data, pieceSize)) c.update(p);
  return c.digestBase64();
}

const A66560 = Buffer.alloc(66560, 'a');

const VECTORS: Array<[string, Buffer, Partial<Record<ChecksumAlgorithm, string>>]> = [
  [
    'empty',
    Buffer.alloc(0),
    {
      crc32: 'AAAAAA==',
      crc32c: 'AAAAAA==',
      crc64nvme: 'AAAAAAAAAAA=',
      sha1: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=',
      sha256: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
      md5: '1B2M2Y8AsgTpgAmY7PhCfg==',
    },
  ],
  [
    '123456789',
    Buffer.from('123456789'),
    {
      crc32: Buffer.from('cbf43926', 'hex').toString('base64'), // y/Q5Jg==
      crc32c: Buffer.from('e3069283', 'hex').toString('base64'),
      crc64nvme: Buffer.from('ae8b14860a799888', 'hex').toString('base64'),
      sha1: '98O8HYCOBHMq32eZZczDTKeuNEE=',
      sha256: 'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=',
      md5: 'JfnnlDI7RTiF9RgfG2JNCw==',
      sha512: '2eZ2LdHI6vbWGzxhkvxAjU1tXxF20MKRabwk5xw/J0rSf81YEbMT1oH35V7ALXPUmclUVba1u1A6z1dPuo/+hQ==',
    },
  ],
  [
    'hello world',
    Buffer.from('hello world'),
    {
      crc32: 'DUoRhQ==',
      sha1: 'Kq5sNclPz7QV2+lfQIuc6R7oRu0=',
      sha256: 'uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=',
      md5: 'XrY7u+Ae7tCTyyK7j1rNww==',
    },
  ],
  [
    '66560 x a (AWS trailer example)',
    A66560,
    {
      crc32: 'sK4Y7A==',
      crc32c: 'sOO8/Q==',
      sha1: 'qOlv5ixdz2jRNhlSLmgH6iaTKRI=',
      sha256: 'zWnTiHxq+SZLEA17dgIzEzXZqn4718MM3G1vS/uzyIg=',
      md5: '2g0uF81ajxRjPGtK661+Ag==',
    },
  ],
];

describe('createChecksum', () => {
  for (const [name, data, expected] of VECTORS) {
    for (const [alg, value] of Object.entries(expected) as Array<[ChecksumAlgorithm, string]>) {
      it(`${alg}(${name}) = ${value}, in one piece and in pieces of 1, 7 and 4096 bytes`, () => {
        expect(b64(alg, data)).toBe(value);
        if (data.length > 0 && data.length < 100) expect(b64(alg, data, 1)).toBe(value);
        expect(b64(alg, data, 7)).toBe(value);
        expect(b64(alg, data, 4096)).toBe(value);
      });
    }
  }

  it('digest() can be read more than once', () => {
    for (const alg of CHECKSUM_ALGORITHMS) {
      const c = createChecksum(alg);
      c.update(Buffer.from('x'));
      expect(c.digestBase64()).toBe(c.digestBase64());
    }
  });
});

describe('CRC implementations against the AWS SDK (@aws-sdk/checksums)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('@aws-sdk/checksums/crc') as {
    Crc32cJs: new () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> };
    Crc64NvmeJs: new () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> };
    Crc32Js: new () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> };
  };

  for (const length of [1, 7, 8, 9, 63, 64, 65, 1000, 65536 + 3]) {
    it(`agree on ${length} pseudo-random bytes`, async () => {
      const data = pseudoRandomBytes(length, length);
      for (const [alg, Impl] of [
        ['crc32', sdk.Crc32Js],
        ['crc32c', sdk.Crc32cJs],
        ['crc64nvme', sdk.Crc64NvmeJs],
      ] as const) {
        const theirs = new Impl();
        theirs.update(data);
        const expected = Buffer.from(await theirs.digest()).toString('base64');
        expect([alg, b64(alg, data, 13)]).toEqual([alg, expected]);
        expect([alg, b64(alg, data)]).toEqual([alg, expected]);
      }
    });
  }

  it('the JavaScript CRC32 fallback agrees with zlib', () => {
    const data = pseudoRandomBytes(100_003, 3);
    expect(crc32Js(data)).toBe(crc32(data));
    expect(crc32Js(data.subarray(5), crc32Js(data.subarray(0, 5)))).toBe(crc32(data));
    expect(crc32c(data.subarray(11), crc32c(data.subarray(0, 11)))).toBe(crc32c(data));
  });

  it('CRC64NVME check value', () => {
    const c = new Crc64Nvme();
    c.update(Buffer.from('123456789'));
    expect(c.digest().toString('hex')).toBe('ae8b14860a799888');
  });
});

describe('header names', () => {
  it('maps algorithms to header names and back', () => {
    for (const alg of CHECKSUM_ALGORITHMS) {
      expect(parseChecksumAlgorithmFromHeader(checksumHeaderName(alg))).toBe(alg);
      expect(parseChecksumAlgorithmFromHeader(checksumHeaderName(alg).toUpperCase())).toBe(alg);
      expect(parseChecksumAlgorithmName(alg.toUpperCase())).toBe(alg);
    }
    expect(checksumHeaderName('crc64nvme')).toBe('x-amz-checksum-crc64nvme');
    expect(parseChecksumAlgorithmFromHeader('x-amz-checksum-algorithm')).toBeUndefined();
    expect(parseChecksumAlgorithmFromHeader('x-amz-checksum-type')).toBeUndefined();
    expect(parseChecksumAlgorithmFromHeader('x-amz-checksum-xxhash64')).toBeUndefined();
    expect(parseChecksumAlgorithmFromHeader('content-md5')).toBeUndefined();
    expect(parseChecksumAlgorithmName('XXHASH3')).toBeUndefined();
  });

  it('decodes checksum values and rejects malformed ones', () => {
    expect(decodeChecksumValue('crc32c', 'sOO8/Q==').toString('hex')).toBe('b0e3bcfd');
    for (const bad of ['sOO8/Q=', 'sOO8', 'AAAAAAAAAAA=', 'not base64!', '']) {
      expect(() => decodeChecksumValue('crc32c', bad)).toThrow(OspError);
    }
    try {
      decodeChecksumValue('crc32', 'x', 'trailing header');
    } catch (e) {
      expect((e as OspError).message).toBe('Value for x-amz-checksum-crc32 trailing header is invalid.');
      expect((e as OspError).status).toBe(400);
    }
  });

  it('mismatch error is BadDigest with the S3 message', () => {
    const e = checksumMismatchError('crc32');
    expect([e.status, e.s3Code, e.message]).toEqual([400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.']);
  });
});
