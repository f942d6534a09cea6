/** Cluster IPC messages for invalidation, shared by the primary and the workers. */
import type { OspApp } from './create-app';

/** Cluster IPC: apply an invalidation (primary → worker), or fan one out (worker → primary). */
export interface InvalidateMessage {
  type: 'osp:invalidate' | 'osp:invalidate:fwd';
  kind: 'accessKey' | 'bucket';
  value: string;
  /** Also clear the shared store and publish (one worker does it for the whole server). */
  propagate?: boolean;
}

export function isInvalidateMessage(m: unknown, type: InvalidateMessage['type']): m is InvalidateMessage {
  const msg = m as Partial<InvalidateMessage> | null;
  return typeof msg === 'object' && msg !== null && msg.type === type && (msg.kind === 'accessKey' || msg.kind === 'bucket') && typeof msg.value === 'string';
}

export function invalidate(osp: OspApp['osp'], kind: 'accessKey' | 'bucket', value: string, localOnly: boolean): Promise<boolean> {
  return kind === 'accessKey' ? osp.revokeAccessKey(value, { localOnly }) : osp.invalidateBucket(value, { localOnly });
}
