/**
 * DeleteObjects (`POST /bucket?delete`): one request that deletes up to 1000 keys named in its
 * XML body. Its steps, called by the stages at fixed points:
 * - authorize (a key with policies): {@link armDeleteObjectsKeys} records the per-key check;
 * - s3Proxy: {@link readsDeleteObjectsBody} says whether the proxy must read the body first, and
 *   {@link forwardDeleteObjects} reads it (small), runs the per-key check, adds Content-MD5 for
 *   backends that require it (Swift) and hands the buffered body to the proxy's forward.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import { createHash } from 'node:crypto';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NextFunction, Request } from 'express';
import type { OspRequestContext } from '../context';
import { OspError } from '../errors';
import { UNSIGNED_PAYLOAD } from '../constants';
import type { UpstreamBodyPlan } from '../body/upstream-body';
import { firstDenial } from '../auth/key-policies';
import { deleteObjectChecks } from '../policy/checks';
import type { ConditionKeys } from '../policy/keys';
import type { KeyPolicy } from '../policy/key-policy';
import { parseDeleteObjectsKeys } from '../s3/delete-objects-xml';

/** Largest DeleteObjects body the proxy buffers to add Content-MD5 (1000 keys of 1024 bytes fit). */
export const MAX_DELETE_OBJECTS_BODY = 2 * 1024 * 1024;

/**
 * authorize's step, for a key with policies whose DeleteObjects passed the bucket-level check:
 * arms `ctx.authorizeDeleteKeys`, which {@link forwardDeleteObjects} runs on the keys of the body.
 */
export function armDeleteObjectsKeys(ctx: OspRequestContext, policy: KeyPolicy, bucket: string, keys: ConditionKeys, bypassGovernanceRetention: boolean): void {
  ctx.authorizeDeleteKeys = (entries) =>
    firstDenial(
      policy,
      entries.flatMap((e) => deleteObjectChecks(bucket, e.key, e.versionId !== undefined, bypassGovernanceRetention)),
      keys,
    );
}

/** The per-key check authorize armed, for a DeleteObjects; undefined otherwise. */
function keyCheckOf(ctx: OspRequestContext): OspRequestContext['authorizeDeleteKeys'] {
  return ctx.operation === 'DeleteObjects' ? ctx.authorizeDeleteKeys : undefined;
}

/** Whether the proxy reads the body before sending anything upstream (then it answers `Expect: 100-continue` itself). */
export function readsDeleteObjectsBody(ctx: OspRequestContext, plan: Pick<UpstreamBodyPlan, 'addContentMd5'>): boolean {
  return plan.addContentMd5 || keyCheckOf(ctx) !== undefined;
}

/** Reads a small body completely (through `stages`), failing with EntityTooLarge past `limit` bytes. */
export async function readSmallBody(req: Request, stages: Transform[], limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > limit) return cb(new OspError(400, 'EntityTooLarge', `The request body is larger than the ${limit} bytes the proxy buffers for this operation.`));
      parts.push(chunk);
      cb();
    },
  });
  await pipeline([req, ...stages, sink]);
  return Buffer.concat(parts);
}

/** How s3Proxy sends a body it planned (the proxy's forward), with the buffered body when there is one. */
export type ForwardBody = (plan: Pick<UpstreamBodyPlan, 'setHeaders' | 'removeHeaders' | 'payloadHash'>, body?: Buffer) => void;

/**
 * s3Proxy's step, when {@link readsDeleteObjectsBody}: the body is a small XML document, read
 * whole; one denied key refuses the whole request, so nothing is deleted (documented in the README).
 */
export function forwardDeleteObjects(req: Request, ctx: OspRequestContext, plan: UpstreamBodyPlan, stages: Transform[], forward: ForwardBody, next: NextFunction): void {
  const checkKeys = keyCheckOf(ctx);
  readSmallBody(req, stages, MAX_DELETE_OBJECTS_BODY).then(
    (buffer) => {
      if (checkKeys) {
        let denied: OspError | undefined;
        try {
          denied = checkKeys(parseDeleteObjectsKeys(buffer.toString('utf8')));
        } catch (err) {
          return next(err);
        }
        if (denied) return next(denied);
      }
      const setHeaders: Record<string, string> = { ...plan.setHeaders, 'content-length': String(buffer.length) };
      if (plan.addContentMd5) setHeaders['content-md5'] = createHash('md5').update(buffer).digest('base64');
      forward(
        {
          payloadHash: plan.payloadHash === UNSIGNED_PAYLOAD || plan.payloadHash.startsWith('STREAMING-') ? UNSIGNED_PAYLOAD : plan.payloadHash,
          removeHeaders: [...plan.removeHeaders, 'transfer-encoding'],
          setHeaders,
        },
        buffer,
      );
    },
    (err: unknown) => next(err),
  );
}
