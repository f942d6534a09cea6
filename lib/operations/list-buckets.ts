/**
 * ListBuckets (`GET /`): the one operation the proxy answers itself. Its three steps, called by
 * the stages at fixed points:
 * - authorize: {@link authorizeListBuckets} decides which configured buckets the caller may see;
 * - resolveBackend: {@link createListBucketsResolver} adds what pattern backends report and the
 *   backends' creation dates;
 * - s3Proxy: {@link answerListBuckets} renders the XML.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
import type { NextFunction, Request, Response } from 'express';
import type { BackendCredentials, OspRequestContext } from '../context';
import { OspError, s3Errors } from '../errors';
import type { BucketConfig, ResolvedOptions } from '../options';
import type { BackendCredentialSource } from '../backends/backend-credentials';
import { listBackendBuckets, listBackendBucketsWithDates, type BackendBucketList } from '../backends/list-backend-buckets';
import type { BackendAgent } from '../upstream/agent';
import { keystoreAllows } from '../auth/keystore-policy';
import { firstDenial, requestConditionKeys } from '../auth/key-policies';
import { mayUseBucket } from '../policy/evaluate';
import type { KeyPolicy } from '../policy/key-policy';
import { renderListBucketsXml } from '../s3/list-buckets-xml';

/**
 * authorize's step: records in `ctx.visibleBuckets` the configured buckets the caller may see
 * (`decide` is authorize's own decision, cached per bucket) and in `ctx.canSeeBucket` the check
 * for buckets found later on pattern backends. A key with policies needs s3:ListAllMyBuckets and
 * sees only the buckets on which it may do something.
 */
export function authorizeListBuckets(
  o: ResolvedOptions,
  req: Request,
  ctx: OspRequestContext,
  keyPolicy: KeyPolicy | undefined,
  decide: (bucket: string) => Promise<boolean>,
  next: NextFunction,
): void {
  let visible: (name: string) => boolean = () => true;
  if (keyPolicy) {
    const keys = requestConditionKeys(req, ctx, keyPolicy);
    const denied = firstDenial(keyPolicy, [{ action: 's3:ListAllMyBuckets', resource: 'arn:aws:s3:::*' }], keys);
    if (denied) return next(denied);
    // Only the buckets on which the key may do something are listed.
    visible = (name) => mayUseBucket(keyPolicy.policies, name, keys);
  }
  if (typeof o.buckets === 'function') {
    ctx.visibleBuckets = [];
    return next();
  }
  const names = [...o.buckets.exact.keys()].filter(visible);
  // Buckets found on pattern backends are checked by resolveBackend through this filter.
  ctx.canSeeBucket = async (name: string) => visible(name) && decide(name);
  Promise.all(names.map((name) => decide(name))).then(
    (answers) => {
      ctx.visibleBuckets = names.filter((_, i) => answers[i]);
      next();
    },
    (err: unknown) => next(err),
  );
}

/** What the ListBuckets fan-out needs of resolveBackend: its credential source and the upstream connections. */
export interface ListBucketsUpstream {
  credentials: BackendCredentialSource;
  listing: { agent: BackendAgent; timeoutMs: number; region: string };
}

/**
 * resolveBackend's step: a function that completes `ctx.visibleBuckets` with the buckets pattern
 * entries' backends report (each checked with `ctx.canSeeBucket`), then adds their creation dates.
 */
export function createListBucketsResolver(o: ResolvedOptions, { credentials, listing }: ListBucketsUpstream): (ctx: OspRequestContext) => Promise<void> {
  const resolve = (ctx: OspRequestContext, name: string, config: Readonly<BucketConfig>): Promise<BackendCredentials> => credentials.resolve(ctx.identity ?? null, name, config);

  const listPatternBuckets = async (ctx: OspRequestContext): Promise<void> => {
    if (typeof o.buckets === 'function' || o.buckets.patterns.length === 0 || !ctx.canSeeBucket) return;
    const table = o.buckets;
    const found = new Set(ctx.visibleBuckets ?? []);
    for (const pattern of table.patterns) {
      // A key limited to other tenants (`buckets: ['acme-*']`) has nothing to see on this backend.
      if (!keystoreAllows(o, ctx.identity ?? null, pattern.key)) continue;
      const creds = await resolve(ctx, pattern.key, pattern.config);
      let names: string[];
      try {
        names = await listBackendBuckets(pattern.config, creds, listing);
      } catch (err) {
        // An incomplete listing would look complete to sync tools: fail it, loudly.
        o.logger.warn({ pattern: pattern.key, host: pattern.config.host, reason: (err as Error).message }, 'object-storage-proxy: ListBuckets failed on a backend');
        throw new OspError(503, 'ServiceUnavailable', `A storage backend did not answer ListBuckets (pattern ${pattern.key}); the listing would be incomplete. Please retry.`);
      }
      for (const name of names) {
        if (found.has(name) || table.lookup(name)?.key !== pattern.key) continue;
        if (await ctx.canSeeBucket(name)) found.add(name);
      }
    }
    ctx.visibleBuckets = [...found];
  };

  /**
   * The backends' CreationDate of each visible bucket and their owner display name (issue 10:
   * not 1970-01-01 and the frontend key). One ListBuckets per backend identity; best effort: a
   * backend that does not answer leaves its buckets with the epoch date (the names are complete).
   */
  const addBackendDates = async (ctx: OspRequestContext): Promise<void> => {
    if (typeof o.buckets === 'function' || !ctx.visibleBuckets?.length) return;
    const table = o.buckets;
    const lists = new Map<string, Promise<BackendBucketList | undefined>>();
    const dates = new Map<string, string>();
    let displayName: string | undefined;
    for (const name of ctx.visibleBuckets) {
      const config = table.lookup(name)?.config;
      if (!config) continue;
      const creds = await resolve(ctx, name, config).catch(() => undefined);
      if (!creds) continue;
      const who = creds.kind === 'hmac' ? creds.accessKeyId : creds.kind === 'bearer' ? creds.apiKeyHash : '';
      const id = `${config.host}\u0000${config.port ?? 443}\u0000${who}`;
      let list = lists.get(id);
      if (!list) {
        list = listBackendBucketsWithDates(config, creds, listing).catch(() => undefined);
        lists.set(id, list);
      }
      const answer = await list;
      if (!answer) continue;
      displayName ??= answer.ownerDisplayName;
      const date = answer.buckets.find((b) => b.name === (config.backendBucket ?? name))?.creationDate;
      if (date) dates.set(name, date);
    }
    ctx.bucketDates = dates;
    if (displayName !== undefined) ctx.ownerDisplayName = displayName;
  };

  return async (ctx) => {
    await listPatternBuckets(ctx);
    await addBackendDates(ctx);
  };
}

/** s3Proxy's step: answers with the buckets the earlier steps found; without authorize's step, 403. */
export function answerListBuckets(o: Pick<ResolvedOptions, 'serverName'>, req: Request, res: Response, ctx: OspRequestContext, next: NextFunction): void {
  if (ctx.visibleBuckets === undefined) return next(s3Errors.accessDenied('Request not authorized (put authorize before s3Proxy).'));
  const body = renderListBucketsXml(ctx.visibleBuckets, ctx.identity ?? 'anonymous', undefined, ctx.bucketDates, ctx.ownerDisplayName);
  res.status(200).set({ 'Content-Type': 'application/xml', 'x-amz-request-id': ctx.requestId });
  if (o.serverName) res.set('Server', o.serverName);
  res.end(req.method === 'HEAD' ? undefined : body);
}
