/**
 * The postObject stage: browser-based uploads (`POST /bucket` with `multipart/form-data`) enter the
 * chain here. The operation itself (form parsing, policy, the file's way to the backend) lives in
 * lib/operations/post-object.ts; this stage starts it and lets every other request through.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getContext, type OspRequestContext } from '../context';
import { optionsOf, type OspOptions } from '../options';
import { createPostObjectOperation, isMultipartForm, type PostObjectStages } from '../operations/post-object';

export type { PostObjectStages } from '../operations/post-object';

/** The postObject stage, with handles for invalidation and shutdown. */
export interface PostObjectHandler extends RequestHandler {
  /** Forget the cached `hmacFetcher` answer for this access key. */
  forgetAccessKey(accessKey: string): void;
  /** Closes idle backend connections. */
  close(): void;
}

/**
 * Express middleware for browser POST uploads. Requests that are not `POST /bucket` with
 * `multipart/form-data` go to the next stage untouched. A form is read up to its file part and
 * verified (signature, policy); the request then continues through the chain as a PutObject of
 * the final key, so put it before `verifySignature` (`ospMiddleware` does) and keep `authorize`,
 * `resolveBackend` and `s3Proxy` after it: s3Proxy sends the file.
 */
export function postObject(options: OspOptions, stages: PostObjectStages = {}): PostObjectHandler {
  const o = optionsOf(options);
  const operation = createPostObjectOperation(options, o, stages);
  const handler = function ospPostObject(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'POST' || !isMultipartForm(req)) return next();
    let ctx: OspRequestContext;
    try {
      ctx = getContext(req, o);
    } catch (err) {
      return next(err);
    }
    if (ctx.operation !== 'PostObject' || ctx.bucket === undefined) return next();
    operation.start(req, res, next, ctx as OspRequestContext & { bucket: string });
  };
  return Object.assign(handler, { forgetAccessKey: operation.forgetAccessKey, close: operation.close });
}
