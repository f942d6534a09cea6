/**
 * # The chain test kit (unit tests of the request path, no external servers)
 *
 * ```ts
 * import { startKitUpstream, startChain, kitBucket, FRONTEND } from '../../kit';
 *
 * const upstream = await startKitUpstream();                     // 127.0.0.1:0, records + re-checks SigV4
 * const proxy = await startChain({ buckets: { photos: kitBucket(upstream) }, hmacKeystore: [FRONTEND] });
 * upstream.reply({ status: 200, headers: { etag: '"e1"' } });    // canned answer for the next request
 * const answer = await proxy.send({ method: 'PUT', path: '/photos/a.txt', body: Buffer.from('hi') });
 * expect(answer.status).toBe(200);
 * expect(upstream.last()).toMatchObject({ method: 'PUT', path: '/photos/a.txt', auth: { kind: 'sigv4', valid: true } });
 * await proxy.close(); await upstream.close();                   // in afterAll / afterEach
 * ```
 *
 * - {@link startKitUpstream} (upstream.ts): what the proxy sent (method, path, query, headers,
 *   body bytes), whether its signature and payload hash are valid (checked by @smithy/signature-v4,
 *   not by the proxy's code), and answers queued with `reply()` (`s3Xml` builds S3-shaped bodies;
 *   `'destroy'` kills the socket like a dead backend).
 * - {@link startChain} (chain.ts): `ospMiddleware(options)` (or your own stage list) in an Express
 *   app on 127.0.0.1:0, with `send()`: a request signed by the independent signer as a real client
 *   would (header or presigned, or unsigned), sent with its bytes untouched (test/helpers/raw-http.ts).
 * - {@link fakeWallClock} (clock.ts): jest modern fake timers that fake only `Date`, so signing
 *   time, skew and expiry are set instead of waited for while sockets and timers run for real.
 */
export * from './upstream';
export * from './chain';
export * from './clock';
export * from './post-form';
