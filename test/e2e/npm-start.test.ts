/**
 * Issue 12 point 5: `npm start` as a user runs it. `kill <pid of npm start>` and Ctrl-C (SIGINT to
 * the terminal's process group) stop everything it started; a second start does not rebuild a
 * current dist/; a port in use names PORT or METRICS_PORT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server-helpers';
import { YOUNG_GENERATION_FLAG } from '../../lib/server/node-flags';

const ROOT = path.join(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/server/cli.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'osp-npm-start-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Processes the tests started: whatever a failing test leaves running is killed here. */
const tracked = new Set<number>();
afterEach(() => {
  for (const pid of alive([...tracked])) process.kill(pid, 'SIGKILL');
  tracked.clear();
});

/** Every live (non-zombie) process whose ancestry includes `pid`. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parent.set(Number(name), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (const p of parent.keys()) {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) {
      if (q === pid) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}

const alive = (pids: number[]) =>
  pids.filter((p) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });

interface Started {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** `npm start` in its own process group (as a terminal runs it), until the demo is ready or exits. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  let out = '';
  const proc = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OSP_DEMO_LOG: path.join(dir, 'requests.log'), ...env } });
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  tracked.add(proc.pid!);
  const deadline = Date.now() + 90_000;
  while (!out.includes('Stop with Ctrl-C') && proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { proc, output: () => out, exit };
}

async function waitGone(pids: number[]): Promise<number[]> {
  for (const p of pids) tracked.add(p);
  const deadline = Date.now() + 10_000;
  while (alive(pids).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return alive(pids);
}

test('kill <pid of npm start> stops everything it started', async () => {
  const s = await npmStart({ PORT: String(await freePort()), METRICS_PORT: String(await freePort()) });
  expect(s.output()).toContain('Stop with Ctrl-C');
  const started = descendants(s.proc.pid!);
  for (const p of started) tracked.add(p);
  expect(started.length).toBeGreaterThan(0); // the node process of the proxy
  process.kill(s.proc.pid!, 'SIGTERM');
  await s.exit;
  expect(await waitGone(started)).toEqual([]);
}, 120_000);

/** The environment of the demo's node process (the descendant running dist/server/cli.js). */
function demoProcessEnv(npmPid: number): Record<string, string> {
  const pid = descendants(npmPid).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dist/server/cli.js'));
  if (pid === undefined) throw new Error('no demo process');
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

// The young-generation cap (lib/server/node-flags.ts) goes first in NODE_OPTIONS: V8 takes the
// last value of a flag, so a size the user sets in NODE_OPTIONS wins (a command-line flag would not let it).
// package.json's start script spells the flag out (a shell line); this ties it to the constant.
test.each([
  ['', `${YOUNG_GENERATION_FLAG} `],
  ['--max-semi-space-size=4', `${YOUNG_GENERATION_FLAG} --max-semi-space-size=4`],
])(
  'npm start with NODE_OPTIONS=%j runs the demo with NODE_OPTIONS=%j',
  async (userOptions, expected) => {
    const s = await npmStart({ PORT: String(await freePort()), METRICS_PORT: String(await freePort()), NODE_OPTIONS: userOptions });
    try {
      expect(s.output()).toContain('Stop with Ctrl-C');
      for (const p of descendants(s.proc.pid!)) tracked.add(p);
      expect(demoProcessEnv(s.proc.pid!).NODE_OPTIONS).toBe(expected);
    } finally {
      process.kill(s.proc.pid!, 'SIGTERM');
      await s.exit;
    }
  },
  120_000,
);

test('Ctrl-C stops everything; a second start does not rebuild a current dist/', async () => {
  const before = statSync(CLI).mtimeMs; // built by the first test's start at the latest
  const s = await npmStart({ PORT: String(await freePort()), METRICS_PORT: String(await freePort()) });
  expect(s.output()).toContain('Stop with Ctrl-C');
  expect(statSync(CLI).mtimeMs).toBe(before);
  const started = descendants(s.proc.pid!);
  for (const p of started) tracked.add(p);
  process.kill(-s.proc.pid!, 'SIGINT'); // what the terminal does on Ctrl-C: the whole foreground group
  await s.exit;
  expect(await waitGone(started)).toEqual([]);
}, 120_000);

test.each([['PORT'], ['METRICS_PORT']])(
  'a port in use names %s',
  async (variable) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const ports = { PORT: String(await freePort()), METRICS_PORT: String(await freePort()), [variable]: String(busy) };
      const s = await npmStart(ports);
      expect(await s.exit).not.toBe(0);
      expect(s.output()).toMatch(new RegExp(`port ${busy} is already in use: set ${variable} \\(`));
    } finally {
      blocker.close();
    }
  },
  120_000,
);
