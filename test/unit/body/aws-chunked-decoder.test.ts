import { AwsChunkedDecoder, type AwsChunkedDecoderOptions } from '../../../lib/body/aws-chunked-decoder';
import { chunkSignature, EMPTY_SHA256 } from '../../../lib/body/chunk-signature';
import { sha256Hex } from '../../../lib/sigv4/signing-key';
import { DOC_DATA, DOC_SIGNED, DOC_SIGNED_TRAILER, docSignedBody, docSignedTrailerBody, docSigning } from './aws-vectors';
import { expectHeldBack, expectOspError, randomSplit, runThrough, runThroughExpectingError, split } from './stream-helpers';

const signedOptions = (): AwsChunkedDecoderOptions => ({
  kind: 'streaming-signed',
  signing: docSigning(DOC_SIGNED.seed),
  decodedContentLength: 66560,
});

const signedTrailerOptions = (): AwsChunkedDecoderOptions => ({
  kind: 'streaming-signed-trailer',
  signing: docSigning(DOC_SIGNED_TRAILER.seed),
  trailerNames: ['x-amz-checksum-crc32c'],
  decodedContentLength: 66560,
});

describe('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD', () => {
  it('the documented chunk signatures follow from the seed (chunk-signature chain)', () => {
    const ctx = docSigning(DOC_SIGNED.seed);
    const s1 = chunkSignature(ctx, DOC_SIGNED.seed, sha256Hex(DOC_DATA.subarray(0, 65536)));
    const s2 = chunkSignature(ctx, s1, sha256Hex(DOC_DATA.subarray(65536)));
    const s3 = chunkSignature(ctx, s2, EMPTY_SHA256);
    expect([s1, s2, s3]).toEqual(DOC_SIGNED.chunks);
    expect(docSignedBody().length).toBe(DOC_SIGNED.contentLength);
  });

  for (const [label, pieces] of [
    ['whole', (b: Buffer) => [b]],
    ['1-byte splits', (b: Buffer) => split(b, 1)],
    ['7-byte splits', (b: Buffer) => split(b, 7)],
    ['random splits', (b: Buffer) => randomSplit(b, 42, 3000)],
  ] as const) {
    it(`decodes and verifies (${label})`, async () => {
      const decoder = new AwsChunkedDecoder(signedOptions());
      let decodedEvent = -1;
      decoder.on('decodedBytes', (n: number) => (decodedEvent = n));
      const out = await runThrough(decoder, pieces(docSignedBody()));
      expect(out.equals(DOC_DATA)).toBe(true);
      expect(decodedEvent).toBe(66560);
      const trailers = await decoder.trailers();
      expect(trailers).toEqual({ headers: {}, checksum: undefined, signatureVerified: false, decodedBytes: 66560 });
    });
  }

  it('decodes without verification when no signing context is given', async () => {
    const out = await runThrough(new AwsChunkedDecoder({ kind: 'streaming-signed' }), [docSignedBody()]);
    expect(out.equals(DOC_DATA)).toBe(true);
  });

  it('rejects a tampered data byte in each chunk with 403 SignatureDoesNotMatch, before releasing that chunk', async () => {
    for (const [offset, maxOut] of [
      [88 + 5, 0], // in chunk 1: nothing may come out
      [88 + 65536 + 2 + 86 + 1000, 65536], // in chunk 2: at most chunk 1 (minus the held byte) came out
    ]) {
      const body = docSignedBody();
      body[offset] = 'b'.charCodeAt(0);
      const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), split(body, 1000));
      expectOspError(error, 403, 'SignatureDoesNotMatch');
      expect(output.length).toBeLessThan(maxOut === 0 ? 1 : maxOut);
      expect(output.every((b) => b === 0x61)).toBe(true);
    }
  });

  it('rejects each tampered chunk signature (including the final one) with 403', async () => {
    for (const sig of DOC_SIGNED.chunks) {
      const flipped = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
      const body = Buffer.from(docSignedBody().toString('latin1').replace(sig, flipped), 'latin1');
      const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), [body]);
      expectOspError(error, 403, 'SignatureDoesNotMatch');
      expect(output.length).toBeLessThan(66560); // never the whole object
    }
  });

  it('rejects a signature from another seed (chain) with 403', async () => {
    const options = { ...signedOptions(), signing: docSigning(DOC_SIGNED_TRAILER.seed) };
    const { error } = await runThroughExpectingError(new AwsChunkedDecoder(options), [docSignedBody()]);
    expectOspError(error, 403, 'SignatureDoesNotMatch');
  });

  it('rejects swapped chunks (signatures are chained) with 403', async () => {
    const [s1, s2, s3] = DOC_SIGNED.chunks;
    const body = Buffer.concat([
      Buffer.from(`400;chunk-signature=${s2}\r\n`),
      DOC_DATA.subarray(0, 1024),
      Buffer.from(`\r\n10000;chunk-signature=${s1}\r\n`),
      DOC_DATA.subarray(0, 65536),
      Buffer.from(`\r\n0;chunk-signature=${s3}\r\n\r\n`),
    ]);
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), [body]);
    expectOspError(error, 403, 'SignatureDoesNotMatch');
    expect(output.length).toBe(0);
  });

  it('rejects truncation anywhere with 400 IncompleteBody and never releases the whole object', async () => {
    const body = docSignedBody();
    for (const cut of [0, 10, 88, 88 + 65536, 88 + 65536 + 2, body.length - 90, body.length - 2, body.length - 1]) {
      const decoder = new AwsChunkedDecoder(signedOptions());
      const { error, output } = await runThroughExpectingError(decoder, [body.subarray(0, cut)]);
      expectOspError(error, 400, 'IncompleteBody');
      expect(output.length).toBeLessThan(66560);
      await expect(decoder.trailers()).rejects.toBe(error);
    }
  });

  it('rejects data after the final chunk with 400 and keeps the end of the body back', async () => {
    const body = Buffer.concat([docSignedBody(), Buffer.from('x')]);
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), [body]);
    expectOspError(error, 400, 'InvalidRequest');
    expectHeldBack(output, DOC_DATA);
  });

  it('rejects a decoded length different from x-amz-decoded-content-length with 400 IncompleteBody', async () => {
    for (const declared of [66559, 66561, 0]) {
      const options = { ...signedOptions(), decodedContentLength: declared };
      const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(options), [docSignedBody()]);
      expectOspError(error, 400, 'IncompleteBody');
      expect(output.length).toBeLessThan(66560);
    }
  });

  it('rejects malformed framing with 400 InvalidRequest', async () => {
    const [s1] = DOC_SIGNED.chunks;
    const cases = [
      `zz;chunk-signature=${s1}\r\n`, // bad hex
      `10000;chunk-signature=${s1}\n`, // bare LF
      `10000\r\n`, // missing signature in a signed mode
      `10000;chunk-signature=abc\r\n`, // short signature
      `${'1'.repeat(17)};chunk-signature=${s1}\r\n`, // size too long
      `;chunk-signature=${s1}\r\n`, // no size
      'x'.repeat(5000), // endless header line
    ];
    for (const head of cases) {
      const { error } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), [Buffer.from(head)]);
      expectOspError(error, 400, 'InvalidRequest');
    }
    // chunk data not followed by CRLF
    const bad = Buffer.from(docSignedBody().toString('latin1').replace(`\r\n400;`, `XY400;`), 'latin1');
    const { error } = await runThroughExpectingError(new AwsChunkedDecoder(signedOptions()), [bad]);
    expectOspError(error, 400, 'InvalidRequest');
  });

  it('caps the signed chunk size (it would have to be held in memory)', async () => {
    const options = { ...signedOptions(), maxChunkSize: 65535 };
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(options), [docSignedBody()]);
    expectOspError(error, 400, 'InvalidRequest');
    expect((error as Error).message).toMatch(/exceeds/);
    expect(output.length).toBe(0);
  });
});

