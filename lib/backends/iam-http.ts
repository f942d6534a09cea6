/**
 * Private helper of the IAM token provider: one bounded HTTP(S) POST of a form body.
 *
 * - The whole exchange (connect, TLS, response headers and body) is bounded by `timeoutMs`.
 * - The response body is capped (a token response is a few KiB); a larger body is an error.
 * - No connection pooling (`agent: false`): exchanges are rare (one per key per token lifetime),
 *   and a pooled socket that IAM closed meanwhile would only add a spurious failure.
 * - Errors never contain the request body (which holds the API key).
 */
import http from 'node:http';
import https from 'node:https';

/** Maximum size of an IAM answer we are willing to read. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface IamHttpResponse {
  status: number;
  body: string;
}

/** Why an exchange failed, phrased without secrets; becomes part of the 503 message. */
export class IamHttpError extends Error {
  override readonly name = 'IamHttpError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network' | 'too-large',
  ) {
    super(message);
  }
}

export function iamPostForm(url: URL, body: string, opts: { timeoutMs: number; rejectUnauthorized?: boolean }): Promise<IamHttpResponse> {
  return new Promise<IamHttpResponse>((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const payload = Buffer.from(body, 'utf8');
    const requestOptions: https.RequestOptions = {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      agent: false,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        'Content-Length': String(payload.length),
      },
    };
    if (isHttps && opts.rejectUnauthorized !== undefined) {
      requestOptions.rejectUnauthorized = opts.rejectUnauthorized;
    }

    let settled = false;
    const finish = (err: Error | undefined, value?: IamHttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value as IamHttpResponse);
    };

    const req = (isHttps ? https : http).request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          finish(new IamHttpError(`IAM answer larger than ${MAX_RESPONSE_BYTES} bytes`, 'too-large'));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => finish(networkError(e)));
      res.on('aborted', () => finish(new IamHttpError('IAM closed the connection mid-answer', 'network')));
    });

    const timer = setTimeout(() => {
      finish(new IamHttpError(`IAM did not answer within ${opts.timeoutMs} ms`, 'timeout'));
      req.destroy();
    }, opts.timeoutMs);

    req.on('error', (e: NodeJS.ErrnoException) => finish(networkError(e)));
    req.end(payload);
  });
}

function networkError(e: NodeJS.ErrnoException): IamHttpError {
  // Only the error code (ECONNREFUSED, ECONNRESET, CERT_HAS_EXPIRED, ...) — never e.message, which
  // for some TLS failures can be long, and never anything derived from the request.
  const code = typeof e.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(e.code) ? e.code : 'network error';
  return new IamHttpError(`IAM is unreachable (${code})`, 'network');
}
