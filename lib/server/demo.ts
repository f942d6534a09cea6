/**
 * `osp --demo`: an embedded S3 backend so the proxy runs with nothing but Node and npm.
 *
 * Backend: @20minutes/s3rver (the maintained fork of s3rver, pure JavaScript), in this process on a
 * free loopback port, storing into a temporary directory that is deleted on stop. In-process, so
 * stopping the proxy (Ctrl-C, `kill`) stops the backend too: nothing is left running.
 * s3rver accepts only plain bodies, `UNSIGNED-PAYLOAD`/hex hashes and signed aws-chunked, and checks
 * no hashes or checksums (/work/shared/BACKENDS.md): the demo bucket therefore uses the
 * conservative profile — the proxy decodes every aws-chunked form and verifies hashes and
 * checksums itself before forwarding. s3rver is a devDependency: `npm start` in a clone installs
 * it; an installed package's `osp --demo` says how to add it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BackendCapabilities } from '../backends/profiles';

export const DEMO_BUCKET = 'demo';
export const DEMO_ACCESS_KEY = 'demo-access-key';
export const DEMO_SECRET_KEY = 'demo-secret-key';
/** s3rver's fixed credentials (it checks the key name only). */
const BACKEND_KEY = 'S3RVER';
const S3RVER_PACKAGE = '@20minutes/s3rver';

/** Decode every aws-chunked form, verify hashes/checksums in the proxy (s3rver does neither). */
export const DEMO_BACKEND_PROFILE: BackendCapabilities = { unsignedPayloadTrailer: false, deleteObjectsRequiresContentMd5: true, verifiesPayloadHash: false, verifiesChecksumHeaders: false };

export interface DemoBackend {
  port: number;
  /** Stops the backend and deletes its data directory. Synchronous enough for an exit handler. */
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface S3rverInstance {
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

function loadS3rver(): S3rverConstructor {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(S3RVER_PACKAGE) as S3rverConstructor;
  } catch (err) {
    throw new Error(
      `the demo backend needs the npm package ${S3RVER_PACKAGE} (a devDependency; \`npm start\` in a clone installs it): npm install ${S3RVER_PACKAGE} (${(err as Error).message.split('\n')[0]})`,
    );
  }
}

/** Starts s3rver in this process on a free loopback port with the demo bucket. */
export async function startDemoBackend(): Promise<DemoBackend> {
  const S3rver = loadS3rver();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'osp-demo-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: DEMO_BUCKET }] });
  let address: net.AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    port: address.port,
    stop() {
      if (stopped) return;
      stopped = true;
      server.close().catch(() => undefined);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Middleware/server options of the demo. */
export function demoOptions(backendPort: number, httpPort = 8080, metricsPort = 9091) {
  return {
    host: '127.0.0.1',
    httpPort,
    metricsPort,
    serverName: 'object-storage-proxy-demo',
    buckets: {
      [DEMO_BUCKET]: { host: '127.0.0.1', port: backendPort, tls: false, addressingStyle: 'path' as const, accessKey: BACKEND_KEY, secretKey: BACKEND_KEY, profile: DEMO_BACKEND_PROFILE },
    },
    hmacKeystore: [{ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY }],
  };
}

/** The commands printed by `osp --demo`. */
export function demoInstructions(endpoint: string, metrics?: string, logFile?: string): string {
  const env = `AWS_ACCESS_KEY_ID=${DEMO_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=${DEMO_SECRET_KEY} AWS_DEFAULT_REGION=us-east-1`;
  return [
    '',
    `object-storage-proxy demo: ${endpoint} -> embedded S3 backend (s3rver, in this process), bucket "${DEMO_BUCKET}"`,
    `frontend keys: access key ${DEMO_ACCESS_KEY}, secret key ${DEMO_SECRET_KEY}`,
    '',
    'aws-cli:',
    `  echo hello > hello.txt`,
    `  ${env} aws --endpoint-url ${endpoint} s3 cp hello.txt s3://${DEMO_BUCKET}/hello.txt`,
    `  ${env} aws --endpoint-url ${endpoint} s3 ls s3://${DEMO_BUCKET}`,
    `  ${env} aws --endpoint-url ${endpoint} s3 cp s3://${DEMO_BUCKET}/hello.txt -`,
    '',
    'boto3:',
    `  python3 -c "import boto3; s3 = boto3.client('s3', endpoint_url='${endpoint}', aws_access_key_id='${DEMO_ACCESS_KEY}', aws_secret_access_key='${DEMO_SECRET_KEY}', region_name='us-east-1'); s3.put_object(Bucket='${DEMO_BUCKET}', Key='hi.txt', Body=b'hi'); print(s3.get_object(Bucket='${DEMO_BUCKET}', Key='hi.txt')['Body'].read())"`,
    '',
    ...(metrics ? [`metrics: ${metrics}/metrics   health: ${metrics}/healthz`] : []),
    ...(logFile ? [`request log: ${logFile}   (tail -f it; OSP_DEMO_LOG=- logs to this terminal)`] : []),
    'ports: PORT (proxy) and METRICS_PORT (metrics), e.g. PORT=8081 METRICS_PORT=9092 npm start',
    '',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}

/** The error for a port in use, naming the variable that sets it. */
export function portInUseMessage(port: number | undefined, httpPort: number, metricsPort: number): string {
  const which = port === metricsPort ? `METRICS_PORT (metrics port, now ${metricsPort})` : `PORT (proxy port, now ${httpPort})`;
  return `port ${port ?? httpPort} is already in use: set ${which} to a free port, e.g. PORT=${httpPort + 1} METRICS_PORT=${metricsPort + 1} npm start`;
}
