/**
 * `osp --demo`: an embedded S3 backend so the proxy runs with nothing else to set up.
 *
 * Backend choice: moto (`python3 -m moto.server`) rather than an in-process npm S3 server such as
 * s3rver: s3rver stores aws-chunked request bodies with their chunk framing and needs
 * `--openssl-legacy-provider` on Node 20 for ListObjectsV2 pagination, so clients would see wrong
 * data; adding it would also add a dependency. moto is a faithful S3 API; when python3/moto is
 * missing the demo says how to install it (`pip install 'moto[server]'`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

export const DEMO_BUCKET = 'demo';
export const DEMO_ACCESS_KEY = 'demo-access-key';
export const DEMO_SECRET_KEY = 'demo-secret-key';

export interface DemoBackend {
  port: number;
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

function request(port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts moto on a free loopback port, waits until it answers and creates the demo bucket. */
export async function startDemoBackend(options: { timeoutMs?: number } = {}): Promise<DemoBackend> {
  const port = await freePort();
  let child: ChildProcess;
  let exited: string | undefined;
  let stderr = '';
  try {
    child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not start python3 -m moto.server (${(err as Error).message}); install it with: pip install 'moto[server]'`);
  }
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.on('error', (err) => (exited = err.message));
  child.on('exit', (code) => (exited ??= `exit code ${code}`));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`the demo backend (python3 -m moto.server) failed: ${exited}${/No module named/.test(stderr) ? " — moto is not installed; install it with: pip install 'moto[server]'" : ''}\n${stderr}`);
    }
    try {
      if ((await request(port, 'GET', '/')) === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error('the demo backend (moto) did not start in time');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const status = await request(port, 'PUT', `/${DEMO_BUCKET}`);
  if (status !== 200 && status !== 409) {
    stop();
    throw new Error(`could not create the demo bucket on moto (HTTP ${status})`);
  }
  return { port, stop };
}

/** Middleware/server options of the demo. */
export function demoOptions(backendPort: number, httpPort = 8080, metricsPort = 9091) {
  return {
    host: '127.0.0.1',
    httpPort,
    metricsPort,
    serverName: 'object-storage-proxy-demo',
    buckets: { [DEMO_BUCKET]: { host: '127.0.0.1', port: backendPort, tls: false, addressingStyle: 'path' as const, accessKey: 'moto', secretKey: 'moto' } },
    hmacKeystore: [{ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY }],
  };
}

/** The commands printed by `osp --demo`. */
export function demoInstructions(endpoint: string, metrics?: string): string {
  const env = `AWS_ACCESS_KEY_ID=${DEMO_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=${DEMO_SECRET_KEY} AWS_DEFAULT_REGION=us-east-1`;
  return [
    '',
    `object-storage-proxy demo: ${endpoint} -> embedded moto S3 backend, bucket "${DEMO_BUCKET}"`,
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
    ...(metrics ? [`metrics: ${metrics}/metrics   health: ${metrics}/healthz`, ''] : []),
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
