/**
 * Raw HTTP for end-to-end tests: sends a URL with its path and query bytes untouched (no WHATWG URL
 * normalisation), so tests can reorder or re-encode a presigned query on purpose.
 */
import http from 'node:http';

/** What came back, with the S3 error fields parsed out of an XML body. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** `<Code>` of an S3 error body, if any. */
  code?: string;
  /** `<Message>` of an S3 error body, if any. */
  message?: string;
}

/** Sends `url` exactly as written (path and query bytes untouched). */
export function call(url: string, method = 'GET', headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const u = new URL(url);
  const rawPath = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts);
        const s = text.toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          code: /<Code>([^<]*)<\/Code>/.exec(s)?.[1],
          message: /<Message>([^<]*)<\/Message>/.exec(s)?.[1],
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
