/**
 * The agent policy of the upstream module (lib/upstream/upstream.ts): one agent object for both
 * HTTP and HTTPS, which owns the connect and idle timeouts, TLS verification, the DNS lookup and
 * keep-alive of every connection the proxy opens.
 *
 * http-proxy takes a single `agent` option for every request, but backends of one proxy may mix
 * schemes (a local MinIO over HTTP, IBM COS over HTTPS). Node's ClientRequest only calls
 * `agent.addRequest(req, options)` and reads `keepAlive`/`maxSockets`/`options.timeout`; leaving
 * `protocol` unset makes it accept the agent for either scheme. We hand each request to the real
 * agent of its scheme.
 *
 * Timeouts live on the sockets, not on each request (issue [11]): a per-request
 * `ClientRequest.setTimeout` made a new timer for every request and another when the socket went
 * back to the pool, which cost about 6 % of a pass-through's CPU per request. Here a socket gets
 * its idle timeout once, when it is created (Node's agent `timeout` option), and keeps it in the
 * pool; the connect timer exists only while a new socket connects.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';

/** `code` of the errors the agent's timeouts destroy a request with. */
export const UPSTREAM_TIMEOUT_CODE = 'OSP_UPSTREAM_TIMEOUT';

/** The error a backend timeout ends its request with (mapped to 504 BackendTimeout). */
export function upstreamTimeout(what: 'connect' | 'connection'): Error {
  return Object.assign(new Error(`backend ${what} timed out`), { code: UPSTREAM_TIMEOUT_CODE });
}

export interface BackendAgentOptions {
  /** Verify backend TLS certificates. */
  rejectUnauthorized: boolean;
  /** Keep sockets open for the next request. @default true */
  keepAlive?: boolean;
  /**
   * Sockets per backend host. @default Infinity — the upstream request must get its socket at
   * once: http-proxy pipes the body right after creating the request, and a request queued for a
   * socket would render its headers on the first body write, before our proxyReq hook re-signs.
   */
  maxSockets?: number;
  /** Idle keep-alive sockets kept per host. @default 64 */
  maxFreeSockets?: number;
  /** Custom DNS lookup for backend connections (split-horizon DNS, tests). */
  lookup?: LookupFunction;
  /** A new connection (TCP) that has not connected after this long fails its request. @default no limit */
  connectTimeoutMs?: number;
  /**
   * A socket silent for this long (no byte either way) fails the request it carries and, when
   * idle in the pool, is closed. The request sees a `timeout` event; {@link watchSocketTimeout}
   * turns it into an error. @default no limit
   */
  idleTimeoutMs?: number;
}

/** The agent handed to http-proxy, plus a way to close its sockets. */
export interface BackendAgent {
  readonly keepAlive: boolean;
  readonly maxSockets: number;
  /** Read by Node's ClientRequest: with `timeout` set, a socket timeout emits `timeout` on the request. */
  readonly options: { readonly timeout?: number };
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void;
  destroy(): void;
}

type CreateConnection = (this: http.Agent, options: object, callback?: (err: Error | null, socket: Socket) => void) => Socket;

/** Arms a connect timer on each socket the agent creates (only while it connects). */
function withConnectTimeout(agent: http.Agent, timeoutMs: number): void {
  const create = (agent as unknown as { createConnection: CreateConnection }).createConnection;
  (agent as unknown as { createConnection: CreateConnection }).createConnection = function createTimedConnection(options, callback) {
    const socket = create.call(this, options, callback);
    if (socket.connecting) {
      const timer = setTimeout(() => socket.destroy(upstreamTimeout('connect')), timeoutMs);
      const clear = () => clearTimeout(timer);
      socket.once('connect', clear);
      socket.once('close', clear);
    }
    return socket;
  };
}

export function createBackendAgent(options: BackendAgentOptions): BackendAgent {
  const keepAlive = options.keepAlive ?? true;
  const common = {
    keepAlive,
    maxSockets: options.maxSockets ?? Infinity,
    maxFreeSockets: options.maxFreeSockets ?? 64,
    scheduling: 'lifo' as const,
    ...(options.idleTimeoutMs !== undefined ? { timeout: options.idleTimeoutMs } : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const httpAgent = new http.Agent(common);
  const httpsAgent = new https.Agent({ ...common, rejectUnauthorized: options.rejectUnauthorized });
  if (options.connectTimeoutMs !== undefined) {
    withConnectTimeout(httpAgent, options.connectTimeoutMs);
    withConnectTimeout(httpsAgent, options.connectTimeoutMs);
  }
  return {
    keepAlive,
    maxSockets: common.maxSockets,
    options: { timeout: options.idleTimeoutMs },
    addRequest(req, reqOptions) {
      const agent = (req as http.ClientRequest & { protocol?: string }).protocol === 'https:' ? httpsAgent : httpAgent;
      (agent as unknown as { addRequest(r: http.ClientRequest, o: http.RequestOptions): void }).addRequest(req, reqOptions);
    },
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Fails `req` with a BackendTimeout error when its socket reaches the agent's idle timeout (the
 * request emits `timeout` and would otherwise just wait). One listener, no timer.
 */
export function watchSocketTimeout(req: http.ClientRequest): void {
  req.once('timeout', () => req.destroy(upstreamTimeout('connection')));
}
