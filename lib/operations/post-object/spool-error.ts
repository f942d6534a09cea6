/**
 * A failure of the proxy's own POST spool file (the temporary copy of a browser upload for
 * backends that need a Content-Length): the proxy's fault, not the backend's and not the client's.
 */
import { OspError, s3Errors } from '../../errors';
import type { OspLogger } from '../../options';

/** Out of room (disk, quota, file handles): temporary, worth retrying later. */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE']);

/**
 * Logs the spool failure with its errno (`ENOSPC` …) and the spool directory, and gives the S3
 * error for the client: `503 ServiceUnavailable` when the spool is out of room (clients and SDKs
 * retry 503), else `500 InternalError`. Neither names the path nor the errno: that is for the log.
 */
export function spoolFailure(err: NodeJS.ErrnoException, logger: OspLogger, requestId: string, directory: string): OspError {
  logger.error({ requestId, code: err.code, syscall: err.syscall, directory }, 'object-storage-proxy: POST upload spool failed (temporary file); nothing was sent to the backend');
  if (err.code !== undefined && NO_ROOM.has(err.code)) return new OspError(503, 'ServiceUnavailable', 'The proxy has no room to buffer this upload right now. Please try again later.');
  return s3Errors.internal(err);
}
