/**
 * Chooses the credentials the proxy uses towards a bucket's backend:
 * 1. HMAC keys in the bucket config; 2. an IBM API key in the config (→ IAM bearer token);
 * 3. `bucketCredsFetcher(token, bucket)`, cached per (token, bucket) for the bucket's ttl — one
 *    caller's backend identity is never served to another; 4. the `COS_API_KEY` environment
 *    variable; 5. none (the backend request is sent unsigned).
 */
import { createHash } from 'node:crypto';
import type { BackendCredentials } from '../context';
import { OspError } from '../errors';
import type { BackendHmacCredentials, BucketConfig, ResolvedOptions } from '../options';
import { createTtlCache } from '../cache/ttl-cache';
import { withDeadline } from '../deadline';
import { createIamTokenProvider, type IamTokenProvider } from './iam-token-provider';
import { attachBearerRenewal, createTokenClock } from './ibm-bearer';
import type { BackendAgent } from '../upstream/agent';

/** What a fetcher answered, before any IAM exchange. */
type StaticCredentials = { kind: 'hmac'; accessKeyId: string; secretKey: string; sessionToken?: string } | { kind: 'apiKey'; apiKey: string };

export interface BackendCredentialSource {
  resolve(token: string | null, bucket: string, config: Readonly<BucketConfig>): Promise<BackendCredentials>;
  /** The IAM provider, for dropping a token the backend rejected. */
  readonly iam: IamTokenProvider;
  /** Drop cached fetcher answers for a bucket (all callers). */
  invalidateBucket(bucket: string): void;
  /** Drop cached fetcher answers for one caller (all buckets). */
  invalidateIdentity(identity: string): void;
}

const badFetcherAnswer = () => new OspError(500, 'InternalError', 'bucketCredsFetcher returned no usable credentials (expected {accessKey, secretKey}, its JSON, or an API key string).');

/** Interprets a fetcher answer: an object or JSON `{accessKey, secretKey}`, or an API key string. */
export function parseFetchedCredentials(answer: unknown): StaticCredentials {
  let value = answer;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('{')) {
      try {
        value = JSON.parse(trimmed);
      } catch {
        throw badFetcherAnswer();
      }
    } else if (trimmed.length > 0) {
      return { kind: 'apiKey', apiKey: trimmed };
    } else {
      throw badFetcherAnswer();
    }
  }
  const creds = value as Partial<BackendHmacCredentials & { apiKey: string }> | null;
  if (creds && typeof creds.apiKey === 'string' && creds.apiKey) return { kind: 'apiKey', apiKey: creds.apiKey };
  if (creds && typeof creds.accessKey === 'string' && creds.accessKey && typeof creds.secretKey === 'string' && creds.secretKey) {
    return { kind: 'hmac', accessKeyId: creds.accessKey, secretKey: creds.secretKey, ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}) };
  }
  throw badFetcherAnswer();
}

/** One credentials object per static bucket entry, reused by every request. */
const staticCredentials = new WeakMap<object, BackendCredentials>();

/** The HMAC credentials written in a bucket entry, or undefined when it has none. */
export function staticHmacCredentials(config: Readonly<BucketConfig>): BackendCredentials | undefined {
  if (!config.accessKey || !config.secretKey) return undefined;
  let creds = staticCredentials.get(config);
  if (!creds) {
    creds = { kind: 'hmac', accessKeyId: config.accessKey, secretKey: config.secretKey, ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}) };
    staticCredentials.set(config, creds);
  }
  return creds;
}

function apiKeyHash(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}

/** @param iamAgent - the upstream module's IAM agent (lib/upstream/upstream.ts); default: one of the provider's own, with `o.verify`. */
export function createBackendCredentialSource(
  o: ResolvedOptions,
  env: NodeJS.ProcessEnv = process.env,
  onRefresh?: (outcome: 'ok' | 'error') => void,
  iamAgent?: BackendAgent,
): BackendCredentialSource {
  const fetched = createTtlCache<StaticCredentials>({ maxEntries: 100_000 });
  const iam = createIamTokenProvider({ iamEndpoint: o.iamEndpoint, tls: { rejectUnauthorized: o.verify }, onRefresh, ...(iamAgent ? { agent: iamAgent } : {}) });
  const fetcher = o.bucketCredsFetcher;

  const tokenClock = createTokenClock();

  const toBackend = async (c: StaticCredentials): Promise<BackendCredentials> => {
    if (c.kind === 'hmac') return c;
    const apiKey = c.apiKey;
    const hash = apiKeyHash(apiKey);
    const token = await iam.getToken(apiKey);
    tokenClock.observe(hash, token);
    // The key stays in this closure: req.osp only ever holds the token and the key's hash.
    return attachBearerRenewal(
      { kind: 'bearer', token, apiKeyHash: hash },
      {
        invalidate: (rejected) => iam.invalidate(apiKey, rejected),
        getToken: async () => {
          const fresh = await iam.getToken(apiKey);
          tokenClock.observe(hash, fresh);
          return fresh;
        },
        tokenAgeMs: (t) => tokenClock.ageMs(hash, t),
      },
    );
  };

  return {
    iam,
    invalidateBucket(bucket) {
      fetched.deleteWhere((k) => k.endsWith(`\u0000${bucket}`));
    },
    invalidateIdentity(identity) {
      fetched.deleteWhere((k) => k.startsWith(`${identity}\u0000`));
    },
    async resolve(token, bucket, config) {
      const fromConfig = staticHmacCredentials(config);
      if (fromConfig) return fromConfig;
      if (config.apiKey) return toBackend({ kind: 'apiKey', apiKey: config.apiKey });
      if (fetcher) {
        // Keyed by caller AND bucket: two users of one bucket may map to two backend identities.
        const key = `${token ?? ''}\u0000${bucket}`;
        const creds = await fetched.getOrLoad(key, config.ttl ?? 0, async () => {
          let answer: unknown;
          try {
            // A hung fetcher fails this lookup at the deadline; the failed lookup is not kept, so the
            // next request of this (token, bucket) calls the fetcher afresh (issue [9]).
            answer = await withDeadline(
              () => fetcher(token, bucket),
              o.bucketCredsFetcherTimeoutMs,
              () => new OspError(503, 'ServiceUnavailable', 'Looking up the backend credentials timed out; please retry.'),
            );
          } catch (cause) {
            if (cause instanceof OspError) throw cause;
            throw new OspError(503, 'ServiceUnavailable', 'Looking up the backend credentials failed; please retry.', {}, { cause });
          }
          return parseFetchedCredentials(answer);
        });
        return toBackend(creds);
      }
      if (env.COS_API_KEY) return toBackend({ kind: 'apiKey', apiKey: env.COS_API_KEY });
      return { kind: 'none' };
    },
  };
}
