/**
 * Per bucket + object path request counting (`OSP_ENABLE_REQUEST_COUNTING=true`), bounded: at most
 * `maxEntries` distinct paths are tracked; requests for further paths are counted under one
 * overflow key, so memory stays fixed whatever clients send. Only paths are recorded, never query
 * strings (presigned URL signatures live there).
 */

/** Key under which requests for paths beyond the cap are counted. */
export const OVERFLOW_KEY = '(other)';

export interface RequestCounter {
  /** Counts one request for `bucket` + `rawKey` (percent-encoded key as received; undefined: bucket level). */
  increment(bucket: string | undefined, rawKey: string | undefined): void;
  /** Current counts, path → count. */
  snapshot(): Record<string, number>;
  /** Number of tracked paths (the overflow key excluded). */
  size(): number;
  reset(): void;
}

export function requestCountKey(bucket: string | undefined, rawKey: string | undefined): string {
  if (bucket === undefined) return '/';
  return rawKey === undefined || rawKey === '' ? `/${bucket}` : `/${bucket}/${rawKey}`;
}

export function createRequestCounter(options: { maxEntries?: number } = {}): RequestCounter {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const counts = new Map<string, number>();
  let overflow = 0;
  return {
    increment(bucket, rawKey) {
      const key = requestCountKey(bucket, rawKey);
      const current = counts.get(key);
      if (current !== undefined) counts.set(key, current + 1);
      else if (counts.size < maxEntries) counts.set(key, 1);
      else overflow++;
    },
    snapshot() {
      const out: Record<string, number> = Object.create(null);
      for (const [k, v] of counts) out[k] = v;
      if (overflow > 0) out[OVERFLOW_KEY] = overflow;
      return { ...out };
    },
    size: () => counts.size,
    reset() {
      counts.clear();
      overflow = 0;
    },
  };
}

/** Adds several snapshots (one per worker) into one. */
export function mergeRequestCounts(snapshots: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of snapshots) for (const [k, v] of Object.entries(s)) out[k] = (out[k] ?? 0) + v;
  return out;
}
