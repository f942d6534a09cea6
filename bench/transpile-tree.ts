/**
 * Transpiles the project's TypeScript (lib/ and the given bench files) to JavaScript in a temporary
 * directory, so that a benchmark can run a proxy process without TypeScript loaded in it.
 *
 * Why: `bench/register.js` keeps the TypeScript compiler in the process that uses it, which
 * costs well over 100 MiB of RSS. That hides nothing in CPU measurements, but a memory benchmark
 * must see the proxy as production runs it (compiled JavaScript), or the compiler's heap is most
 * of what it measures.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/**
 * Writes lib/**\/*.ts, `benchFiles` and package.json as JavaScript under a new temporary directory
 * (same layout as the repo) and returns the directory. Run the output with
 * `NODE_PATH=<repo>/node_modules` so that it finds the dependencies.
 */
export function transpileForBench(benchFiles: readonly string[]): string {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile) as { config: { compilerOptions: unknown } };
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false, noEmit: false };
  const out = mkdtempSync(join(tmpdir(), 'osp-bench-js-'));
  for (const file of [...tsFiles(join(ROOT, 'lib')), ...benchFiles]) {
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText);
  }
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  return out;
}

/** The repo's node_modules (for NODE_PATH). */
export const NODE_MODULES = join(ROOT, 'node_modules');
