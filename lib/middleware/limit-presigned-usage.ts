import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { s3Errors } from '../errors';
import { optionsOf, type OspOptions } from '../options';
import { rejectHooksArgument } from '../guard-hooks';
import { UsageShareExhaustedError, type UsageCounterStore } from '../cache/usage-store';
import { createMemoryUsageStore } from '../cache/memory-usage-store';

/** One warning per access key per this many ms while it stays at its share (the metric counts every refusal). */
const SHARE_LOG_INTERVAL_MS = 60_000;

/** The middleware plus its store (to close it on shutdown). */
export interface LimitPresignedUsageHandler extends RequestHandler {
  readonly store: UsageCounterStore;
}

/** A use counts when the client got what it asked for: 2xx, or 304 for a conditional GET. */
function isSuccessful(status: number): boolean {
  return (status >= 200 && status < 300) || status === 304;
}

/**
 * Express middleware that lets each presigned URL be used at most `maxPresignUrlUsageAttempts`
 * times. It runs after verification and authorization, so invalid or expired attempts never burn
 * a use. The count is taken atomically when the request arrives (so N concurrent uses cannot
 * exceed the limit), keyed by the URL's signature — the same however the query is ordered or
 * encoded — and given back when the request does not succeed (backend error, 4xx, 5xx), so
 * retries after failures do not exhaust the URL. Requests that are not presigned pass untouched.
 */
export function limitPresignedUrlUsage(options: OspOptions): LimitPresignedUsageHandler {
  const o = optionsOf(options);
  rejectHooksArgument('limitPresignedUrlUsage', arguments.length);
  const hooks = { onHit: o.on.presignedUse, onRejected: o.on.presignedRejected };
  const store = o.usageStore ?? createMemoryUsageStore();
  const shareLoggedAt = new Map<string, number>();
  const shareExhausted = (err: UsageShareExhaustedError) => {
    o.on.presignedShareExhausted?.(err.owner);
    const t = Date.now();
    if (t - (shareLoggedAt.get(err.owner) ?? -Infinity) < SHARE_LOG_INTERVAL_MS) return;
    if (shareLoggedAt.size >= 10_000) shareLoggedAt.clear(); // bounded, whatever the number of keys
    shareLoggedAt.set(err.owner, t);
    o.logger.warn(
      { accessKey: err.owner, share: err.share },
      'object-storage-proxy: an access key holds its whole share of the presigned-use store; its new presigned URLs get 503 SlowDown until some of them expire',
    );
  };
  const limit = o.maxPresignUrlUsageAttempts;
  const refund = (key: string) => {
    store.decrement(key).catch((err: unknown) => o.logger.warn({ err }, 'object-storage-proxy: could not give back a presigned URL use'));
  };
  const notify = (hook: ((bucket: string | undefined) => void) | undefined, bucket: string | undefined) => {
    try {
      hook?.(bucket);
    } catch (err) {
      // A metrics hook must not break (or, inside this promise callback, hang) the request.
      o.logger.warn({ err }, 'object-storage-proxy: a presigned usage hook threw');
    }
  };
  const handler = function ospLimitPresignedUsage(req: Request, res: Response, next: NextFunction): void {
    const ctx = req.osp;
    const presigned = ctx?.presigned;
    if (!ctx || !presigned) return next();
    const key = presigned.signature;
    store.increment(key, presigned.expiresAtMs, ctx.identity ? { owner: ctx.identity } : {}).then(
      (count) => {
        if (count > limit) {
          refund(key);
          notify(hooks.onRejected, ctx.bucket);
          return next(s3Errors.accessDenied(`This presigned URL has reached its usage limit (${limit} uses).`));
        }
        notify(hooks.onHit, ctx.bucket);
        const settle = () => {
          if (!isSuccessful(res.statusCode) || !res.headersSent) refund(key);
        };
        if (res.closed) {
          // The client went away while the use was being counted: give it back, forward nothing.
          settle();
          return;
        }
        res.once('close', settle);
        next();
      },
      (err: unknown) => {
        if (err instanceof UsageShareExhaustedError) shareExhausted(err);
        next(err);
      },
    );
  };
  return Object.assign(handler, { store });
}
