/**
 * How often the request path parses the URL and the query and walks the headers, for one signed
 * GET and one signed PUT through `ospMiddleware` (issue [2/5] item 1: one parse). Counted by
 * spying on the parsers and by wrapping `req.headers` (each enumeration: one walk) and
 * `req.rawHeaders` (each read of the first name: one walk). Framework walks (Express, httpxy
 * copying the headers for the upstream request) count too: the numbers compare runs, they are not
 * a count of our code alone. `npm run bench:parse-count` prints them.
 */
import type { NextFunction, Request, Response } from 'express';
import * as parseRequest from '../../../lib/s3/parse-request';
import * as query from '../../../lib/s3/query';
import * as copySource from '../../../lib/s3/copy-source';
import * as presigned from '../../../lib/sigv4/parse-presigned';
import * as canonical from '../../../lib/sigv4/canonical-request';
import * as uri from '../../../lib/sigv4/uri-encode';
import { FRONTEND, kitBucket, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';

/** The counters, by what they count. */
interface Counts {
  urlSplits: number;
  queryParses: number;
  queryRecords: number;
  presignedQueryParses: number;
  canonicalQueryParses: number;
  backendQueryBuilds: number;
  copySourceParses: number;
  uriEncodes: number;
  headerRecordWalks: number;
  rawHeaderWalks: number;
}

const counts: Counts = zero();
function zero(): Counts {
  return {
    urlSplits: 0,
    queryParses: 0,
    queryRecords: 0,
    presignedQueryParses: 0,
    canonicalQueryParses: 0,
    backendQueryBuilds: 0,
    copySourceParses: 0,
    uriEncodes: 0,
    headerRecordWalks: 0,
    rawHeaderWalks: 0,
  };
}

function count<M extends object>(mod: M, name: string, counter: keyof Counts): void {
  const original = (mod as Record<string, ((...args: unknown[]) => unknown) | undefined>)[name];
  if (original === undefined) return; // not in this version of the code
  jest.spyOn(mod as Record<string, (...args: unknown[]) => unknown>, name).mockImplementation((...args: unknown[]) => {
    counts[counter]++;
    return original(...args);
  });
}

/** Counts walks of the header record and of the raw header list from here on. */
function instrumentHeaders(req: Request, _res: Response, next: NextFunction): void {
  req.headers = new Proxy(req.headers, {
    ownKeys(target) {
      counts.headerRecordWalks++;
      return Reflect.ownKeys(target);
    },
  });
  const raw = req.rawHeaders;
  req.rawHeaders = new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop === '0') counts.rawHeaderWalks++;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  next();
}

let upstream: KitUpstream;
let proxy: KitChain;

beforeAll(async () => {
  count(parseRequest, 'splitUrl', 'urlSplits');
  count(query, 'parseQuery', 'queryParses');
  count(query, 'queryRecord', 'queryRecords');
  count(query, 'buildBackendQuery', 'backendQueryBuilds');
  count(presigned, 'parsePresignedQuery', 'presignedQueryParses');
  count(canonical, 'canonicalizeQuery', 'canonicalQueryParses');
  count(copySource, 'parseCopySource', 'copySourceParses');
  count(copySource, 'parseCopySourceHeader', 'copySourceParses'); // the record's parse (calls parseCopySource inside its module)
  count(uri, 'uriEncode', 'uriEncodes');
  upstream = await startKitUpstream();
  // An authorize callback, so the decision path (query record, cache variant) runs too.
  proxy = await startChain({ buckets: { photos: kitBucket(upstream) }, hmacKeystore: [FRONTEND], authorize: () => true }, { before: [instrumentHeaders] });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await proxy.close();
  await upstream.close();
});

async function measure(run: () => Promise<{ status: number }>): Promise<Counts> {
  upstream.reply({ status: 200 });
  Object.assign(counts, zero());
  const answer = await run();
  expect(answer.status).toBe(200);
  // One parse: the URL split once, the query parsed once (not at all when empty) and never
  // re-split for the signature, the copy source parsed once, the query record built once.
  expect(counts.urlSplits).toBe(1);
  expect(counts.canonicalQueryParses).toBe(0);
  expect(counts.presignedQueryParses).toBe(0);
  expect(counts.copySourceParses).toBeLessThanOrEqual(1);
  expect(counts.queryRecords).toBeLessThanOrEqual(1);
  return { ...counts };
}

/** Printed for the README's benchmark paragraph; bounds are what the one-parse record allows. */
const results: Record<string, Counts> = {};

it('one signed GET (header auth, with a query)', async () => {
  const c = await measure(() => proxy.send({ path: '/photos/dir/a%20b.txt', query: { versionId: 'v1', 'response-content-type': 'text/plain' } }));
  results['signed GET'] = c;
  expect(c.queryParses).toBeLessThanOrEqual(1);
});

it('one signed PUT (header auth, metadata)', async () => {
  const c = await measure(() => proxy.send({ method: 'PUT', path: '/photos/dir/b.txt', body: 'hello', headers: { 'x-amz-meta-colour': 'blue', 'content-type': 'text/plain' } }));
  results['signed PUT'] = c;
  expect(c.queryParses).toBeLessThanOrEqual(1);
});

it('one presigned GET', async () => {
  const c = await measure(() => proxy.send({ path: '/photos/dir/a%20b.txt', sign: 'presign' }));
  results['presigned GET'] = c;
  expect(c.queryParses).toBeLessThanOrEqual(1);
});

it('one signed CopyObject', async () => {
  const c = await measure(() => proxy.send({ method: 'PUT', path: '/photos/copy.txt', headers: { 'x-amz-copy-source': '/photos/dir/b.txt' } }));
  results['signed CopyObject'] = c;
  expect(c.queryParses).toBeLessThanOrEqual(1);
});

afterAll(() => {
  const names = Object.keys(zero()) as (keyof Counts)[];
  const lines = [
    `${'per request'.padEnd(24)}${Object.keys(results)
      .map((k) => k.padStart(18))
      .join('')}`,
  ];
  for (const n of names)
    lines.push(
      `${n.padEnd(24)}${Object.values(results)
        .map((c) => String(c[n]).padStart(18))
        .join('')}`,
    );
  process.stdout.write(`\nparse count (issue [2/5] item 1)\n${lines.join('\n')}\n`);
});
