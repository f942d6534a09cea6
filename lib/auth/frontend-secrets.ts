/**
 * Finds the secret of a frontend access key: the static keystore first (synchronous, no promise on
 * the hot path), then `hmacFetcher`, whose answers are cached — found secrets for `hmacCacheTtl`,
 * unknown keys briefly for `hmacNegativeCacheTtl` — never forever, so revoked keys stop working.
 *
 * With `sharedCache.frontendSecrets`, answers are also kept in the shared store (Redis), sealed
 * with AES-256-GCM (the store key as AAD) together with their expiry, so every instance serves a
 * key after one fetch. The shared store is best effort here: when it fails, the fetcher is asked.
 */
import type { HmacFetcherAnswer, ResolvedOptions } from '../options';
import type { KeyPolicy } from '../policy/key-policy';
import { compileKeyPolicy } from '../policy/key-policy';
import { PolicyError } from '../policy/errors';
import { createTtlCache } from '../cache/ttl-cache';
import { createSecretBox } from '../cache/secret-box';
import { secretKeyOf } from '../cache/shared-keys';
import { OspError } from '../errors';
import { withDeadline } from '../deadline';

/** A key found by `hmacFetcher`: its secret and, when the answer had `policies`, their compiled form. */
export interface FetchedKey {
  readonly secret: string;
  readonly policy?: KeyPolicy;
}

export interface FrontendSecrets {
  /** The secret from the static keystore, or undefined when the key is not there. */
  fromKeystore(accessKey: string): string | undefined;
  /** The secret (and policies) from `hmacFetcher` (cached), or null when the key is unknown. */
  fetch(accessKey: string): Promise<FetchedKey | null>;
  /** Forget a cached answer in this process (key revoked or rotated). */
  forget(accessKey: string): void;
}

const MISSING: FetchedKey = Object.freeze({ secret: '' });

/**
 * Reads an `hmacFetcher` answer: a secret string, or `{ secretKey, policies?, tags? }`. Policies
 * are validated here (they could not be at startup); an invalid answer fails the request with 500
 * and is logged with the path of the fault, never the secret.
 */
function readAnswer(o: ResolvedOptions, accessKey: string, answer: string | HmacFetcherAnswer | null | undefined): FetchedKey {
  if (typeof answer === 'string') return answer.length > 0 ? { secret: answer } : MISSING;
  if (answer === null || answer === undefined) return MISSING;
  if (typeof answer !== 'object' || typeof answer.secretKey !== 'string' || answer.secretKey === '') {
    o.logger.error({ accessKey }, 'object-storage-proxy: hmacFetcher answered neither a secret string nor { secretKey, policies?, tags? }; request denied');
    throw new OspError(500, 'InternalError', 'The credential lookup returned an invalid answer.');
  }
  try {
    const policy = compileKeyPolicy(answer.policies, answer.tags, o.policies, 'hmacFetcher(accessKey)');
    return policy ? { secret: answer.secretKey, policy } : { secret: answer.secretKey };
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    o.logger.error({ accessKey, path: err.path, rule: err.rule }, 'object-storage-proxy: hmacFetcher answered an invalid policy; request denied');
    throw new OspError(500, 'InternalError', 'The credential lookup returned an invalid policy.');
  }
}

/**
 * Most access keys whose `hmacFetcher` answers are kept (found and unknown alike; the oldest go
 * first). Keys are client input: an attacker spraying random access keys must not grow memory.
 */
export const MAX_CACHED_FRONTEND_KEYS = 100_000;

export function createFrontendSecrets(o: ResolvedOptions): FrontendSecrets {
  const cache = createTtlCache<FetchedKey>({ maxEntries: MAX_CACHED_FRONTEND_KEYS });
  const fetcher = o.hmacFetcher;
  const store = o.sharedCacheSecrets && o.sharedCacheKey ? o.sharedStore : undefined;
  const box = store && o.sharedCacheKey ? createSecretBox(o.sharedCacheKey) : undefined;

  /** A shared answer (secret, or MISSING) with its remaining seconds, or undefined. */
  const readShared = async (accessKey: string): Promise<{ secret: string; ttl: number } | undefined> => {
    if (!store || !box) return undefined;
    const key = secretKeyOf(accessKey);
    let sealed: string | undefined;
    try {
      sealed = await store.getValue(key);
    } catch {
      return undefined; // logged and counted by the store; the fetcher answers instead
    }
    const plain = sealed === undefined ? undefined : box.open(sealed, key);
    if (plain === undefined) return undefined;
    const colon = plain.indexOf(':');
    const ttl = (Number(plain.slice(0, colon)) - Date.now()) / 1000;
    if (colon < 1 || !(ttl > 0)) return undefined;
    return { secret: plain.slice(colon + 1), ttl };
  };
  const writeShared = (accessKey: string, secret: string, ttlSeconds: number) => {
    if (!store || !box || ttlSeconds <= 0) return;
    const key = secretKeyOf(accessKey);
    const sealed = box.seal(`${Date.now() + ttlSeconds * 1000}:${secret}`, key);
    store.setValue(key, sealed, ttlSeconds).catch(() => {
      // best effort, see readShared
    });
  };

  return {
    fromKeystore: (accessKey) => o.hmacKeystore.get(accessKey)?.secretKey,
    async fetch(accessKey) {
      if (!fetcher) return null;
      const cached = cache.get(accessKey);
      if (cached !== undefined) return cached === MISSING ? null : cached;
      // Single flight: concurrent first requests of one key share one lookup (issue [9]). A lookup
      // that fails or times out is not kept: the next request asks the fetcher afresh.
      const secret = await cache.getOrLoad(
        accessKey,
        (value) => (value === MISSING ? o.hmacNegativeCacheTtl : o.hmacCacheTtl),
        async () => {
          const shared = await readShared(accessKey);
          if (shared) return shared.secret === '' ? MISSING : { secret: shared.secret };
          let answer: string | HmacFetcherAnswer | null | undefined;
          try {
            answer = await withDeadline(
              () => fetcher(accessKey),
              o.hmacFetcherTimeoutMs,
              () => new OspError(503, 'ServiceUnavailable', 'The credential lookup timed out; please retry.'),
            );
          } catch (cause) {
            if (cause instanceof OspError) throw cause;
            // Fail closed, but as a server error: the key may well be valid.
            throw new OspError(503, 'ServiceUnavailable', 'The credential lookup failed; please retry.', {}, { cause });
          }
          const found = readAnswer(o, accessKey, answer);
          // Keys with policies are cached in this process only: the shared entry holds a secret.
          if (!found.policy) writeShared(accessKey, found.secret, found === MISSING ? o.hmacNegativeCacheTtl : o.hmacCacheTtl);
          return found;
        },
      );
      return secret === MISSING ? null : secret;
    },
    forget: (accessKey) => cache.delete(accessKey),
  };
}