describe('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', () => {
  for (const blank of [false, true]) {
    for (const [label, splitter] of [
      ['whole', (b: Buffer) => [b]],
      ['1-byte splits', (b: Buffer) => split(b, 1)],
      ['random splits', (b: Buffer) => randomSplit(b, 7, 2000)],
    ] as const) {
      it(`decodes, verifies chunks, trailer signature and CRC32C (${label}${blank ? ', CRLF before trailers' : ''})`, async () => {
        const decoder = new AwsChunkedDecoder(signedTrailerOptions());
        let fromEvent: unknown;
        decoder.on('trailers', (t) => (fromEvent = t));
        const out = await runThrough(decoder, splitter(docSignedTrailerBody({ blankLineBeforeTrailers: blank })));
        expect(out.equals(DOC_DATA)).toBe(true);
        const trailers = await decoder.trailers();
        expect(trailers).toEqual({
          headers: { 'x-amz-checksum-crc32c': 'sOO8/Q==' },
          checksum: { algorithm: 'crc32c', headerName: 'x-amz-checksum-crc32c', value: 'sOO8/Q==' },
          signatureVerified: true,
          decodedBytes: 66560,
        });
        expect(fromEvent).toEqual(trailers);
      });
    }
  }

  it('accepts a body ending right after the trailer signature line (no final blank line)', async () => {
    const body = docSignedTrailerBody();
    const out = await runThrough(new AwsChunkedDecoder(signedTrailerOptions()), [body.subarray(0, body.length - 2)]);
    expect(out.equals(DOC_DATA)).toBe(true);
  });

  it('rejects a changed checksum trailer with 403 (the trailer signature covers it)', async () => {
    const body = Buffer.from(docSignedTrailerBody().toString('latin1').replace('sOO8/Q==', 'sOO8/A=='), 'latin1');
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(signedTrailerOptions()), [body]);
    expectOspError(error, 403, 'SignatureDoesNotMatch');
    expectHeldBack(output, DOC_DATA);
  });

  it('rejects a wrong trailer signature with 403 and a missing one with 400 IncompleteBody', async () => {
    const text = docSignedTrailerBody().toString('latin1');
    const wrong = Buffer.from(text.replace(DOC_SIGNED_TRAILER.trailerSignature, DOC_SIGNED.seed), 'latin1');
    expectOspError((await runThroughExpectingError(new AwsChunkedDecoder(signedTrailerOptions()), [wrong])).error, 403, 'SignatureDoesNotMatch');
    const missing = Buffer.from(text.replace(`x-amz-trailer-signature:${DOC_SIGNED_TRAILER.trailerSignature}\r\n`, ''), 'latin1');
    expectOspError((await runThroughExpectingError(new AwsChunkedDecoder(signedTrailerOptions()), [missing])).error, 400, 'IncompleteBody');
  });

  it('without a signing context, a correct checksum passes and a wrong one is 400 BadDigest', async () => {
    const options: AwsChunkedDecoderOptions = { kind: 'streaming-signed-trailer', trailerNames: ['x-amz-checksum-crc32c'] };
    const good = await runThrough(new AwsChunkedDecoder(options), [docSignedTrailerBody()]);
    expect(good.equals(DOC_DATA)).toBe(true);
    const body = Buffer.from(docSignedTrailerBody().toString('latin1').replace('sOO8/Q==', 'sOO8/A=='), 'latin1');
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(options), [body]);
    expectOspError(error, 400, 'BadDigest');
    expect((error as Error).message).toBe('The CRC32C you specified did not match the calculated checksum.');
    expectHeldBack(output, DOC_DATA);
  });

  it('rejects a trailer that x-amz-trailer did not announce', async () => {
    const options = { ...signedTrailerOptions(), trailerNames: ['x-amz-checksum-crc32'] };
    const { error } = await runThroughExpectingError(new AwsChunkedDecoder(options), [docSignedTrailerBody()]);
    expectOspError(error, 400, 'InvalidRequest');
  });
});

