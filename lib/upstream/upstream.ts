/**
 * The upstream module: every byte the proxy sends to another server goes through the agents of one
 * {@link Upstream}, built from the options' one agent policy (`verify`, `upstreamLookup`,
 * `upstreamConnectTimeoutMs`, `upstreamIdleTimeoutMs`).
 *
 * Which agents exist, and why:
 * - `backends`: the storage backends. Keep-alive (a pass-through's cost is mostly its connection),
 *   both schemes in one object (lib/upstream/agent.ts). Carries the proxied requests
 *   (http-proxy-middleware stays their engine, with this agent), IBM bearer retries, browser POST
 *   uploads, the ListBuckets fan-out and the CORS lookups: all talk to the same hosts, so they share
 *   the pool and its limits.
 * - `iam`: the IBM IAM token endpoint. Not a storage backend, but it obeys the same TLS
 *   verification, lookup (a private IAM endpoint behind split-horizon DNS) and connect timeout.
 *   No keep-alive: exchanges are rare (one per API key per token lifetime), and a pooled socket
 *   that IAM closed meanwhile would only add a spurious failure. Its own agent so its sockets never
 *   count against, or wait behind, the backends' pool.
 *
 * `ospMiddleware` makes one Upstream per generation of its options (each `update()` makes a new
 * one; the old one closes once its requests are done) and shares it with all its stages; a stage
 * factory used on its own makes its own. `close()` closes both agents.
 * Error mapping: lib/upstream/errors.ts; the tracing hook: lib/upstream/watch.ts.
 */
import type { ResolvedOptions } from '../options';
import { createBackendAgent, type BackendAgent } from './agent';

/** The part of the options that makes the agent policy. */
export type UpstreamPolicy = Pick<ResolvedOptions, 'verify' | 'upstreamLookup' | 'upstreamConnectTimeoutMs' | 'upstreamIdleTimeoutMs'>;

/** The agents of one generation of the options. */
export interface Upstream {
  /** Storage backends (keep-alive). */
  readonly backends: BackendAgent;
  /** The IAM token endpoint (no keep-alive). */
  readonly iam: BackendAgent;
  /** Closes the connections of both agents (idempotent). */
  close(): void;
}

/** The agents of the policy in `o`. */
export function createUpstream(o: UpstreamPolicy): Upstream {
  const policy = { rejectUnauthorized: o.verify, lookup: o.upstreamLookup, connectTimeoutMs: o.upstreamConnectTimeoutMs, idleTimeoutMs: o.upstreamIdleTimeoutMs };
  const backends = createBackendAgent(policy);
  const iam = createBackendAgent({ ...policy, keepAlive: false });
  return {
    backends,
    iam,
    close() {
      backends.destroy();
      iam.destroy();
    },
  };
}

/** The Upstream registered for an options object (by ospMiddleware, for the stages it builds). */
const shared = new WeakMap<object, Upstream>();

/** Makes the stages built from `options` use `upstream` (ospMiddleware: one per generation). */
export function shareUpstream(options: object, upstream: Upstream): void {
  shared.set(options, upstream);
}

/** The Upstream of the stages built from `options`: the shared one, or a new one for a stage used on its own. */
export function upstreamFor(options: object, o: UpstreamPolicy): Upstream {
  return shared.get(options) ?? createUpstream(o);
}
