/** The static policy of `hmacKeystore`: a key with a `buckets` list may use only those names or patterns. */
import type { ResolvedOptions } from '../options';
import { matchesBucketKey } from '../s3/bucket-table';

/** Whether the keystore lets `identity` use `bucket` (identities not in the keystore are not limited here). */
export function keystoreAllows(o: Pick<ResolvedOptions, 'hmacKeystore'>, identity: string | null, bucket: string): boolean {
  if (identity === null) return true;
  const entry = o.hmacKeystore.get(identity);
  return entry?.buckets === undefined || entry.buckets.some((key) => matchesBucketKey(bucket, key));
}
