/**
 * Table-driven CRC implementations used for S3 flexible checksums: CRC32 (IEEE), CRC32C
 * (Castagnoli) and CRC64NVME. All three are "reflected" CRCs with init and xorout all ones.
 *
 * CRC32 uses Node's native `zlib.crc32` when present (Node >= 20.15 / 22.2) and falls back to
 * JavaScript otherwise. Node has no native CRC32C, so CRC32C is slicing-by-16 in JavaScript (one
 * flat table of 16 x 256 entries, 16 input bytes per step read as four 32-bit words); CRC64NVME is
 * slicing-by-8 (8 tables of 256 entries). Both are several times faster than the classic
 * byte-at-a-time loop.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 * @see https://reveng.sourceforge.io/crc-catalogue/all.htm (CRC-32/ISO-HDLC, CRC-32/ISCSI, CRC-64/NVME)
 */
import * as zlib from 'node:zlib';

/** Reflected CRC-32 polynomial (IEEE 802.3, 0x04c11db7 bit-reversed). */
const CRC32_POLY_REFLECTED = 0xedb88320;
/** Reflected CRC-32C polynomial (Castagnoli, 0x1edc6f41 bit-reversed). */
const CRC32C_POLY_REFLECTED = 0x82f63b78;
/** Reflected CRC-64/NVME polynomial (0xad93d23594c93659 bit-reversed), as two 32-bit halves. */
const CRC64_NVME_POLY_REFLECTED_HI = 0x9a6c9329;
const CRC64_NVME_POLY_REFLECTED_LO = 0xac4bc9b5;

/** Bytes consumed per step of the 32-bit CRCs (slicing-by-16). */
const SLICES = 16;

/**
 * Slicing-by-16 table of a reflected 32-bit CRC, flattened: entry `k * 256 + b` is the CRC of byte
 * b followed by k zero bytes. One flat `Int32Array` (not 16 separate tables) keeps every lookup a
 * small-integer load that V8 does not box.
 */
function makeCrc32Table(polyReflected: number): Int32Array {
  const table = new Int32Array(SLICES * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ polyReflected : c >>> 1;
    table[i] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = table[(k - 1) * 256 + i]!;
      table[k * 256 + i] = (prev >>> 8) ^ table[prev & 0xff]!;
    }
  }
  return table;
}

/** Whether this machine stores integers little-endian (then input words can be read as Int32). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Updates a running (pre-inverted) reflected 32-bit CRC with `data`, 16 bytes per step. The bulk is
 * read as 32-bit words through an `Int32Array` view (4-byte aligned; the unaligned head and the
 * tail go byte by byte), a load per 4 bytes instead of four byte loads and shifts: about 2.8x the
 * speed of the byte-wise slicing-by-8 this replaced (1.8 GiB/s against 0.65 for CRC32C, Node 24).
 */
function updateCrc32Sliced(crc: number, data: Uint8Array, t: Int32Array): number {
  let c = crc | 0;
  let i = 0;
  const len = data.length;
  if (LITTLE_ENDIAN) {
    while (i < len && ((data.byteOffset + i) & 3) !== 0) c = (c >>> 8) ^ t[(c ^ data[i++]!) & 0xff]!;
    const words = ((len - i) >>> 4) * 4;
    if (words > 0) {
      const w = new Int32Array(data.buffer, data.byteOffset + i, words);
      for (let j = 0; j < words; j += 4) {
        const a = c ^ w[j]!;
        const b = w[j + 1]!;
        const d = w[j + 2]!;
        const e = w[j + 3]!;
        c =
          t[3840 + (a & 0xff)]! ^
          t[3584 + ((a >>> 8) & 0xff)]! ^
          t[3328 + ((a >>> 16) & 0xff)]! ^
          t[3072 + (a >>> 24)]! ^
          t[2816 + (b & 0xff)]! ^
          t[2560 + ((b >>> 8) & 0xff)]! ^
          t[2304 + ((b >>> 16) & 0xff)]! ^
          t[2048 + (b >>> 24)]! ^
          t[1792 + (d & 0xff)]! ^
          t[1536 + ((d >>> 8) & 0xff)]! ^
          t[1280 + ((d >>> 16) & 0xff)]! ^
          t[1024 + (d >>> 24)]! ^
          t[768 + (e & 0xff)]! ^
          t[512 + ((e >>> 8) & 0xff)]! ^
          t[256 + ((e >>> 16) & 0xff)]! ^
          t[e >>> 24]!;
      }
      i += words * 4;
    }
  }
  while (i < len) c = (c >>> 8) ^ t[(c ^ data[i++]!) & 0xff]!;
  return c >>> 0;
}

let crc32Table: Int32Array | undefined;
let crc32cTable: Int32Array | undefined;

