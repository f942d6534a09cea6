/**
 * Holding back the end of a verified stream.
 *
 * A streaming verifier only knows whether the body is good after the last byte went through it.
 * If it forwarded every byte at once, the backend would already hold a complete body (its
 * `Content-Length` satisfied) by the time the verdict is known, and could store it. So the
 * verifiers here always keep the most recent input buffer back and release it only after the final
 * check passed: on failure the stream errors instead, the caller destroys the upstream request, and
 * the backend sees a body at least one byte short (or a chunked body without its terminating
 * chunk) and drops the upload.
 *
 * Why a whole buffer and not just the last byte: holding one byte meant two pushes per input
 * buffer (the byte held from the previous one, then all but the last byte of this one), so the
 * upstream socket got a 1-byte write beside every data write. On a 256 MiB upload that was about a
 * fifth of the proxy's CPU for a verified body (issue [11]). Holding the buffer as it came is one
 * push per buffer and no copy. A buffer longer than {@link MAX_HELD_BYTES} (a large signed chunk
 * the decoder concatenated) is not pinned whole: all of it but its last byte goes on, and that byte
 * is copied.
 *
 * (A zero-length body has nothing to hold back; callers must not send a `Content-Length: 0`
 * upstream request before its verification passed.)
 */

/** The most a {@link TailHold} keeps back (a socket read is at most 64 KiB). */
export const MAX_HELD_BYTES = 64 * 1024;

/** Forwards buffers while always keeping the most recent one (or its last byte) back until {@link TailHold.release}. */
export class TailHold {
  private tail: Buffer | null = null;

  /** @param push - where released bytes go (typically `Transform.prototype.push`, bound). */
  constructor(private readonly push: (data: Buffer) => void) {}

  /** Forwards what was held and keeps `data` back (or only its last byte when it is large). */
  offer(data: Buffer): void {
    if (data.length === 0) return;
    if (this.tail !== null) this.push(this.tail);
    if (data.length <= MAX_HELD_BYTES) {
      this.tail = data;
      return;
    }
    this.push(data.subarray(0, data.length - 1));
    this.tail = Buffer.from(data.subarray(data.length - 1));
  }

  /** Forwards what is held, if anything. */
  release(): void {
    if (this.tail !== null) this.push(this.tail);
    this.tail = null;
  }
}
