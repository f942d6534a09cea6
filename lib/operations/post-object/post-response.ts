/**
 * The answer to a successful browser POST upload, as S3 gives it. Pure.
 *
 * - `success_action_redirect` (or the older `redirect`) with a valid http(s) URL: 303 to it with
 *   `bucket`, `key` and `etag` added to its query;
 * - else `success_action_status` 200 (empty), 201 (PostResponse XML) or 204 (default, empty).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */

export interface PostSuccess {
  status: 200 | 201 | 204 | 303;
  headers: Record<string, string>;
  body: string;
}

/** The object's URL as the client addressed the proxy. */
export interface PostSuccessInput {
  fields: ReadonlyMap<string, string>;
  bucket: string;
  key: string;
  /** Quoted ETag from the backend, if it sent one. */
  etag: string | undefined;
  location: string;
}

/** Escapes element text; quotes stay literal, as in S3's `<ETag>"…"</ETag>`. */
function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function redirectTarget(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined; // S3 ignores an invalid redirect and answers with the status instead
  }
}

export function buildPostSuccess(input: PostSuccessInput): PostSuccess {
  const { fields, bucket, key, location } = input;
  const etag = input.etag ?? '';
  const headers: Record<string, string> = { Location: location };
  if (etag) headers.ETag = etag;
  const redirect = redirectTarget(fields.get('success_action_redirect') ?? fields.get('redirect'));
  if (redirect) {
    redirect.searchParams.append('bucket', bucket);
    redirect.searchParams.append('key', key);
    redirect.searchParams.append('etag', etag);
    return { status: 303, headers: { ...headers, Location: redirect.toString() }, body: '' };
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>' +
      `<Location>${escapeText(location)}</Location><Bucket>${escapeText(bucket)}</Bucket><Key>${escapeText(key)}</Key><ETag>${escapeText(etag)}</ETag>` +
      '</PostResponse>';
    return { status: 201, headers: { ...headers, 'Content-Type': 'application/xml' }, body };
  }
  return { status: status === '200' ? 200 : 204, headers, body: '' };
}
