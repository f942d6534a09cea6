/**
 * One keep-alive agent object for both HTTP and HTTPS backends.
 *
 * http-proxy takes a single `agent` option for every request, but backends of one proxy may mix
 * schemes (a local MinIO over HTTP, IBM COS over HTTPS). Node's ClientRequest only calls
 * `agent.addRequest(req, options)` and reads `keepAlive`/`maxSockets`; leaving `protocol` unset
 * makes it accept the agent for either scheme. We hand each request to the real agent of its scheme.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface BackendAgentOptions {
  /** Verify backend TLS certificates. */
  rejectUnauthorized: boolean;
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
}

/** The agent handed to http-proxy, plus a way to close its sockets. */
export interface BackendAgent {
  readonly keepAlive: boolean;
  readonly maxSockets: number;
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void;
  destroy(): void;
}

export function createBackendAgent(options: BackendAgentOptions): BackendAgent {
  const common = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? Infinity,
    maxFreeSockets: options.maxFreeSockets ?? 64,
    scheduling: 'lifo' as const,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const httpAgent = new http.Agent(common);
  const httpsAgent = new https.Agent({ ...common, rejectUnauthorized: options.rejectUnauthorized });
  return {
    keepAlive: true,
    maxSockets: common.maxSockets,
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
