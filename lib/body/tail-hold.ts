/**
 * Holding back the last byte of a verified stream.
 *
 * A streaming verifier only knows whether the body is good after the last byte went through it.
 * If it forwarded every byte at once, the backend would already hold a complete body (its
 * `Content-Length` satisfied) by the time the verdict is known, and could store it. So the
 * verifiers here always keep the most recent byte back and release it only after the final check
 * passed: on failure the stream errors instead, the caller destroys the upstream request, and the
 * backend sees a body one byte short (or a chunked body without its terminating chunk) and drops
 * the upload. The byte is copied, so holding it never pins a large buffer.
 *
 * (A zero-length body has nothing to hold back; callers must not send a `Content-Length: 0`
 * upstream request before its verification passed.)
 */

/** Forwards buffers while always keeping the last byte back until {@link TailHold.release}. */
export class TailHold {
  private tail: Buffer | null = null;

  /** @param push - where released bytes go (typically `Transform.prototype.push`, bound). */
  constructor(private readonly push: (data: Buffer) => void) {}

  /** Forwards all of `data` but its last byte (and the previously held byte). */
  offer(data: Buffer): void {
    if (data.length === 0) return;
    if (this.tail !== null) this.push(this.tail);
    if (data.length > 1) this.push(data.subarray(0, data.length - 1));
    this.tail = Buffer.from(data.subarray(data.length - 1));
  }

  /** Forwards the held byte, if any. */
  release(): void {
    if (this.tail !== null) this.push(this.tail);
    this.tail = null;
  }
}
