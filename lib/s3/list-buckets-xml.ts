/**
 * ListBuckets response body.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
import { escapeXml } from './error-xml';

/**
 * Renders a ListAllMyBucketsResult for the given bucket names (sorted, as S3 does).
 *
 * @param creationDates - the backend's `CreationDate` per client-facing name; others get `creationDate`.
 * @param displayName - `Owner/DisplayName` (the backend's, when known); `owner` otherwise.
 */
export function renderListBucketsXml(buckets: readonly string[], owner: string, creationDate = new Date(0), creationDates?: ReadonlyMap<string, string>, displayName = owner): string {
  const date = creationDate.toISOString();
  const items = [...buckets]
    .sort()
    .map((name) => `<Bucket><Name>${escapeXml(name)}</Name><CreationDate>${escapeXml(creationDates?.get(name) ?? date)}</CreationDate></Bucket>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner><ID>${escapeXml(owner)}</ID><DisplayName>${escapeXml(displayName)}</DisplayName></Owner>` +
    `<Buckets>${items}</Buckets></ListAllMyBucketsResult>`
  );
}
