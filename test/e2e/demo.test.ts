/**
 * `osp --demo` (what `npm start` runs): the proxy on the embedded s3rver backend, and the printed
 * aws-cli and boto3 commands work exactly as printed. test/e2e/npm-start.test.ts covers `npm start`
 * itself (signals, no rebuild, ports).
 */
import { spawn, exec, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './server-helpers';

const run = promisify(exec);

describe('osp --demo', () => {
  let proc: ChildProcess;
  let output = '';
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'osp-demo-'));
    const [port, metrics] = [await freePort(), await freePort()];
    proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/server/cli.ts'), '--demo'], {
      cwd: path.join(__dirname, '../..'),
      env: { ...process.env, PORT: String(port), METRICS_PORT: String(metrics), OSP_DEMO_LOG: path.join(dir, 'requests.log') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 60_000;
    while (!output.includes('Stop with Ctrl-C')) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`demo did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the printed aws-cli commands work as printed', async () => {
    const lines = output.split('\n').map((l) => l.trim());
    const cli = lines.filter((l) => l.startsWith('echo hello') || l.startsWith('AWS_ACCESS_KEY_ID='));
    expect(cli.length).toBe(4);
    const env = { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    let last = '';
    for (const command of cli) last = (await run(command, { cwd: dir, env, timeout: 60_000 })).stdout;
    expect(last.trim()).toBe('hello');
  });

  it('the printed boto3 command works as printed', async () => {
    const command = output
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('python3 -c'));
    expect(command).toBeDefined();
    const { stdout } = await run(command as string, { cwd: dir, timeout: 60_000 });
    expect(stdout.trim()).toBe("b'hi'");
  });

  it('request logs go to the file, not between the printed commands', () => {
    const log = readFileSync(path.join(dir, 'requests.log'), 'utf8').trim().split('\n');
    expect(log.filter((l) => l.includes('"request completed"')).length).toBeGreaterThanOrEqual(5);
    expect(output).not.toContain('request completed');
  });

  it('SIGTERM stops the proxy and its in-process backend (no child processes), exit code 0', async () => {
    const children = (await run(`ps -o pid= --ppid ${proc.pid}`).catch(() => ({ stdout: '' }))).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    expect(children).toEqual([]);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
