/**
 * The keys of a DeleteObjects request body (`<Delete><Object><Key>…</Key><VersionId>…</VersionId></Object>…</Delete>`),
 * read to authorize each key. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 *
 * The body is small (at most 1000 keys) and produced by SDKs; this reader accepts the plain form
 * they send (elements, character and entity references) and refuses anything it cannot read with
 * certainty (CDATA, comments, processing instructions inside the document, DTDs) as MalformedXML:
 * a key it misread would be authorized as another key.
 */
import { OspError } from '../errors';

export interface DeleteObjectsEntry {
  key: string;
  versionId?: string;
}

const malformed = (why: string) => new OspError(400, 'MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema (${why}).`);

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);?/g, (whole: string, ref: string) => {
    if (!whole.endsWith(';')) throw malformed('an entity reference without ";"');
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    const v = ENTITIES[ref];
    if (v === undefined) throw malformed(`unknown entity &${ref};`);
    return v;
  });
}

/** Reads the keys (and version ids) of a DeleteObjects body. @throws OspError 400 MalformedXML. */
export function parseDeleteObjectsKeys(body: string): DeleteObjectsEntry[] {
  let xml = body.replace(/^\uFEFF/, '').trim();
  const decl = /^<\?xml[^?]*\?>/.exec(xml);
  if (decl) xml = xml.slice(decl[0].length).trim();
  if (/<!|<\?/.test(xml)) throw malformed('CDATA, comments, DTDs and processing instructions are not accepted here');
  const root = /^<(?:[A-Za-z_][\w.-]*:)?Delete(?:\s[^>]*)?>([\s\S]*)<\/(?:[A-Za-z_][\w.-]*:)?Delete>$/.exec(xml);
  if (!root) throw malformed('the root element must be Delete');
  const entries: DeleteObjectsEntry[] = [];
  const inner = root[1]!;
  // Elements directly in <Delete>: Quiet and Object; anything else is refused.
  const child = /\s*<((?:[A-Za-z_][\w.-]*:)?([A-Za-z]+))(?:\s[^>]*)?>([\s\S]*?)<\/\1>\s*/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = child.exec(inner)) !== null) {
    consumed = child.lastIndex;
    const [, , name, content] = m;
    if (name === 'Quiet') continue;
    if (name !== 'Object') throw malformed(`unexpected element ${name}`);
    const entry: Partial<DeleteObjectsEntry> = {};
    const field = /\s*<((?:[A-Za-z_][\w.-]*:)?([A-Za-z]+))(?:\s[^>]*)?>([^<]*)<\/\1>\s*/gy;
    let f: RegExpExecArray | null;
    let used = 0;
    while ((f = field.exec(content!)) !== null) {
      used = field.lastIndex;
      const [, , fname, text] = f;
      if (fname === 'Key') {
        if (entry.key !== undefined) throw malformed('an Object with two Keys');
        entry.key = decodeText(text!);
      } else if (fname === 'VersionId') entry.versionId = decodeText(text!);
      else if (fname !== 'ETag' && fname !== 'LastModifiedTime' && fname !== 'Size') throw malformed(`unexpected element ${fname} in Object`);
    }
    if (used !== content!.length || entry.key === undefined) throw malformed('an Object needs one Key');
    entries.push(entry as DeleteObjectsEntry);
  }
  if (consumed !== inner.length && inner.trim() !== '') throw malformed('unreadable content in Delete');
  if (entries.length === 0) throw malformed('no Object to delete');
  return entries;
}