describe('STREAMING-UNSIGNED-PAYLOAD-TRAILER framing', () => {
  const crc32OfData = 'sK4Y7A=='; // zlib.crc32 of 66560 'a'
  const body = (trailer = `x-amz-checksum-crc32:${crc32OfData}\r\n`) =>
    Buffer.concat([Buffer.from('10000\r\n'), DOC_DATA.subarray(0, 65536), Buffer.from('\r\n400\r\n'), DOC_DATA.subarray(65536), Buffer.from(`\r\n0\r\n${trailer}\r\n`)]);
  const options: AwsChunkedDecoderOptions = {
    kind: 'streaming-unsigned-trailer',
    trailerNames: ['x-amz-checksum-crc32'],
    decodedContentLength: 66560,
  };

  it('decodes and checks the CRC32 trailer, with any splits', async () => {
    for (const pieces of [[body()], split(body(), 1), randomSplit(body(), 3, 100)]) {
      const decoder = new AwsChunkedDecoder(options);
      expect((await runThrough(decoder, pieces)).equals(DOC_DATA)).toBe(true);
      expect((await decoder.trailers()).checksum).toEqual({
        algorithm: 'crc32',
        headerName: 'x-amz-checksum-crc32',
        value: crc32OfData,
      });
    }
  });

  it('streams unsigned chunk data without waiting for the chunk end (no size cap)', async () => {
    const decoder = new AwsChunkedDecoder({ ...options, maxChunkSize: 10 });
    const seen: number[] = [];
    decoder.on('data', (d: Buffer) => seen.push(d.length));
    decoder.write(Buffer.concat([Buffer.from('10000\r\n'), DOC_DATA.subarray(0, 1000)]));
    decoder.write(DOC_DATA.subarray(1000, 2000));
    await new Promise((r) => setImmediate(r));
    expect(seen.reduce((a, b) => a + b, 0)).toBe(1000); // all but the held (last) input
    decoder.destroy();
  });

  it('reports a wrong CRC32 as 400 BadDigest with the S3 message, holding the end of the body back', async () => {
    const { error, output } = await runThroughExpectingError(new AwsChunkedDecoder(options), [body('x-amz-checksum-crc32:AAAAAA==\r\n')]);
    expectOspError(error, 400, 'BadDigest');
    expect((error as Error).message).toBe('The CRC32 you specified did not match the calculated checksum.');
    expectHeldBack(output, DOC_DATA);
  });

  it('reports a malformed checksum value as 400 InvalidRequest and a missing trailer as IncompleteBody', async () => {
    const bad = await runThroughExpectingError(new AwsChunkedDecoder(options), [body('x-amz-checksum-crc32:zz\r\n')]);
    expectOspError(bad.error, 400, 'InvalidRequest');
    const missing = await runThroughExpectingError(new AwsChunkedDecoder(options), [body('')]);
    expectOspError(missing.error, 400, 'IncompleteBody');
  });

  it('tolerates bare LF line ends in the trailer section', async () => {
    const b = Buffer.concat([Buffer.from('3\r\nabc\r\n0\r\n'), Buffer.from(`x-amz-checksum-crc32:${Buffer.from('352441c2', 'hex').toString('base64')}\n\n`)]);
    const out = await runThrough(new AwsChunkedDecoder({ ...options, decodedContentLength: 3 }), [b]);
    expect(out.toString()).toBe('abc');
  });

  it('passes through a trailer of an algorithm it does not know, unverified', async () => {
    const b = Buffer.from('3\r\nabc\r\n0\r\nx-amz-checksum-xxhash64:AAAAAAAAAAA=\r\n\r\n');
    const decoder = new AwsChunkedDecoder({ kind: 'streaming-unsigned-trailer', trailerNames: ['x-amz-checksum-xxhash64'] });
    expect((await runThrough(decoder, [b])).toString()).toBe('abc');
    expect(await decoder.trailers()).toEqual({
      headers: { 'x-amz-checksum-xxhash64': 'AAAAAAAAAAA=' },
      checksum: undefined,
      signatureVerified: false,
      decodedBytes: 3,
    });
  });

  it('decodes an empty body', async () => {
    const b = Buffer.from(`0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`);
    const decoder = new AwsChunkedDecoder({ ...options, decodedContentLength: 0 });
    expect((await runThrough(decoder, split(b, 1))).length).toBe(0);
    expect((await decoder.trailers()).decodedBytes).toBe(0);
  });
});
