import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { resolveOptions, type OspOptions } from './options';
import { verifySignature, type VerifySignatureHandler } from './middleware/verify-signature';
import { authorize, type AuthorizeHandler } from './middleware/authorize';
import { limitPresignedUrlUsage, type PresignedUsageHooks } from './middleware/limit-presigned-usage';
import { resolveBackend, type ResolveBackendHandler } from './middleware/resolve-backend';
import { s3Proxy, type S3ProxyHandler, type S3ProxyHooks } from './middleware/proxy';
import { s3ErrorHandler, toOspError } from './middleware/s3-error-handler';
import type { OspError } from './errors';

/** The composed middleware, with handles on its stages. */
export interface OspMiddleware extends RequestHandler {
  /** Closes backend connections and the presigned-usage store; call on shutdown. */
  close(): Promise<void>;
  /**
   * Drops everything cached about a frontend access key in this process: its secret from
   * `hmacFetcher`, its authorization decisions and its fetched backend credentials.
   */
  revokeAccessKey(accessKey: string): void;
  /** Drops cached authorization decisions and fetched backend credentials of a bucket in this process. */
  invalidateBucket(bucket: string): void;
  readonly stages: {
    readonly verifySignature: VerifySignatureHandler;
    readonly authorize: AuthorizeHandler;
    readonly limitPresignedUrlUsage: RequestHandler;
    readonly resolveBackend: ResolveBackendHandler;
    readonly s3Proxy: S3ProxyHandler;
  };
}

/** Extra wiring used by the standalone server (metrics). */
export interface OspMiddlewareHooks {
  presigned?: PresignedUsageHooks;
  proxy?: S3ProxyHooks;
  /** An IBM IAM token exchange finished (metrics). Must not throw. */
  onIamTokenRefresh?(outcome: 'ok' | 'error'): void;
  /** A stage rejected the request (signature, authorization, bucket, …) with this error. Must not throw. */
  onError?(req: Request, error: OspError): void;
}

/**
 * The whole S3 proxy as one Express middleware:
 * `verifySignature → authorize → limitPresignedUrlUsage → resolveBackend → s3Proxy`, with errors
 * rendered as S3 XML. Options are validated here, once; a bad option throws an OspConfigError.
 *
 * @example
 * app.use('/s3', ospMiddleware({
 *   buckets: { photos: { host: 's3.eu-de.example.com', accessKey: 'AK', secretKey: 'SK' } },
 *   hmacKeystore: [{ accessKey: 'client1', secretKey: 'client1-secret' }],
 *   authorize: (token, bucket, req) => token === 'client1' && req.operation !== 'DeleteObject',
 * }));
 */
export function ospMiddleware(options: OspOptions, hooks: OspMiddlewareHooks = {}): OspMiddleware {
  const o = resolveOptions(options);
  const stages = {
    verifySignature: verifySignature(options),
    authorize: authorize(options),
    limitPresignedUrlUsage: limitPresignedUrlUsage(options, hooks.presigned),
    resolveBackend: resolveBackend(options, { onIamTokenRefresh: hooks.onIamTokenRefresh }),
    s3Proxy: s3Proxy(options, hooks.proxy),
  };
  const chain: RequestHandler[] = [stages.verifySignature, stages.authorize, stages.limitPresignedUrlUsage, stages.resolveBackend, stages.s3Proxy];
  const onError = s3ErrorHandler({ logger: o.logger, serverName: o.serverName });

  // Our own `next` between the stages: errors end here as S3 XML, so Express 4 and 5 hosts
  // behave the same and no error handler of the host app is needed.
  const handler = function osp(req: Request, res: Response, next: NextFunction): void {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        const error = toOspError(err, o.logger);
        hooks.onError?.(req, error);
        onError(error, req, res, next);
        return;
      }
      const stage = chain[i++];
      if (!stage) return next();
      try {
        stage(req, res, step);
      } catch (e) {
        step(e ?? new Error('stage threw'));
      }
    };
    step();
  };
  return Object.assign(handler, {
    stages,
    revokeAccessKey(accessKey: string) {
      stages.verifySignature.forgetAccessKey(accessKey);
      stages.authorize.forgetIdentity(accessKey);
      stages.resolveBackend.credentials.invalidateIdentity(accessKey);
    },
    invalidateBucket(bucket: string) {
      stages.authorize.forgetBucket(bucket);
      stages.resolveBackend.credentials.invalidateBucket(bucket);
    },
    async close() {
      stages.s3Proxy.close();
      await stages.limitPresignedUrlUsage.store.close?.();
    },
  });
}
