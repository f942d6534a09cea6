/**
 * The static `buckets` map with patterns: exact names, prefix patterns (`acme-*`) and the
 * catch-all `*`. The most specific entry wins: exact, then the longest prefix, then `*`.
 */

/** True when `name` is a pattern key (ends with `*`). */
export function isBucketPattern(key: string): boolean {
  return key.endsWith('*');
}

/** Whether a bucket name matches a key: equal to an exact key, or starting with a pattern's prefix. */
export function matchesBucketKey(name: string, key: string): boolean {
  return isBucketPattern(key) ? name.startsWith(key.slice(0, -1)) : name === key;
}

/** Checks a key's form; returns an error text, or undefined when it is valid. */
export function bucketKeyProblem(key: string): string | undefined {
  if (key === '') return 'bucket names must be non-empty';
  if (key.includes('/')) return 'bucket names must not contain "/"';
  const star = key.indexOf('*');
  if (star !== -1 && star !== key.length - 1) {
    return 'a pattern may only have one "*", at the end (exact name, prefix pattern such as "acme-*", or "*")';
  }
  return undefined;
}

export interface BucketTableEntry<C> {
  /** The key as configured (`photos`, `acme-*`, `*`). */
  readonly key: string;
  readonly config: C;
}

/** Lookup structure over the configured keys. */
export interface BucketTable<C> {
  /** The most specific entry for a client bucket name, or undefined. */
  lookup(name: string): BucketTableEntry<C> | undefined;
  /** Exact (non-pattern) entries. */
  readonly exact: ReadonlyMap<string, C>;
  /** Pattern entries, most specific (longest prefix) first, `*` last. */
  readonly patterns: readonly BucketTableEntry<C>[];
}

export function createBucketTable<C>(entries: Iterable<[string, C]>): BucketTable<C> {
  const exact = new Map<string, C>();
  const patterns: BucketTableEntry<C>[] = [];
  for (const [key, config] of entries) {
    if (isBucketPattern(key)) patterns.push({ key, config });
    else exact.set(key, config);
  }
  patterns.sort((a, b) => b.key.length - a.key.length);
  return {
    exact,
    patterns,
    lookup(name) {
      const config = exact.get(name);
      if (config !== undefined) return { key: name, config };
      for (const p of patterns) if (matchesBucketKey(name, p.key)) return p;
      return undefined;
    },
  };
}
