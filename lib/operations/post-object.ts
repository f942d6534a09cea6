/**
 * Browser-based uploads: `POST /bucket` with `multipart/form-data` (HTML forms, boto3
 * `generate_presigned_post`, `@aws-sdk/s3-presigned-post`).
 *
 * The form is parsed while it streams (@fastify/busboy). The fields before the `file` field carry
 * the key, the policy and its signature; once the file part starts, {@link createPostObjectOperation}
 * verifies the signature (SigV4 or SigV2) against the frontend keys, the policy's expiration and
 * every condition, and turns the request record into a PutObject of the final key (identity and
 * policies from the form, `ctx.postUpload` holding the file). Then the ordinary chain continues:
 * verifySignature accepts the form's verified credentials, authorize decides on that PutObject,
 * resolveBackend finds its backend as for any request, and s3Proxy hands over to
 * {@link PostUpload.forward}, which streams the file to the backend as a re-signed PutObject
 * (lib/upstream). Fields after the file are ignored, as S3 does.
 *
 * Backends that take a body of unknown length (Swift, moto) get it chunked and a size over the
 * policy's `content-length-range` aborts the upstream request before its end, so nothing is
 * stored. Backends that need a Content-Length (Ceph RGW, AWS, unknown ones) get the file from a
 * temporary file written first (never memory); a size over the range stops before anything is sent.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createReadStream, createWriteStream, unlink } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import Busboy, { type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { asPostUpload, clientHost, type OspRequestContext, type ResolvedBackend } from '../context';
import { OspError, s3Errors } from '../errors';
import type { OspOptions, ResolvedOptions } from '../options';
import { UNSIGNED_PAYLOAD } from '../constants';
import { createFrontendSecrets } from '../auth/frontend-secrets';
import { firstHeader } from '../s3/headers';
import { checkKey } from '../s3/parse-request';
import { uriEncode } from '../sigv4/uri-encode';
import { checkPostPolicy, decodePostPolicy, MAX_PUT_OBJECT_BYTES, type LengthRange } from './post-object/policy';
import { parsePostCredentials, verifyPostSignature } from './post-object/post-signature';
import { buildUpstreamHeaders, streamsWithoutLength } from './post-object/upstream-headers';
import { buildPostSuccess } from './post-object/post-response';
import { spoolFailure } from './post-object/spool-error';
import { upstreamFor } from '../upstream/upstream';
import { backendFailureToS3Error } from '../upstream/errors';
import { openUpstream } from '../upstream/request';
import { watchUpstream } from '../upstream/watch';
import { prepareUpstreamRequest } from '../middleware/proxy';
import type { KeyPolicy } from '../policy/key-policy';
import { createBackendCors, type BackendCors } from '../cors/backend-cors';
import { createWithCors } from '../cors/own-responses';

/** S3 accepts at most 20 KB of form fields before the file. */
const MAX_PRE_DATA_BYTES = 20 * 1024;
/** Largest backend error body relayed to the client. */
const MAX_BACKEND_BODY_BYTES = 64 * 1024;
/** Response headers of the backend's PutObject worth passing on. */
const PASSED_RESPONSE_HEADERS = /^(x-amz-version-id|x-amz-server-side-encryption.*|x-amz-checksum-.*|x-amz-expiration)$/;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade', 'trailer', 'te']);

/** The stages postObject used to run itself; ospMiddleware passes its CORS source (shared connections). */
export interface PostObjectStages {
  /** @deprecated Ignored: a POST upload now runs the chain's own authorize stage (put postObject before verifySignature). */
  authorize?: RequestHandler;
  /** @deprecated Ignored: a POST upload now runs the chain's own resolveBackend stage. */
  resolveBackend?: RequestHandler;
  /** Where the buckets' CORS answers come from (default: its own, over this stage's backend connections). */
  cors?: BackendCors;
}

/**
 * A browser POST upload whose form was verified up to its file part (`req.osp.postUpload`, set by
 * the postObject stage): what s3Proxy calls once authorize and resolveBackend passed.
 */
export interface PostUpload {
  /** Sends the file to `backend` as a PutObject and answers the client; errors go to `next`. */
  forward(backend: ResolvedBackend, next: NextFunction): void;
}

/** The browser POST upload operation: its form parser (the stage's step) and handles for invalidation and shutdown. */
export interface PostObjectOperation {
  /** Parses the form of a `POST /bucket` multipart request up to its file, then calls `next()` to run the chain (or `next(err)`). */
  start(req: Request, res: Response, next: NextFunction, ctx: OspRequestContext & { bucket: string }): void;
  /** Forget the cached `hmacFetcher` answer for this access key. */
  forgetAccessKey(accessKey: string): void;
  /** Closes idle backend connections. */
  close(): void;
}

