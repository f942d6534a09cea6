/**
 * Real-client vectors: what @aws-sdk/client-s3 (and botocore, when python3 + botocore + openssl are
 * available) actually send for streamed uploads, captured by a local server and fed to the decoder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AwsChunkedDecoder } from '../../../lib/body/aws-chunked-decoder';
import { createChecksum, parseChecksumAlgorithmFromHeader } from '../../../lib/body/checksums';
import { parsePayloadMode, parseTrailerHeader } from '../../../lib/body/payload-mode';
import { MAX_HELD_BYTES } from '../../../lib/body/tail-hold';
import { pseudoRandomBytes, runThrough, runThroughExpectingError, expectOspError, split } from './stream-helpers';

interface Captured {
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Starts a server answering 200 + ETag to everything and recording each request's raw body. */
async function captureServer(factory: (handler: http.RequestListener) => http.Server): Promise<{ url: string; requests: Captured[]; close(): Promise<void> }> {
  const requests: Captured[] = [];
  const server = factory((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(parts) });
      res.writeHead(200, { ETag: '"0123456789abcdef0123456789abcdef"', 'Content-Length': '0' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Decodes a captured request with the options its headers call for. */
async function decodeCaptured(c: Captured): Promise<{ data: Buffer; trailers: Awaited<ReturnType<AwsChunkedDecoder['trailers']>> }> {
  const mode = parsePayloadMode(c.headers['x-amz-content-sha256'] as string);
  if (mode.kind !== 'streaming-unsigned-trailer') throw new Error(`unexpected mode ${mode.kind}`);
  const decodedLength = c.headers['x-amz-decoded-content-length'];
  const decoder = new AwsChunkedDecoder({
    kind: mode.kind,
    trailerNames: parseTrailerHeader(c.headers['x-amz-trailer'] as string | undefined),
    decodedContentLength: decodedLength === undefined ? undefined : Number(decodedLength),
  });
  const data = await runThrough(decoder, split(c.body, 1000));
  return { data, trailers: await decoder.trailers() };
}

function expectedChecksum(alg: string, data: Buffer): string {
  const c = createChecksum(parseChecksumAlgorithmFromHeader(`x-amz-checksum-${alg}`)!);
  c.update(data);
  return c.digestBase64();
}

describe('@aws-sdk/client-s3 PutObject with a stream body (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', () => {
  let server: Awaited<ReturnType<typeof captureServer>>;
  let client: S3Client;
  beforeAll(async () => {
    server = await captureServer((h) => http.createServer(h));
    client = new S3Client({
      region: 'us-east-1',
      endpoint: server.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'SECRETEXAMPLE' },
    });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  const data = pseudoRandomBytes(300_001, 77);
  for (const algorithm of [undefined, 'CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    it(`ChecksumAlgorithm ${algorithm ?? '(default)'}`, async () => {
      const before = server.requests.length;
      await client.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'key',
          // Irregular pieces: the SDK makes one aws-chunk per stream chunk.
          Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000, 70_001), data.subarray(70_001)]),
          ContentLength: data.length,
          ChecksumAlgorithm: algorithm,
        }),
      );
      const captured = server.requests[before]!;
      const alg = (algorithm ?? 'CRC32').toLowerCase();
      expect(captured.headers).toEqual(
        expect.objectContaining({
          'content-encoding': 'aws-chunked',
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'x-amz-trailer': `x-amz-checksum-${alg}`,
          'x-amz-decoded-content-length': String(data.length),
        }),
      );
      const { data: decoded, trailers } = await decodeCaptured(captured);
      expect(decoded.equals(data)).toBe(true);
      expect(trailers.checksum).toEqual({
        algorithm: alg,
        headerName: `x-amz-checksum-${alg}`,
        value: expectedChecksum(alg, data),
      });

      // The same body with one data byte changed fails the checksum, and never completes.
      const tampered = Buffer.from(captured.body);
      tampered[1000] ^= 1;
      const decoder = new AwsChunkedDecoder({
        kind: 'streaming-unsigned-trailer',
        trailerNames: [`x-amz-checksum-${alg}`],
        decodedContentLength: data.length,
      });
      const { error, output } = await runThroughExpectingError(decoder, [tampered]);
      expectOspError(error, 400, 'BadDigest');
      // (Unsigned chunks stream through as they come, the changed byte too: only the end is held.)
      expect(output.length).toBeLessThan(data.length);
      expect(data.length - output.length).toBeLessThanOrEqual(MAX_HELD_BYTES);
    });
  }
});

/** botocore needs HTTPS to send aws-chunked (over HTTP it signs the payload instead). */
const haveBotocore = spawnSync('python3', ['-c', 'import botocore'], { stdio: 'ignore' }).status === 0 && spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

(haveBotocore ? describe : describe.skip)('botocore put_object over HTTPS (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof captureServer>>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osp-botocore-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], {
      stdio: 'ignore',
    });
    if (made.status !== 0) throw new Error('openssl could not make a certificate');
    const { readFileSync } = await import('node:fs');
    server = await captureServer((h) => https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, h));
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seekable and unseekable bodies decode, and the CRC32 trailer verifies', async () => {
    const script = `
import io, sys, warnings
warnings.filterwarnings('ignore')
import urllib3; urllib3.disable_warnings()
import botocore.session
from botocore.config import Config
c = botocore.session.get_session().create_client('s3', region_name='us-east-1', endpoint_url=sys.argv[1], verify=False,
    aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='SECRETEXAMPLE', config=Config(s3={'addressing_style': 'path'}))
class Unseekable(io.RawIOBase):
    def __init__(self, data): self.b = io.BytesIO(data)
    def readable(self): return True
    def read(self, n=-1): return self.b.read(n)
    def seekable(self): return False
data = bytes((i * 7 + 3) % 251 for i in range(200003))
c.put_object(Bucket='bucket', Key='seekable', Body=io.BytesIO(data))
c.put_object(Bucket='bucket', Key='unseekable', Body=Unseekable(data))
`;
    const child = spawn('python3', ['-c', script, server.url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

    const data = Buffer.from(Array.from({ length: 200003 }, (_, i) => (i * 7 + 3) % 251));
    expect(server.requests).toHaveLength(2);
    const [seekable, unseekable] = server.requests as [Captured, Captured];
    expect(seekable.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(seekable.headers['x-amz-decoded-content-length']).toBe('200003');
    // An unseekable body has no known length: no x-amz-decoded-content-length.
    expect(unseekable.headers['x-amz-decoded-content-length']).toBeUndefined();
    for (const c of [seekable, unseekable]) {
      expect(c.headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
      const { data: decoded, trailers } = await decodeCaptured(c);
      expect(decoded.equals(data)).toBe(true);
      expect(trailers.checksum?.value).toBe(expectedChecksum('crc32', data));
    }
  }, 60_000);
});
