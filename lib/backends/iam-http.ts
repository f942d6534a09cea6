/**
 * Private helper of the IAM token provider: one bounded HTTP(S) POST of a form body, through the
 * upstream module (lib/upstream/: its IAM agent, so the options' TLS verification, `upstreamLookup`
 * and connect timeout apply; its failure classification).
 *
 * - The whole exchange (connect, TLS, response headers and body) is bounded by `timeoutMs`.
 * - The response body is capped (a token response is a few KiB); a larger body is an error.
 * - No connection pooling (the IAM agent has no keep-alive): exchanges are rare (one per key per
 *   token lifetime), and a pooled socket that IAM closed meanwhile would only add a spurious failure.
 * - Errors never contain the request body (which holds the API key).
 */
import type { BackendAgent } from '../upstream/agent';
import { upstreamFailureKind, upstreamFailureReason } from '../upstream/errors';
import { UPSTREAM_TOO_LARGE_CODE, upstreamRequest } from '../upstream/request';

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

export async function iamPostForm(url: URL, body: string, opts: { timeoutMs: number; agent: BackendAgent }): Promise<IamHttpResponse> {
  const payload = Buffer.from(body, 'utf8');
  const target = {
    protocol: url.protocol === 'https:' ? ('https:' as const) : ('http:' as const),
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
  };
  try {
    const answer = await upstreamRequest(opts.agent, target, {
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      headers: {
        host: url.host,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        'Content-Length': String(payload.length),
      },
      body: payload,
      deadlineMs: opts.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    });
    return { status: answer.status, body: answer.body.toString('utf8') };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === UPSTREAM_TOO_LARGE_CODE) throw new IamHttpError(`IAM answer larger than ${MAX_RESPONSE_BYTES} bytes`, 'too-large');
    if (upstreamFailureKind(err) === 'timeout') throw new IamHttpError(`IAM did not answer within ${opts.timeoutMs} ms`, 'timeout');
    // Only the error code (ECONNREFUSED, ECONNRESET, CERT_HAS_EXPIRED, ...), never e.message.
    throw new IamHttpError(`IAM is unreachable (${upstreamFailureReason(err)})`, 'network');
  }
}
