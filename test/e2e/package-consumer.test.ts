/**
 * Issue 12 point 3: the packed package, as a consumer meets it. Builds (`tsc -p
 * tsconfig.build.json`, what `npm run build` runs, into a scratch directory so the repo's dist/
 * is left alone for parallel tests), runs `npm pack`, installs the tarball into a fresh project
 * offline (extracted into its node_modules; its dependencies and express/@types come from this
 * repo's node_modules, by symlink), then:
 * - compiles test/fixtures/consumer/use-package.ts, which uses every public export, under strict
 *   TypeScript three ways: CommonJS with node10 resolution (.ts), nodenext CommonJS (.cts) and
 *   nodenext ESM (.mts);
 * - requires and imports the three entry points at run time (CommonJS and ESM);
 * - checks that the fixture imports exactly the package's exports (a removed export fails the
 *   compile; an added one must be added to the fixture).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const FIXTURE = join(ROOT, 'test/fixtures/consumer/use-package.ts');
const ENTRIES = { 'object-storage-proxy': 'index', 'object-storage-proxy/metrics': 'metrics', 'object-storage-proxy/server': 'server/index' } as const;

let dir: string;
let consumer: string;
let packedFiles: string[];

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs tsc; on failure returns its diagnostics (so the assertion shows them). */
function compile(project: string): string {
  try {
    run(process.execPath, [TSC, '-p', project], consumer);
    return '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}` || String(e);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'osp-consumer-'));
  const stage = join(dir, 'stage');
  mkdirSync(stage);
  run(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], ROOT);
  cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
  cpSync(join(ROOT, 'README.md'), join(stage, 'README.md'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], stage)) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed[0]!.files.map((f) => f.path);

  consumer = join(dir, 'consumer');
  mkdirSync(join(consumer, 'node_modules'), { recursive: true });
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', dir], dir);
  renameSync(join(dir, 'package'), join(consumer, 'node_modules/object-storage-proxy'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || name === 'object-storage-proxy') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(consumer, 'node_modules', name));
  }
  const source = readFileSync(FIXTURE, 'utf8');
  for (const ext of ['ts', 'cts', 'mts']) writeFileSync(join(consumer, `use.${ext}`), source);
  const strict = {
    strict: true,
    noEmit: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    exactOptionalPropertyTypes: false,
    skipLibCheck: false,
    types: ['node'],
    target: 'ES2022',
    lib: ['ES2022'],
  };
  writeFileSync(join(consumer, 'tsconfig.cjs.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, files: ['use.ts'] }));
  writeFileSync(join(consumer, 'tsconfig.nodenext.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['use.cts', 'use.mts'] }));
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the built entry points and README, no sources or tests', () => {
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/metrics.js', 'dist/metrics.d.ts', 'dist/server/index.js', 'dist/server/index.d.ts', 'dist/server/cli.js'])
    expect(packedFiles).toContain(f);
  expect(packedFiles.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual([]);
});

test('every public export compiles under strict TypeScript: CommonJS (node10 resolution)', () => {
  expect(compile('tsconfig.cjs.json')).toBe('');
});

test('every public export compiles under strict TypeScript: nodenext, .cts and .mts', () => {
  expect(compile('tsconfig.nodenext.json')).toBe('');
});

test('the entry points load at run time: require and import', () => {
  const cjs = run(process.execPath, ['-e', `for (const m of ${JSON.stringify(Object.keys(ENTRIES))}) console.log(m, Object.keys(require(m)).length)`], consumer);
  expect(cjs.trim().split('\n')).toHaveLength(3);
  const esm = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { ospMiddleware } from 'object-storage-proxy'; import { ospMetrics } from 'object-storage-proxy/metrics'; import { startServer } from 'object-storage-proxy/server'; console.log([ospMiddleware, ospMetrics, startServer].map((f) => typeof f).join())`,
    ],
    consumer,
  );
  expect(esm.trim()).toBe('function,function,function');
});

/** Names exported by a built declaration file (values and types). */
function exportsOf(dts: string): string[] {
  const program = ts.createProgram([dts], { skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(dts)!)!;
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

/** Names the fixture imports from `specifier`. */
function importedBy(specifier: string): string[] {
  const source = readFileSync(FIXTURE, 'utf8');
  const m = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from '${specifier.replace('/', '\\/')}'`).exec(source);
  return (m?.[1] ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .sort();
}

test.each(Object.entries(ENTRIES))('the fixture uses exactly the exports of %s', (specifier, file) => {
  const dts = join(consumer, 'node_modules/object-storage-proxy/dist', `${file}.d.ts`);
  expect(importedBy(specifier)).toEqual(exportsOf(dts));
});

test('internals are not exported', () => {
  const names = exportsOf(join(consumer, 'node_modules/object-storage-proxy/dist/index.d.ts'));
  expect(names).not.toContain('resolveOptions');
  expect(names).not.toContain('ResolvedOptions');
});
