/**
 * Renders S3 error responses.
 * Format: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
 */

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for use in XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string);
}

export interface S3ErrorBody {
  code: string;
  message: string;
  /** The bucket or object the request was about, e.g. `/photos/cat.jpg`. */
  resource?: string;
  requestId: string;
  details?: Readonly<Record<string, string>>;
}

/** Builds the `<Error>` XML document S3 clients parse. */
export function renderS3ErrorXml(body: S3ErrorBody): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(body.code)}</Code><Message>${escapeXml(body.message)}</Message>`;
  if (body.details) {
    for (const [name, value] of Object.entries(body.details)) {
      // Element names come from our own code, never from the request.
      xml += `<${name}>${escapeXml(value)}</${name}>`;
    }
  }
  if (body.resource !== undefined) xml += `<Resource>${escapeXml(body.resource)}</Resource>`;
  xml += `<RequestId>${escapeXml(body.requestId)}</RequestId></Error>`;
  return xml;
}
