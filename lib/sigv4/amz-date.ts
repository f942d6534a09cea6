/**
 * SigV4 request dates: `YYYYMMDDTHHMMSSZ` (x-amz-date / X-Amz-Date) and HTTP `Date` headers.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-date-handling.html
 */
import { OspError, s3Errors } from '../errors';

const MISSING_DATE_MESSAGE = 'AWS authentication requires a valid Date or x-amz-date header';

/** 403 AccessDenied "AWS authentication requires a valid Date or x-amz-date header" (header auth without a usable date). */
export function missingRequestDate(): OspError {
  return s3Errors.accessDenied(MISSING_DATE_MESSAGE);
}

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Parses `YYYYMMDDTHHMMSSZ` strictly (calendar-valid, UTC).
 * @returns epoch milliseconds, or `undefined` when malformed.
 */
export function parseAmzDate(amzDate: string): number | undefined {
  // Clients sign at most a few distinct dates per second: remember the last one parsed.
  if (amzDate === lastParsed) return lastParsedMs;
  const ms = parseAmzDateUncached(amzDate);
  lastParsed = amzDate;
  lastParsedMs = ms;
  return ms;
}

let lastParsed = '';
let lastParsedMs: number | undefined;

function parseAmzDateUncached(amzDate: string): number | undefined {
  if (amzDate.length !== 16 || amzDate[8] !== 'T' || amzDate[15] !== 'Z') return undefined;
  const y = digits(amzDate, 0, 4);
  const mo = digits(amzDate, 4, 6);
  const d = digits(amzDate, 6, 8);
  const h = digits(amzDate, 9, 11);
  const mi = digits(amzDate, 11, 13);
  const s = digits(amzDate, 13, 15);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(ms).getUTCDate() !== d) return undefined; // e.g. Feb 30
  return ms;
}

/**
 * Converts an HTTP `Date` header (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete
 * RFC 850 / asctime forms) to `YYYYMMDDTHHMMSSZ`, for clients that sign `Date` instead of
 * `x-amz-date` (allowed by SigV4; `x-amz-date` wins when both are present).
 *
 * @throws OspError 403 AccessDenied "AWS authentication requires a valid Date or x-amz-date header".
 */
export function parseHttpDate(dateHeader: string): string {
  const v = dateHeader.trim();
  // Require a GMT/UTC zone or the asctime form (no zone = GMT) so local-time parsing cannot sneak in.
  const hasZone = /(?:GMT|UTC|[+-]\d{4})$/.test(v);
  const isAsctime = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(v);
  const ms = hasZone ? Date.parse(v) : isAsctime ? Date.parse(v + ' GMT') : NaN;
  if (!Number.isFinite(ms)) throw missingRequestDate();
  return formatAmzDate(new Date(ms));
}

let lastSecond = NaN;
let lastFormatted = '';

/** Formats a Date as `YYYYMMDDTHHMMSSZ` (UTC). Memoized per second: every upstream request asks. */
export function formatAmzDate(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second === lastSecond) return lastFormatted;
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  lastFormatted = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + 'T' + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  lastSecond = second;
  return lastFormatted;
}
