/**
 * Issue 12 point 2: importing the middleware loads no server, helmet, pino, prom-client,
 * express-prom-bundle or redis code. Each case runs in a fresh child process (jest's own module
 * registry would hide what Node loads) and inspects `require.cache`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');
const FORBIDDEN = ['redis', '@redis', 'helmet', 'pino', 'pino-http', 'prom-client', 'express-prom-bundle'];

/** Package names (from node_modules paths) and project files under lib/ that `script` loaded. */
function loadedBy(script: string): { packages: Set<string>; libFiles: string[]; count: number } {
  const probe = `
    const before = new Set(Object.keys(require.cache));
    ${script}
    const added = Object.keys(require.cache).filter((k) => !before.has(k));
    process.stdout.write(JSON.stringify(added));`;
  const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', probe], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
  });
  const files = JSON.parse(out) as string[];
  const packages = new Set<string>();
  for (const f of files) {
    const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(f.slice(f.lastIndexOf('node_modules') - 1));
    if (m) packages.add(m[1]!.replace(/\\/g, '/'));
  }
  return { packages, libFiles: files.filter((f) => f.startsWith(join(ROOT, 'lib'))).map((f) => f.slice(ROOT.length + 1)), count: files.length };
}

const forbiddenIn = (packages: Set<string>) => [...packages].filter((p) => FORBIDDEN.some((f) => p === f || p.startsWith(`${f}/`)));

test('require("object-storage-proxy") loads no server, helmet, pino, prom-client or redis code', () => {
  const { packages, libFiles, count } = loadedBy(`require('./lib/index.ts');`);
  expect(forbiddenIn(packages)).toEqual([]);
  expect(libFiles.filter((f) => f.startsWith('lib/server/') || f === 'lib/metrics.ts')).toEqual([]);
  expect(libFiles).toContain('lib/osp-middleware.ts'); // the probe did load the package
  // Today about 150 files (express is the host's; http-proxy-middleware and its deps are ours).
  expect(count).toBeLessThan(400);
});

test('the probe sees redis once a Redis store is created (the load is lazy, not gone)', () => {
  const { packages } = loadedBy(`
    const { createRedisStore } = require('./lib/index.ts');
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 50 }, silent);
    store.close();`);
  expect(forbiddenIn(packages)).toEqual(expect.arrayContaining(['redis', '@redis/client']));
  expect(forbiddenIn(packages).filter((p) => p !== 'redis' && !p.startsWith('@redis/'))).toEqual([]);
});

test('object-storage-proxy/metrics loads prom-client but no server, helmet, pino or redis code', () => {
  const { packages, libFiles } = loadedBy(`require('./lib/metrics.ts');`);
  expect(forbiddenIn(packages)).toEqual(['prom-client']);
  // metrics.ts and the byte counting it uses (plain Node code, no imports) are all it takes from lib/server.
  expect(libFiles.filter((f) => f.startsWith('lib/server/') && f !== 'lib/server/metrics.ts' && f !== 'lib/server/body-bytes.ts')).toEqual([]);
});
