/**
 * Counter store used to limit how often a presigned URL may be used.
 *
 * Every method is async and every mutation is atomic per key, so that a shared implementation
 * (e.g. Redis: `INCR` + `PEXPIREAT key ms NX` in one MULTI/Lua script; `DECR` guarded at 0) can
 * replace the in-memory one without changing callers. Keys are opaque strings chosen by the caller
 * (e.g. a hash of the presigned URL's signature); implementations must not log them.
 */
export interface UsageCounterStore {
  /** Atomically increment the counter for `key` and return the new value; the entry expires at `expiresAtMs` (set on first increment, not extended). */
  increment(key: string, expiresAtMs: number): Promise<number>;
  /** Undo one increment (e.g. the backend failed), never below 0. */
  decrement(key: string): Promise<void>;
  get(key: string): Promise<number>;
  close?(): Promise<void>;
}