const malformedPost = () => new OspError(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');

/** Whether the request carries a form (`multipart/form-data` with its boundary). */
export function isMultipartForm(req: Request): boolean {
  return /^multipart\/form-data\s*;/i.test(firstHeader(req.headers, 'content-type') ?? '');
}

/**
 * Copies `src` into `dst` (honouring backpressure) until `src` ends, counting bytes. Rejects with
 * 400 EntityTooLarge as soon as more than `max` bytes arrived: the byte over the limit is never
 * written. `dst` is not ended.
 */
function copyLimited(src: Readable, dst: Writable, max: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let total = 0;
    const cleanup = () => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onClose);
      dst.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        cleanup();
        src.resume();
        reject(new OspError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(max) }));
        return;
      }
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(total);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the upload ended before the file did'));
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(err);
    };
    if (src.destroyed) return reject(new Error('the upload ended before the file did'));
    src.on('data', onData);
    src.once('end', onEnd);
    src.once('close', onClose); // destroyed (the client went away) without an error
    src.once('error', onError);
    dst.once('error', onError);
  });
}

function tooSmall(size: number, min: number): OspError {
  return new OspError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: String(size), MinSizeAllowed: String(min) });
}

/** The object's URL as the client addressed the proxy: the POST URL (prefix included) plus the key. */
function locationOf(req: Request, trustForwardedHost: boolean, key: string): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  const base = (q === -1 ? url : url.slice(0, q)).replace(/\/+$/, '');
  return `${req.protocol ?? 'http'}://${clientHost(req, trustForwardedHost) ?? 'localhost'}${base}/${uriEncode(key, false)}`;
}

/** Reads a (small) response body, up to `limit` bytes. */
function readBody(r: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    r.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) parts.push(c);
    });
    r.once('end', () => resolve(Buffer.concat(parts)));
    r.once('error', reject);
  });
}

/**
 * The browser POST upload operation of one set of options (the postObject stage owns one).
 * @param options - the stage's argument (its upstream connections are found by it); `o` its resolved form.
 */
