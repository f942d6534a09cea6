/**
 * The suite runs on a supported Node line (issue [11]): >= 22.15 (http-proxy-middleware 4 and
 * require() of ES modules need it), and on the exact major of the project's own `node` devDependency
 * that test/run-all.sh and the npm scripts select (OSP_TEST_NODE_LINE: `node` = 24, `node22` = 22).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function majorOfDevDependency(name: string): number {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const spec = pkg.devDependencies[name];
  const match = spec === undefined ? null : /(\d+)\./.exec(spec);
  if (!match) throw new Error(`no devDependency ${name} with a version in package.json`);
  return Number(match[1]);
}

describe('Node runtime', () => {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];

  it('is at least 22.15', () => {
    expect(major > 22 || (major === 22 && minor >= 15)).toBe(true);
  });

  it('is the major of the devDependency the scripts select', () => {
    const line = process.env.OSP_TEST_NODE_LINE ?? 'node';
    expect(major).toBe(majorOfDevDependency(line));
  });
});