/** Native zlib.crc32 (Node >= 20.15 / 22.2); `undefined` on older runtimes. */
const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib as unknown as { crc32: (data: Uint8Array, value?: number) => number }).crc32 : undefined;

/**
 * CRC-32 (IEEE, the zlib/PNG one). `crc` is the value returned for the previous part (0 to start);
 * the return value is the finished CRC of everything so far, so calls can be chained.
 * Check value: `crc32(Buffer.from('123456789')) === 0xcbf43926`.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(data, crc) >>> 0;
  crc32Table ??= makeCrc32Table(CRC32_POLY_REFLECTED);
  return (updateCrc32Sliced(~crc >>> 0, data, crc32Table) ^ 0xffffffff) >>> 0;
}

/** Pure-JavaScript CRC-32 (the fallback of {@link crc32}); exported for tests. */
export function crc32Js(data: Uint8Array, crc = 0): number {
  crc32Table ??= makeCrc32Table(CRC32_POLY_REFLECTED);
  return (updateCrc32Sliced(~crc >>> 0, data, crc32Table) ^ 0xffffffff) >>> 0;
}

/**
 * CRC-32C (Castagnoli, iSCSI), chained like {@link crc32}.
 * Check value: `crc32c(Buffer.from('123456789')) === 0xe3069283`.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  crc32cTable ??= makeCrc32Table(CRC32C_POLY_REFLECTED);
  return (updateCrc32Sliced(~crc >>> 0, data, crc32cTable) ^ 0xffffffff) >>> 0;
}

/**
 * Slicing-by-8 tables for reflected CRC-64/NVME, each 64-bit entry stored as two 32-bit halves:
 * `hi[k][b]`, `lo[k][b]`.
 */
interface Crc64Tables {
  hi: Uint32Array[];
  lo: Uint32Array[];
}

let crc64Tables: Crc64Tables | undefined;

function makeCrc64NvmeTables(): Crc64Tables {
  const hi0 = new Uint32Array(256);
  const lo0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let j = 0; j < 8; j++) {
      const lsb = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (lsb) {
        h = (h ^ CRC64_NVME_POLY_REFLECTED_HI) >>> 0;
        l = (l ^ CRC64_NVME_POLY_REFLECTED_LO) >>> 0;
      }
    }
    hi0[i] = h;
    lo0[i] = l;
  }
  const hi = [hi0];
  const lo = [lo0];
  for (let k = 1; k < 8; k++) {
    const ph = hi[k - 1]!;
    const pl = lo[k - 1]!;
    const th = new Uint32Array(256);
    const tl = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      // next = (prev >> 8) ^ T0[prev & 0xff]
      const idx = pl[i]! & 0xff;
      th[i] = ((ph[i]! >>> 8) ^ hi0[idx]!) >>> 0;
      tl[i] = (((pl[i]! >>> 8) | (ph[i]! << 24)) ^ lo0[idx]!) >>> 0;
    }
    hi.push(th);
    lo.push(tl);
  }
  return { hi, lo };
}

/**
 * Incremental CRC-64/NVME (poly 0xad93d23594c93659, reflected, init and xorout all ones), the
 * `CRC64NVME` checksum of S3. Check value: CRC-64/NVME("123456789") = 0xae8b14860a799888.
 */
export class Crc64Nvme {
  /** Running (pre-inverted) CRC, high and low 32 bits. */
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  /** Adds `data` to the CRC. */
  update(data: Uint8Array): void {
    crc64Tables ??= makeCrc64NvmeTables();
    const { hi: H, lo: L } = crc64Tables;
    const [h0, h1, h2, h3, h4, h5, h6, h7] = H as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    const [l0, l1, l2, l3, l4, l5, l6, l7] = L as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    const len = data.length;
    const end8 = len - (len % 8);
    while (i < end8) {
      // XOR 8 little-endian input bytes into the 64-bit register, then look up each byte.
      const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const i0 = a & 0xff;
      const i1 = (a >>> 8) & 0xff;
      const i2 = (a >>> 16) & 0xff;
      const i3 = a >>> 24;
      const i4 = b & 0xff;
      const i5 = (b >>> 8) & 0xff;
      const i6 = (b >>> 16) & 0xff;
      const i7 = b >>> 24;
      hi = h7[i0]! ^ h6[i1]! ^ h5[i2]! ^ h4[i3]! ^ h3[i4]! ^ h2[i5]! ^ h1[i6]! ^ h0[i7]!;
      lo = l7[i0]! ^ l6[i1]! ^ l5[i2]! ^ l4[i3]! ^ l3[i4]! ^ l2[i5]! ^ l1[i6]! ^ l0[i7]!;
      i += 8;
    }
    while (i < len) {
      const idx = (lo ^ data[i++]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ l0[idx]!;
      hi = (hi >>> 8) ^ h0[idx]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** The CRC of everything added so far, as 8 big-endian bytes (the form S3 base64-encodes). */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}
