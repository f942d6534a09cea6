import { OspError } from '../errors';

/**
 * Counter store used to limit how often a presigned URL may be used.
 *
 * Every method is async and every mutation is atomic per key, so that a shared implementation
 * (e.g. Redis: `INCR` + `PEXPIREAT key ms NX` in one MULTI/Lua script; `DECR` guarded at 0) can
 * replace the in-memory one without changing callers. Keys are opaque strings chosen by the caller
 * (e.g. a hash of the presigned URL's signature); implementations must not log them.
 */
export interface UsageCounterStore {
  /**
   * Atomically increment the counter for `key` and return the new value; the entry expires at
   * `expiresAtMs` (set on first increment, not extended). A store that rejects must not have
   * counted the use: a use is counted only when it is granted.
   */
  increment(key: string, expiresAtMs: number, options?: UsageIncrementOptions): Promise<number>;
  /** Undo one increment (e.g. the backend failed), never below 0. */
  decrement(key: string): Promise<void>;
  get(key: string): Promise<number>;
  close?(): Promise<void>;
}

/** What a store may know about the use it counts. */
export interface UsageIncrementOptions {
  /**
   * Who presigned the URL (the frontend access key id). A store of bounded capacity gives each
   * owner a share of it, so that one key's URLs cannot take the room of another's.
   */
  owner?: string;
}

/**
 * The 503 SlowDown a bounded store answers for a NEW URL of an owner that already holds its whole
 * share of the store. The owner's existing counters stay (evicting one would let its URL be used
 * again); other owners are not affected.
 */
export class UsageShareExhaustedError extends OspError {
  constructor(
    /** The owner (access key id) at its share. */
    readonly owner: string,
    /** The share, in entries. */
    readonly share: number,
  ) {
    super(503, 'SlowDown', 'Too many presigned URLs of this access key are being tracked; try again later');
  }
}
