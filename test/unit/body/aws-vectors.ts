/**
 * The AWS documentation's streaming-upload examples: 66560 bytes of 'a' sent as a 64 KiB chunk, a
 * 1 KiB chunk and the final empty chunk, with example credentials, date 20130524T000000Z and scope
 * 20130524/us-east-1/s3/aws4_request.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html#example-signature-calculations-streaming
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html#example-signature-calculations-trailing-header
 */
import type { ChunkSigningContext } from '../../../lib/body/chunk-signature';
import { getSigningKey } from '../../../lib/sigv4/signing-key';

export const DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const DOC_AMZ_DATE = '20130524T000000Z';
export const DOC_SCOPE = '20130524/us-east-1/s3/aws4_request';
export const DOC_DATA = Buffer.alloc(66560, 'a');

/** STREAMING-AWS4-HMAC-SHA256-PAYLOAD example. */
export const DOC_SIGNED = {
  seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  chunks: [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ],
  contentLength: 66824,
} as const;

/** STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER example (x-amz-trailer: x-amz-checksum-crc32c). */
export const DOC_SIGNED_TRAILER = {
  seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
  chunks: [
    'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
    '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
    '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
  ],
  crc32c: 'sOO8/Q==',
  trailerSignature: 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
} as const;

export function docSigning(seed: string): ChunkSigningContext {
  return {
    signingKey: getSigningKey(DOC_SECRET, '20130524', 'us-east-1', 's3'),
    seedSignature: seed,
    amzDate: DOC_AMZ_DATE,
    scope: DOC_SCOPE,
  };
}

/** The mode-3 example body, exactly as documented. */
export function docSignedBody(): Buffer {
  const [s1, s2, s3] = DOC_SIGNED.chunks;
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${s1}\r\n`),
    DOC_DATA.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${s2}\r\n`),
    DOC_DATA.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${s3}\r\n\r\n`),
  ]);
}

/** The mode-4 example body (final chunk directly followed by the trailers). */
export function docSignedTrailerBody(options: { blankLineBeforeTrailers?: boolean } = {}): Buffer {
  const [s1, s2, s3] = DOC_SIGNED_TRAILER.chunks;
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${s1}\r\n`),
    DOC_DATA.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${s2}\r\n`),
    DOC_DATA.subarray(65536),
    Buffer.from(
      `\r\n0;chunk-signature=${s3}\r\n` +
        (options.blankLineBeforeTrailers ? '\r\n' : '') +
        `x-amz-checksum-crc32c:${DOC_SIGNED_TRAILER.crc32c}\r\n` +
        `x-amz-trailer-signature:${DOC_SIGNED_TRAILER.trailerSignature}\r\n\r\n`,
    ),
  ]);
}
