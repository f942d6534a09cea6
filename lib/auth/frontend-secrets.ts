/**
 * Finds the secret of a frontend access key: the static keystore first (synchronous, no promise on
 * the hot path), then `hmacFetcher`, whose answers are cached — found secrets for `hmacCacheTtl`,
 * unknown keys briefly for `hmacNegativeCacheTtl` — never forever, so revoked keys stop working.
 */
import type { ResolvedOptions } from '../options';
import { createTtlCache } from '../cache/ttl-cache';
import { OspError } from '../errors';

export interface FrontendSecrets {
  /** The secret from the static keystore, or undefined when the key is not there. */
  fromKeystore(accessKey: string): string | undefined;
  /** The secret from `hmacFetcher` (cached), or null when the key is unknown. */
  fetch(accessKey: string): Promise<string | null>;
  /** Forget a cached answer (key revoked or rotated). */
  forget(accessKey: string): void;
}

const MISSING = '';

export function createFrontendSecrets(o: ResolvedOptions): FrontendSecrets {
  const cache = createTtlCache<string>({ maxEntries: 100_000 });
  const fetcher = o.hmacFetcher;
  return {
    fromKeystore: (accessKey) => o.hmacKeystore.get(accessKey)?.secretKey,
    async fetch(accessKey) {
      if (!fetcher) return null;
      const cached = cache.get(accessKey);
      if (cached !== undefined) return cached === MISSING ? null : cached;
      let secret: string | null | undefined;
      try {
        secret = await fetcher(accessKey);
      } catch (cause) {
        // Fail closed, but as a server error: the key may well be valid.
        throw new OspError(503, 'ServiceUnavailable', 'The credential lookup failed; please retry.', {}, { cause });
      }
      if (typeof secret === 'string' && secret.length > 0) {
        cache.set(accessKey, secret, o.hmacCacheTtl);
        return secret;
      }
      cache.set(accessKey, MISSING, o.hmacNegativeCacheTtl);
      return null;
    },
    forget: (accessKey) => cache.delete(accessKey),
  };
}
