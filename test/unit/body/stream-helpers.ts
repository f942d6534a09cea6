/** Helpers for the body-stream tests: feeding a transform with given splits and collecting its output. */
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OspError } from '../../../lib/errors';
import { MAX_HELD_BYTES } from '../../../lib/body/tail-hold';

/** `data` cut into pieces of `size` bytes (the last may be shorter); `size` 0 means one piece. */
export function split(data: Buffer, size: number): Buffer[] {
  if (size <= 0 || size >= data.length) return [data];
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** `data` cut at pseudo-random places (deterministic for a seed), pieces of 1 to `max` bytes. */
export function randomSplit(data: Buffer, seed: number, max = 5000): Buffer[] {
  const out: Buffer[] = [];
  let x = seed >>> 0 || 1;
  let i = 0;
  while (i < data.length) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const n = 1 + ((x >>> 0) % max);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Pipes `pieces` through `transform` and resolves with everything it output. */
export async function runThrough(transform: Transform, pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces, { objectMode: false }),
    transform,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

/**
 * Pipes `pieces` through `transform` and resolves with the error it failed with and the bytes it
 * output before failing (to check that nothing unverified got out).
 */
export async function runThroughExpectingError(transform: Transform, pieces: Buffer[]): Promise<{ error: unknown; output: Buffer }> {
  const out: Buffer[] = [];
  try {
    await pipeline(
      Readable.from(pieces, { objectMode: false }),
      transform,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
  } catch (error) {
    return { error, output: Buffer.concat(out) };
  }
  throw new Error(`expected the stream to fail; it produced ${Buffer.concat(out).length} bytes`);
}

/** Asserts `error` is an OspError with the given status and S3 code. */
export function expectOspError(error: unknown, status: number, s3Code: string): void {
  expect(error).toBeInstanceOf(OspError);
  const e = error as OspError;
  expect({ status: e.status, s3Code: e.s3Code, message: e.message }).toEqual(expect.objectContaining({ status, s3Code }));
}

/** Deterministic pseudo-random bytes. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Checks what a verifying stream let out before it failed: a strict prefix of `full`, with between
 * 1 and `MAX_HELD_BYTES` bytes held back (see lib/body/tail-hold.ts), so the backend never got the
 * whole body.
 */
export function expectHeldBack(output: Buffer, full: Buffer): void {
  expect(output.length).toBeLessThan(full.length);
  expect(full.length - output.length).toBeLessThanOrEqual(MAX_HELD_BYTES);
  expect(output.equals(full.subarray(0, output.length))).toBe(true);
}
