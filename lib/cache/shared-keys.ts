/**
 * Keys of cached values in the shared store. Identities and bucket names are hex-encoded, so keys
 * hold only `[0-9a-f:]` and invalidation patterns (`*`) cannot be confused by user data.
 */
import { createHash } from 'node:crypto';

const hex = (s: string | null): string => (s === null ? '-' : Buffer.from(s, 'utf8').toString('hex'));

/** A cached `hmacFetcher` answer. */
export const secretKeyOf = (accessKey: string): string => `sec:${hex(accessKey)}`;

/** A cached authorization decision: identity and bucket in clear (hex) for invalidation, the rest hashed. */
export function decisionKeyOf(identity: string | null, bucket: string, operation: string, method: string, rawKey: string | undefined): string {
  const rest = createHash('sha256')
    .update(`${operation}\u0000${method}\u0000${rawKey ?? ''}`)
    .digest('hex');
  return `dec:${hex(identity)}:${hex(bucket)}:${rest}`;
}

/** Pattern of every cached decision about this identity. */
export const decisionsOfIdentity = (identity: string): string => `dec:${hex(identity)}:*`;
/** Pattern of every cached decision about this bucket. */
export const decisionsOfBucket = (bucket: string): string => `dec:*:${hex(bucket)}:*`;
