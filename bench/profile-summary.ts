/**
 * Summarizes a V8 CPU profile (`--cpu-prof`, e.g. from `BENCH_PROFILE_DIR=dir BENCH_ONLY=server,osp
 * npm run bench:cpu`) by where the self time went: each npm package, this project's files by
 * folder (lib/server, lib/sigv4, …), Node's internals, GC; idle time and start-up (ts-node
 * compiling, module loading) left out. Issue [11]: "what the remaining cost is spent on".
 *
 * Run: node -r ./bench/register.js bench/profile-summary.ts file.cpuprofile
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const STARTUP = /^(npm: (typescript|ts-node|@cspotcode\/.*)|node: (vm|internal\/modules))$/;

/** The bucket a function's self time is charged to. */
export function bucketOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)' || functionName === '(program)') return functionName;
  if (url === '') return 'native / V8';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const own = /\/(lib|bench|test)\/([^/]+\/)?/.exec(url);
  if (own) return `project: ${own[1]}/${(own[2] ?? '').replace(/\/$/, '') || '(top)'}`;
  return url;
}

function main(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const b = bucketOf(node.callFrame);
    // Idle time, and the start-up: ts-node compiling the sources and loading modules.
    if (b === '(idle)' || STARTUP.test(b)) return;
    time.set(b, (time.get(b) ?? 0) + dt);
    total += dt;
  });
  const rows = [...time.entries()].sort((a, b) => b[1] - a[1]);
  for (const [bucket, t] of rows.slice(0, 25)) console.log(`${((t / total) * 100).toFixed(1).padStart(5)} %  ${bucket}`);
}

if (require.main === module) main(process.argv[2] as string);
