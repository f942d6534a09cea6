/**
 * Issue 12: the README's "two commands" as a new user meets them, from a fresh clone of the
 * committed tree: `npm start` installs what is missing, builds, starts the demo and prints commands
 * that work; killing it stops everything. The README and `.ci/run` name exactly those commands.
 * (`npm test` itself is what runs this file, and CI runs it from a fresh clone through `.ci/run`.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server-helpers';

const ROOT = path.join(__dirname, '../..');
let dir: string;
let clone: string;
let npmStart: ChildProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'osp-fresh-clone-'));
  clone = path.join(dir, 'repo');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
});
afterAll(() => {
  if (npmStart?.pid !== undefined && npmStart.exitCode === null) {
    try {
      process.kill(-npmStart.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the README names the two commands, and .ci/run runs the test command', () => {
  const readme = readFileSync(path.join(clone, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The two commands'), readme.indexOf('\n## ', readme.indexOf('## The two commands') + 5));
  const commands = [...section.matchAll(/\| `([^`]+)` \|\s*$/gm)].map((m) => m[1]);
  expect(commands).toEqual(['npm start', 'npm test']);
  expect(readFileSync(path.join(clone, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
});

test('npm start on a fresh clone: installs, builds, serves the demo; its printed aws-cli commands work; kill stops it', async () => {
  const port = await freePort();
  const metricsPort = await freePort();
  const lines: string[] = [];
  // As a user would: a shell in the clone, the machine's npm on PATH (no node_modules yet).
  // prefer-offline: npm takes what its cache already holds (the suite may run without network,
  // e.g. in a network namespace) and asks the registry only for what is missing.
  const env = { ...process.env, PORT: String(port), METRICS_PORT: String(metricsPort), OSP_DEMO_LOG: path.join(dir, 'requests.log'), npm_config_prefer_offline: 'true' };
  const child = spawn('npm', ['start'], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  npmStart = child;
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
  child.stderr!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
  const deadline = Date.now() + 540_000;
  while (!lines.some((l) => l.startsWith('osp listening:'))) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${lines.slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`npm start did not listen:\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(readFileSync(path.join(clone, 'node_modules/.bin/node')).length).toBeGreaterThan(0);
  // The printed aws-cli commands, run as printed (a shell in the user's folder).
  const aws = lines.filter((l) => /^\s+\S*=\S+ .*aws --endpoint-url /.test(l)).map((l) => l.trim());
  expect(aws.length).toBeGreaterThanOrEqual(3);
  const out = execFileSync('bash', ['-c', `echo fresh > hello.txt && ${aws.join(' && ')}`], { cwd: dir, encoding: 'utf8' });
  expect(out).toContain('fresh');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(child.pid!, 'SIGTERM');
  expect(await exited).toBe(0);
}, 600_000);
