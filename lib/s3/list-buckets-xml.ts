/**
 * ListBuckets response body.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
import { escapeXml } from './error-xml';

/** Renders a ListAllMyBucketsResult for the given bucket names (sorted, as S3 does). */
export function renderListBucketsXml(buckets: readonly string[], owner: string, creationDate = new Date(0)): string {
  const date = creationDate.toISOString();
  const items = [...buckets]
    .sort()
    .map((name) => `<Bucket><Name>${escapeXml(name)}</Name><CreationDate>${date}</CreationDate></Bucket>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner><ID>${escapeXml(owner)}</ID><DisplayName>${escapeXml(owner)}</DisplayName></Owner>` +
    `<Buckets>${items}</Buckets></ListAllMyBucketsResult>`
  );
}
