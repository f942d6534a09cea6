/** Shared helpers for the SigV4 unit tests: load fixture vectors and verify them end to end. */
import { OspError } from '../../../lib/errors';
import { parseAuthorizationHeader } from '../../../lib/sigv4/parse-authorization';
import { parsePresignedQuery } from '../../../lib/sigv4/parse-presigned';
import { checkPresignedValidity, checkRequestTime, checkScope, parseHttpDate, verifySignature, type VerifyInput } from '../../../lib/sigv4/verify-signature';

/** One signed request captured from an independent signer (see test/fixtures/sigv4/gen-*). */
export interface Vector {
  name: string;
  kind: 'header' | 'query';
  method: string;
  rawPath: string;
  rawQuery: string;
  rawHeaders: string[];
  accessKeyId: string;
  secretKey: string;
  expectedAuthorization?: string;
  presignedUrl?: string;
}

/** First value of a header in a raw header list (case-insensitive). */
export function rawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/** Builds the VerifyInput for a vector the way the middleware does. */
export function toVerifyInput(v: Vector, overrides: Partial<Vector> = {}): VerifyInput {
  const x = { ...v, ...overrides };
  if (x.kind === 'header') {
    const auth = parseAuthorizationHeader(rawHeader(x.rawHeaders, 'authorization')!);
    const amzHeader = rawHeader(x.rawHeaders, 'x-amz-date');
    const amzDate = amzHeader ?? parseHttpDate(rawHeader(x.rawHeaders, 'date')!);
    return {
      method: x.method,
      rawPath: x.rawPath,
      rawQuery: x.rawQuery,
      rawHeaders: x.rawHeaders,
      auth,
      kind: 'header',
      amzDate,
      payloadHash: rawHeader(x.rawHeaders, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD',
      secretKey: x.secretKey,
    };
  }
  const p = parsePresignedQuery(x.rawQuery);
  if (!p) throw new Error(`${x.name}: not a presigned query`);
  return {
    method: x.method,
    rawPath: x.rawPath,
    rawQuery: x.rawQuery,
    rawHeaders: x.rawHeaders,
    auth: p,
    kind: 'query',
    amzDate: p.amzDate,
    payloadHash: p.contentSha256 ?? 'UNSIGNED-PAYLOAD',
    secretKey: x.secretKey,
  };
}

/** Full check as the middleware would do it at time `nowMs`: scope, time, signature. */
export function verifyVector(v: Vector, nowMs: number, overrides: Partial<Vector> = {}): boolean {
  const input = toVerifyInput(v, overrides);
  checkScope(input.auth, input.amzDate, input.kind);
  if (input.kind === 'header') checkRequestTime(input.amzDate, nowMs);
  else checkPresignedValidity(parsePresignedQuery(input.rawQuery)!, nowMs);
  return verifySignature(input);
}

/** Replaces one character so the result differs (hex-safe: 0<->1, else a<->b style). */
export function flipChar(s: string, index: number): string {
  const c = s[index]!;
  const r = c === '0' ? '1' : c === 'a' ? 'b' : c === 'A' ? 'B' : c === '/' ? '_' : c === 'x' ? 'y' : 'x';
  return s.slice(0, index) + r + s.slice(index + 1);
}

/** Sets all occurrences of a header (case-insensitive) in a copy of a raw header list. */
export function withHeader(rawHeaders: readonly string[], name: string, value: (old: string) => string): string[] {
  const out = [...rawHeaders];
  for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === name) out[i + 1] = value(out[i + 1]!);
  return out;
}

/** The OspError `fn` throws (any other outcome fails the test). */
export function errorOf(fn: () => unknown): OspError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OspError) return e;
    throw e;
  }
  throw new Error('did not throw');
}
