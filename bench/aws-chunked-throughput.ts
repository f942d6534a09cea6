/**
 * Throughput of the body streams on a 256 MiB (default) in-memory stream; not a test.
 * Run: npx ts-node --transpile-only test/unit/body/throughput.bench.ts [MiB]
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder } from '../lib/body/aws-chunked-decoder';
import { AwsChunkedEncoder, encodedLength } from '../lib/body/aws-chunked-encoder';
import { ChecksumVerifier } from '../lib/body/checksum-verifier';
import { type ChecksumAlgorithm, createChecksum } from '../lib/body/checksums';
import { EMPTY_SHA256, canonicalTrailers, chunkSignature, trailerSignature } from '../lib/body/chunk-signature';
import { sha256Hex } from '../lib/sigv4/signing-key';
import { getSigningKey } from '../lib/sigv4/signing-key';

const MIB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MIB;
const piece = randomBytes(64 * 1024);
const signing = {
  signingKey: getSigningKey('secret', '20240131', 'us-east-1', 's3'),
  seedSignature: 'a'.repeat(64),
  amzDate: '20240131T000000Z',
  scope: '20240131/us-east-1/s3/aws4_request',
};

/** A readable producing `total` bytes of the same 64 KiB piece. */
function source(): Readable {
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, piece.length);
      left -= n;
      this.push(n === piece.length ? piece : piece.subarray(0, n));
    },
  });
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** Encodes once into memory-light form: we re-run the encoder as the decoder's source. */
async function measure(label: string, run: () => Promise<void>): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  await run();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss1 = process.memoryUsage().rss;
  console.log(`${label.padEnd(58)} ${(total / MIB / s).toFixed(0).padStart(5)} MiB/s  (rss ${(rss0 / MIB).toFixed(0)} -> ${(rss1 / MIB).toFixed(0)} MiB)`);
}

/**
 * A pre-framed aws-chunked body of `total` bytes (64 KiB chunks of the same piece), so that the
 * decoder alone is measured: signatures and the trailer are computed before the clock starts.
 */
function framedSource(signed: boolean, alg: ChecksumAlgorithm | undefined): () => Readable {
  const count = Math.ceil(total / piece.length);
  const headers: Buffer[] = [];
  let prev = signing.seedSignature;
  const pieceHash = sha256Hex(piece);
  for (let i = 0; i < count; i++) {
    if (signed) {
      prev = chunkSignature(signing, prev, pieceHash);
      headers.push(Buffer.from(`${i === 0 ? '' : '\r\n'}10000;chunk-signature=${prev}\r\n`));
    } else headers.push(Buffer.from(`${i === 0 ? '' : '\r\n'}10000\r\n`));
  }
  let end = '\r\n';
  if (signed) {
    prev = chunkSignature(signing, prev, EMPTY_SHA256);
    end += `0;chunk-signature=${prev}\r\n`;
  } else end += '0\r\n';
  if (alg !== undefined) {
    const c = createChecksum(alg);
    for (let i = 0; i < count; i++) c.update(piece);
    const name = `x-amz-checksum-${alg}`;
    end += `${name}:${c.digestBase64()}\r\n`;
    if (signed) end += `x-amz-trailer-signature:${trailerSignature(signing, prev, canonicalTrailers([[name, c.digestBase64()]]))}\r\n`;
  }
  const tail = Buffer.from(end + '\r\n');
  return () => {
    let i = 0;
    let inPiece = false;
    return new Readable({
      read() {
        if (i >= count) {
          this.push(tail);
          this.push(null);
          return;
        }
        if (!inPiece) {
          inPiece = true;
          this.push(headers[i]);
        } else {
          inPiece = false;
          i++;
          this.push(piece);
        }
      },
    });
  };
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${total / MIB} MiB, 64 KiB pieces`);
  for (const [signed, alg] of [
    [false, undefined],
    [false, 'crc32'],
    [false, 'crc32c'],
    [false, 'crc64nvme'],
    [false, 'sha256'],
    [true, undefined],
    [true, 'crc32'],
    [true, 'crc32c'],
    [true, 'crc64nvme'],
  ] as Array<[boolean, ChecksumAlgorithm | undefined]>) {
    const make = framedSource(signed, alg);
    const kind = signed ? (alg ? 'streaming-signed-trailer' : 'streaming-signed') : 'streaming-unsigned-trailer';
    await measure(`DECODER ONLY ${signed ? 'signed+verified chunks' : 'unsigned chunks'}, ${alg ?? 'no'} trailer`, () =>
      pipeline(
        make(),
        new AwsChunkedDecoder({
          kind,
          signing: signed ? signing : undefined,
          trailerNames: alg ? [`x-amz-checksum-${alg}`] : [],
          decodedContentLength: Math.ceil(total / piece.length) * piece.length,
        }),
        sink(),
      ),
    );
  }
  await measure('encoder only (signed, 64 KiB chunks)', () => pipeline(source(), new AwsChunkedEncoder({ signing }), sink()));
  await measure('encode + decode (unsigned, no trailer)', () => pipeline(source(), new AwsChunkedEncoder({}), new AwsChunkedDecoder({ kind: 'streaming-unsigned-trailer' }), sink()));
  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha256'] as ChecksumAlgorithm[]) {
    await measure(`encode + decode (unsigned, ${alg} trailer)`, () =>
      pipeline(source(), new AwsChunkedEncoder({ trailerChecksum: alg }), new AwsChunkedDecoder({ kind: 'streaming-unsigned-trailer', trailerNames: [`x-amz-checksum-${alg}`] }), sink()),
    );
  }
  await measure('encode + decode+verify (signed chunks, crc32c trailer)', () =>
    pipeline(
      source(),
      new AwsChunkedEncoder({ signing, trailerChecksum: 'crc32c' }),
      new AwsChunkedDecoder({ kind: 'streaming-signed-trailer', signing, trailerNames: ['x-amz-checksum-crc32c'] }),
      sink(),
    ),
  );
  await measure('encode + decode+verify (signed chunks, no trailer)', () =>
    pipeline(source(), new AwsChunkedEncoder({ signing }), new AwsChunkedDecoder({ kind: 'streaming-signed', signing }), sink()),
  );
  await measure('ChecksumVerifier sha256 + md5 (compute only)', () => pipeline(source(), new ChecksumVerifier({ compute: ['sha256', 'md5'] }), sink()));
  await measure('ChecksumVerifier crc32 + length', () => pipeline(source(), new ChecksumVerifier({ compute: ['crc32'], expectedLength: total }), sink()));
  console.log(`encodedLength(256 MiB, signed+crc32c) = ${encodedLength(256 * MIB, { signed: true, trailerChecksum: 'crc32c' })}`);
}

void main();
