/**
 * The PutObject the proxy sends for a browser POST upload: which form fields become which request
 * headers, and whether the backend takes a body without Content-Length. Pure.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html (request elements)
 */
import { OspError } from '../../errors';
import type { BackendProfileOption } from '../../backends/profiles';

/** Fields that are standard headers of the stored object. */
const OBJECT_HEADER_FIELDS = new Set(['cache-control', 'content-type', 'content-disposition', 'content-encoding', 'content-language', 'expires']);

/**
 * `x-amz-*` fields forwarded as headers. An allowlist, not "every x-amz-*": a form field such as
 * `x-amz-copy-source` would otherwise turn the upload into a server-side copy.
 */
const FORWARDED_AMZ_PREFIXES = ['x-amz-meta-', 'x-amz-server-side-encryption', 'x-amz-checksum-', 'x-amz-object-lock-', 'x-amz-grant-'];
const FORWARDED_AMZ_FIELDS = new Set(['x-amz-storage-class', 'x-amz-website-redirect-location', 'x-amz-acl', 'x-amz-tagging']);

/** Header values must be printable ASCII (Node refuses others; S3 metadata is ASCII). */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function decodeXmlText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/**
 * The `tagging` form field (`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>…`) as the
 * `x-amz-tagging` header value (`k=v&…`, URL-encoded).
 *
 * @throws OspError 400 MalformedXML.
 */
export function taggingXmlToHeader(xml: string): string {
  const malformed = () => new OspError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  const body = /^\s*(?:<\?xml[^>]*\?>\s*)?<Tagging(?:\s[^>]*)?>\s*<TagSet>([\s\S]*)<\/TagSet>\s*<\/Tagging>\s*$/.exec(xml);
  if (!body) throw malformed();
  const pairs: string[] = [];
  let rest = (body[1] as string).trim();
  const tag = /^<Tag>\s*<Key>([^<]*)<\/Key>\s*<Value>([^<]*)<\/Value>\s*<\/Tag>\s*/;
  while (rest.length > 0) {
    const m = tag.exec(rest);
    if (!m) throw malformed();
    pairs.push(`${encodeURIComponent(decodeXmlText(m[1] as string))}=${encodeURIComponent(decodeXmlText(m[2] as string))}`);
    rest = rest.slice(m[0].length);
  }
  return pairs.join('&');
}

/**
 * Headers of the upstream PutObject from the form fields (lowercase names): object headers,
 * `acl` → `x-amz-acl`, `tagging` → `x-amz-tagging`, metadata, SSE, storage class, checksums,
 * object lock. The file part's own Content-Type is not used: S3 and RGW store
 * `binary/octet-stream` unless the form has a `Content-Type` field.
 *
 * @throws OspError 400 InvalidArgument for a value that cannot be a header (control or non-ASCII characters).
 */
export function buildUpstreamHeaders(fields: ReadonlyMap<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    let header: string | undefined;
    if (OBJECT_HEADER_FIELDS.has(name)) header = name;
    else if (name === 'acl') header = 'x-amz-acl';
    else if (name === 'tagging') header = 'x-amz-tagging';
    else if (FORWARDED_AMZ_FIELDS.has(name) || FORWARDED_AMZ_PREFIXES.some((p) => name.startsWith(p))) header = name;
    if (header === undefined) continue;
    const v = header === 'x-amz-tagging' && name === 'tagging' ? taggingXmlToHeader(value) : value;
    if (!HEADER_VALUE.test(v) || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header)) {
      throw new OspError(400, 'InvalidArgument', `The value of form field ${name} cannot be sent as a header (printable ASCII only).`, { ArgumentName: name });
    }
    headers[header] = v;
  }
  return headers;
}

/** Backend presets measured to accept a PutObject with `Transfer-Encoding: chunked` and no Content-Length. */
const STREAMS_WITHOUT_LENGTH = new Set(['swift', 'moto']);

/**
 * Whether the backend takes the file as a chunked body of unknown length. Ceph RGW 16 answers 411
 * MissingContentLength (measured) and AWS S3 requires a length too: for them, and for unknown
 * backends, the proxy spools the file to a temporary file first to learn its length.
 */
export function streamsWithoutLength(profile: BackendProfileOption | undefined): boolean {
  const preset = typeof profile === 'string' ? profile : profile?.preset;
  return preset !== undefined && STREAMS_WITHOUT_LENGTH.has(preset);
}
