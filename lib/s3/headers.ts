/** Small readers of Node's lowercase request-header record. */
import type { IncomingHttpHeaders } from 'node:http';

/** The first value of a header (Node turns a few repeated headers into arrays). */
export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request carries a body (HTTP/1.1: Transfer-Encoding, or Content-Length > 0). */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}
