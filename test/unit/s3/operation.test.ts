import { deriveS3Operation, queryParamNames } from '../../../lib/s3/operation';

const op = (method: string, bucket: string | undefined, hasKey: boolean, query = '', headers: Record<string, string> = {}) =>
  deriveS3Operation(method, bucket, hasKey, queryParamNames(query), headers);

describe('deriveS3Operation', () => {
  it.each([
    ['GET', undefined, false, '', 'ListBuckets'],
    ['GET', 'b', false, 'list-type=2&prefix=a', 'ListObjectsV2'],
    ['GET', 'b', false, '', 'ListObjects'],
    ['PUT', 'b', false, '', 'CreateBucket'],
    ['DELETE', 'b', false, '', 'DeleteBucket'],
    ['HEAD', 'b', false, '', 'HeadBucket'],
    ['POST', 'b', false, 'delete', 'DeleteObjects'],
    ['GET', 'b', false, 'versions', 'ListObjectVersions'],
    ['GET', 'b', false, 'uploads', 'ListMultipartUploads'],
    ['GET', 'b', false, 'location', 'GetBucketLocation'],
    ['PUT', 'b', false, 'versioning', 'PutBucketVersioning'],
    ['GET', 'b', true, '', 'GetObject'],
    ['HEAD', 'b', true, '', 'HeadObject'],
    ['PUT', 'b', true, '', 'PutObject'],
    ['DELETE', 'b', true, '', 'DeleteObject'],
    ['POST', 'b', true, 'uploads', 'CreateMultipartUpload'],
    ['PUT', 'b', true, 'partNumber=1&uploadId=x', 'UploadPart'],
    ['POST', 'b', true, 'uploadId=x', 'CompleteMultipartUpload'],
    ['DELETE', 'b', true, 'uploadId=x', 'AbortMultipartUpload'],
    ['GET', 'b', true, 'uploadId=x', 'ListParts'],
    ['PUT', 'b', true, 'tagging', 'PutObjectTagging'],
    ['GET', 'b', true, 'tagging', 'GetObjectTagging'],
    ['GET', 'b', true, 'acl', 'GetObjectAcl'],
  ])('%s bucket=%s key=%s ?%s → %s', (method, bucket, hasKey, query, expected) => {
    expect(op(method, bucket, hasKey, query)).toBe(expected);
  });
  it('copy operations', () => {
    expect(op('PUT', 'b', true, '', { 'x-amz-copy-source': '/a/b' })).toBe('CopyObject');
    expect(op('PUT', 'b', true, 'uploadId=1&partNumber=2', { 'x-amz-copy-source': '/a/b' })).toBe('UploadPartCopy');
  });
});