export function createPostObjectOperation(options: OspOptions, o: ResolvedOptions, stages: PostObjectStages = {}): PostObjectOperation {
  const secrets = createFrontendSecrets(o);
  const upstreamAgents = upstreamFor(options, o);
  const agent = upstreamAgents.backends;
  // The answer is the proxy's own, never seen by the backend: it gets the bucket's CORS headers
  // here, or a page's fetch() sees an error although the object was stored (issue [1/5]).
  const withCors = createWithCors(o, stages.cors ?? createBackendCors({ agent }));

  /** The caller's identity from the form (and the policies of a key found by `hmacFetcher`); throws the S3 error for a bad or missing signature. */
  const authenticate = async (ctx: OspRequestContext, fields: ReadonlyMap<string, string>): Promise<{ identity: string | null; keyPolicy?: KeyPolicy; anonymous?: true }> => {
    const creds = parsePostCredentials(fields);
    if (ctx.authMethod === 'external') return { identity: ctx.identity ?? null };
    if (o.skipSignatureValidation) return { identity: creds?.accessKeyId ?? null };
    if (!creds) {
      if (!o.allowAnonymous) throw s3Errors.accessDenied('Anonymous access is not allowed; sign the POST policy.');
      return { identity: null, anonymous: true };
    }
    const fromKeystore = secrets.fromKeystore(creds.accessKeyId);
    const fetched = fromKeystore === undefined ? await secrets.fetch(creds.accessKeyId) : null;
    const secret = fromKeystore ?? fetched?.secret;
    if (!secret) throw s3Errors.invalidAccessKeyId();
    if (!verifyPostSignature(creds, secret)) throw s3Errors.signatureDoesNotMatch();
    return { identity: creds.accessKeyId, keyPolicy: fetched?.policy };
  };

  const start = (req: Request, res: Response, next: NextFunction, ctx: OspRequestContext & { bucket: string }): void => {
    /** Who gets an error now: the postObject stage's `next` until the hand-over, s3Proxy's once it forwards; none in between. */
    let deliver: NextFunction | undefined = next;
    /** An error that happened while the chain ran (authorize, resolveBackend): answered when s3Proxy hands over. */
    let pending: unknown;
    const fields = new Map<string, string>();
    let preDataBytes = 0;
    let fileSeen = false;
    let done = false;
    let upstream: ClientRequest | undefined;
    let spoolPath: string | undefined;
    let fileStream: Readable | undefined;
    let bb: BusboyInstance;

    const cleanup = () => {
      if (spoolPath) unlink(spoolPath, () => undefined);
      spoolPath = undefined;
    };
    /** Stops feeding the parser and reads the rest of the body away, so the client reads our answer instead of a reset. */
    const drain = () => {
      if (req.complete) return;
      req.unpipe(bb);
      req.resume();
    };
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      upstream?.destroy(); // an unfinished chunked body: the backend discards the partial object
      cleanup();
      drain();
      const error = err instanceof OspError ? err : (err as NodeJS.ErrnoException)?.code ? backendFailureToS3Error(err as NodeJS.ErrnoException) : err;
      if (deliver) deliver(error);
      else pending = error;
    };
    req.once('close', () => {
      if (!req.complete && !done) {
        // The client went away: abort the upstream upload and end the copy waiting for more of the file.
        done = true;
        upstream?.destroy();
        fileStream?.destroy();
        cleanup();
      }
    });
    // A stage after the hand-over refused the PutObject (authorize, resolveBackend): its error
    // answer ends the response, and the rest of the file goes nowhere.
    res.once('finish', () => {
      if (done) return;
      done = true;
      fileStream?.resume();
      cleanup();
      drain();
    });

    /** Sends the PutObject, with `body` piped in by `send`; answers the client from the backend's reply. */
    const sendUpstream = (backend: ResolvedBackend, headers: Record<string, string>, key: string, send: (u: ClientRequest) => void) => {
      const u = openUpstream(agent, backend, { method: 'PUT', path: backend.path, headers });
      upstream = u;
      prepareUpstreamRequest(u, 'PUT', backend, { setHeaders: {}, removeHeaders: [], payloadHash: UNSIGNED_PAYLOAD }, new Date(), headers as IncomingHttpHeaders);
      watchUpstream(u, req, {});
      u.on('error', fail);
      u.on('response', (r: IncomingMessage) => {
        readBody(r, MAX_BACKEND_BODY_BYTES).then((body) => {
          if (done) return;
          done = true;
          cleanup();
          const status = r.statusCode ?? 502;
          if (status < 200 || status >= 300) {
            u.destroy();
            drain(); // the backend refused early: the rest of the file goes nowhere
            // Backend errors pass through unchanged, as for every other request.
            return withCors(req, res, () => {
              res.status(status);
              for (const [name, value] of Object.entries(r.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
              if (o.serverName) res.setHeader('Server', o.serverName);
              res.end(body);
            });
          }
          const answer = buildPostSuccess({ fields, bucket: ctx.bucket, key, etag: r.headers.etag, location: locationOf(req, o.trustForwardedHost, key) });
          withCors(req, res, () => {
            res.status(answer.status);
            for (const [name, value] of Object.entries(r.headers)) if (value !== undefined && PASSED_RESPONSE_HEADERS.test(name)) res.setHeader(name, value);
            res.set(answer.headers);
            res.setHeader('x-amz-request-id', ctx.requestId);
            if (o.serverName) res.setHeader('Server', o.serverName);
            res.end(answer.body);
          });
        }, fail);
      });
      send(u);
    };

    const onFile = async (file: Readable, filename: string): Promise<void> => {
      let key = fields.get('key');
      if (key === undefined)
        throw new OspError(400, 'InvalidArgument', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", { ArgumentName: 'key' });
      // All form variables are expanded before the policy is checked (S3: "${filename}").
      key = key.split('${filename}').join(filename ?? '');
      if (key === '') throw new OspError(400, 'InvalidArgument', 'User key must have a length greater than 0.', { ArgumentName: 'key' });
      checkKey(key, o.allowDotSegmentsInKeys); // the same rules as keys in URLs (length, dot segments)
      fields.set('key', key);

      const { identity, keyPolicy, anonymous } = await authenticate(ctx, fields);
      let range: LengthRange = { min: 0, max: MAX_PUT_OBJECT_BYTES };
      const policy = fields.get('policy');
      if (policy !== undefined) range = checkPostPolicy(decodePostPolicy(policy), fields, ctx.bucket, Date.now());
      const headers = buildUpstreamHeaders(fields);

      // From here on the request is a PutObject of `key`: that is what authorize and the backend see.
      delete req.headers['x-amz-copy-source'];
      // The form's x-amz-* headers (acl, tagging, metadata, SSE, object lock) too: key policies
      // check them (s3:PutObjectAcl, s3:PutObjectTagging) and decisions are cached per them.
      for (const name in headers) if (name.startsWith('x-amz-')) req.headers[name] = headers[name];
      req.osp = {
        ...ctx,
        request: asPostUpload(ctx.request, key),
        key,
        rawKey: uriEncode(key, false),
        query: [],
        queryParams: new Set(),
        operation: 'PutObject',
        identity,
        // An unsigned form is anonymous: it goes upstream unsigned unless the bucket sets signAnonymousRequests.
        authMethod: anonymous ? 'anonymous' : 'post-policy',
        payloadHash: UNSIGNED_PAYLOAD,
        ...(keyPolicy ? { keyPolicy } : {}),
        postUpload: { forward: (backend, forwardNext) => forwardFile(backend, forwardNext, { key, headers, range, file }) },
      };
      // The hand-over: verifySignature accepts the form's credentials, authorize decides on this
      // PutObject, resolveBackend finds its backend, and s3Proxy calls postUpload.forward.
      deliver = undefined;
      next();
    };

    /** The forward step, once the chain authorized the PutObject and resolved its backend. */
    const forwardFile = (backend: ResolvedBackend, forwardNext: NextFunction, upload: { key: string; headers: Record<string, string>; range: LengthRange; file: Readable }): void => {
      if (pending !== undefined) return forwardNext(pending);
      if (done) return; // the client went away meanwhile
      deliver = forwardNext;
      sendFile(backend, upload).catch((err: unknown) => {
        upload.file.resume();
        fail(err);
      });
    };

    const sendFile = async (backend: ResolvedBackend, { key, headers, range, file }: { key: string; headers: Record<string, string>; range: LengthRange; file: Readable }): Promise<void> => {
      if (streamsWithoutLength(backend.config.profile)) {
        sendUpstream(backend, headers, key, (u) => {
          copyLimited(file, u, range.max)
            .then((size) => {
              if (size < range.min) throw tooSmall(size, range.min);
              u.end();
            })
            .catch(fail);
        });
        return;
      }
      // The backend needs Content-Length: learn it by spooling to a private temporary file.
      spoolPath = path.join(o.postSpoolDirectory, `osp-post-${randomBytes(12).toString('hex')}`);
      const spool = createWriteStream(spoolPath, { flags: 'wx', mode: 0o600 });
      spool.on('error', () => undefined); // read as spool.errored below; a late write error must not crash the process
      let size: number;
      try {
        size = await copyLimited(file, spool, range.max).finally(() => spool.end());
        await finished(spool); // also when it already finished or failed
      } catch (err) {
        // A full disk is the proxy's trouble, not the backend's (was 502 BackendUnreachable); fail() unlinks the partial file.
        throw spool.errored ? spoolFailure(spool.errored, o.logger, ctx.requestId, o.postSpoolDirectory) : err;
      }
      if (size < range.min) throw tooSmall(size, range.min);
      if (done || !spoolPath) return;
      const from = spoolPath;
      sendUpstream(backend, { ...headers, 'content-length': String(size) }, key, (u) => {
        const body = createReadStream(from);
        body.once('error', fail);
        body.pipe(u);
      });
    };

    try {
      bb = Busboy({ headers: req.headers as BusboyHeaders, isPartAFile: (name) => name === 'file', limits: { fieldSize: MAX_PRE_DATA_BYTES, fieldNameSize: 1024, files: 1, parts: 1000 } });
    } catch {
      return next(malformedPost());
    }
    bb.on('field', (name, value, nameTruncated, valueTruncated) => {
      if (fileSeen || done) return; // fields after the file are ignored, as S3 does
      preDataBytes += name.length + value.length;
      if (nameTruncated || valueTruncated || preDataBytes > MAX_PRE_DATA_BYTES) {
        return fail(new OspError(400, 'MaxPostPreDataLengthExceeded', 'Your POST request fields preceeding the upload file was too large.'));
      }
      const lower = name.toLowerCase();
      if (fields.has(lower)) return fail(new OspError(400, 'InvalidArgument', `The form field ${name} appears more than once.`, { ArgumentName: name }));
      fields.set(lower, value);
    });
    bb.on('file', (_name, stream, filename) => {
      if (fileSeen || done) return void stream.resume();
      fileSeen = true;
      fileStream = stream;
      onFile(stream, filename).catch((err: unknown) => {
        stream.resume();
        fail(err);
      });
    });
    bb.on('finish', () => {
      if (!fileSeen) fail(new OspError(400, 'InvalidArgument', 'POST requires exactly one file upload per request.', { ArgumentName: 'file', ArgumentValue: '0' }));
    });
    bb.on('error', () => fail(malformedPost()));
    if (req.headers.expect !== undefined) {
      // The policy is in the body: the client must send it before anything can be checked.
      if (!(res as Response & { _sent100?: boolean })._sent100) res.writeContinue();
      delete req.headers.expect;
    }
    req.pipe(bb);
  };

  return {
    start,
    forgetAccessKey: (accessKey: string) => secrets.forget(accessKey),
    close: () => upstreamAgents.close(),
  };
}
