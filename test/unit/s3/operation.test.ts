import { deriveS3Operation } from '../../../lib/s3/operation';
import { parseQuery } from '../../../lib/s3/query';

const op = (method: string, bucket: string | undefined, hasKey: boolean, query = '', headers: Record<string, string> = {}) =>
  deriveS3Operation(method, bucket, hasKey, new Set(parseQuery(query).map((p) => p.name)), headers);

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
  it('classifies from the decoded names: %-encoded sub-resources are no disguise (issue [9])', () => {
    expect(op('POST', 'b', false, '%64elete')).toBe('DeleteObjects');
    expect(op('PUT', 'b', true, '%74agging')).toBe('PutObjectTagging');
    expect(op('PUT', 'b', true, '%61cl')).toBe('PutObjectAcl');
  });
  // Each of these once passed as the plain, less privileged operation (or could have).
  it.each([
    ['POST', 'b', false, 'deletex'],
    ['GET', 'b', true, 'torrent'],
    ['PUT', 'b', true, 'Tagging'],
    ['PUT', 'b', false, 'uploads'],
    ['GET', 'b', false, 'delete'],
    ['DELETE', 'b', true, 'restore'],
    ['PUT', 'b', true, 'acl&tagging'],
    ['PUT', 'b', true, 'partNumber=1&uploadId=x&tagging'],
    ['POST', 'b', true, 'uploads&select'],
    ['GET', undefined, false, 'foo'],
    ['PATCH', 'b', true, ''],
  ])('conservative: %s bucket=%s key=%s ?%s → Unknown', (method, bucket, hasKey, query) => {
    expect(op(method, bucket, hasKey as boolean, query)).toBe('Unknown');
  });
  it('refining parameters keep the operation', () => {
    expect(op('GET', 'b', true, 'versionId=1&response-content-type=a&x-id=GetObject&partNumber=2')).toBe('GetObject');
    expect(op('GET', 'b', false, 'list-type=2&prefix=a&delimiter=%2F&max-keys=2&continuation-token=x&start-after=a&fetch-owner=true&encoding-type=url')).toBe('ListObjectsV2');
    expect(
      op('PUT', 'b', true, 'X-Amz-Algorithm=x&X-Amz-Credential=c&X-Amz-Date=d&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=s&x-amz-acl=private&x-amz-checksum-crc32=AAAAAA%3D%3D'),
    ).toBe('PutObject');
    expect(op('GET', 'b', true, 'AWSAccessKeyId=a&Expires=1&Signature=s')).toBe('GetObject');
  });
});
