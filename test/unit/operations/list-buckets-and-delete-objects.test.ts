/**
 * The list-buckets and delete-objects operations at the edges of their steps (the main paths are in
 * test/unit/chain/special-operations.test.ts): ListBuckets' answer without authorize's step and its
 * headers, and DeleteObjects' small-body limit.
 */
import { authorize, resolveBackend, s3ErrorHandler, s3Proxy, verifySignature } from '../../../lib';
import type { OspOptions } from '../../../lib/options';
import { MAX_DELETE_OBJECTS_BODY, readsDeleteObjectsBody } from '../../../lib/operations/delete-objects';
import type { OspRequestContext } from '../../../lib/context';
import { FRONTEND, kitBucket, startChain, startKitUpstream, type KitChain, type KitUpstream } from '../../kit';

let upstream: KitUpstream;
let full: KitChain;
let withoutAuthorize: KitChain;
const POLICY_KEY = { accessKey: 'POLICY', secretKey: 'POLICY-SK', policies: ['all'] };

beforeAll(async () => {
  upstream = await startKitUpstream();
  const options: OspOptions = {
    buckets: { alpha: kitBucket(upstream), cos: kitBucket(upstream, { profile: 'ibm-cos' }) },
    hmacKeystore: [FRONTEND, POLICY_KEY],
    policies: { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] } },
    serverName: 'kit-proxy',
  };
  full = await startChain(options);
  withoutAuthorize = await startChain(options, { handler: [verifySignature(options), resolveBackend(options), s3Proxy(options), s3ErrorHandler()] });
  // authorize is exported too: composing it keeps the answer working (sanity of the hand-made chain above).
  expect(typeof authorize(options)).toBe('function');
});
afterAll(async () => {
  await full.close();
  await withoutAuthorize.close();
  await upstream.close();
});
beforeEach(() => upstream.clear());

describe('list-buckets', () => {
  it('s3Proxy answers only with what authorize’s step found: without it, 403', async () => {
    const answer = await withoutAuthorize.send({ path: '/' });
    expect([answer.status, answer.code]).toEqual([403, 'AccessDenied']);
  });

  it('the answer is the proxy’s own: XML with its Server and request id; HEAD / is not ListBuckets (405)', async () => {
    const answer = await full.send({ path: '/' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/xml/);
    expect(answer.body.toString()).toContain('<Name>alpha</Name>');
    expect(answer.headers.server).toBe('kit-proxy');
    expect(answer.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect((await full.send({ method: 'HEAD', path: '/' })).status).toBe(405);
  });
});

describe('delete-objects', () => {
  it('a body over the limit the proxy buffers is 400 EntityTooLarge, nothing upstream', async () => {
    const body = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(Math.ceil(MAX_DELETE_OBJECTS_BODY / 28) + 1)}</Delete>`;
    const answer = await full.send({ method: 'POST', path: '/alpha', query: { delete: '' }, body, key: POLICY_KEY });
    expect([answer.status, answer.code]).toEqual([400, 'EntityTooLarge']);
    expect(upstream.requests).toHaveLength(0);
  });

  it('the body is read first only for a per-key check or a Content-MD5 to add', () => {
    const ctx = (operation: string, armed: boolean) => ({ operation, ...(armed ? { authorizeDeleteKeys: () => undefined } : {}) }) as unknown as OspRequestContext;
    expect(readsDeleteObjectsBody(ctx('DeleteObjects', false), { addContentMd5: false })).toBe(false);
    expect(readsDeleteObjectsBody(ctx('DeleteObjects', true), { addContentMd5: false })).toBe(true);
    expect(readsDeleteObjectsBody(ctx('DeleteObjects', false), { addContentMd5: true })).toBe(true);
    expect(readsDeleteObjectsBody(ctx('PutObject', true), { addContentMd5: false })).toBe(false);
  });
});
