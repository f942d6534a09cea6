/**
 * The Node flag the `osp` server starts its cluster workers with (issue [11], peak memory).
 *
 * Under large parallel transfers the proxy's resident memory is not in its streams (those hold a
 * few buffers each) but in V8's young generation, which V8 sizes from the machine's memory (it
 * grew to 64 MiB per semi-space here), and in the socket buffers that wait there for the next
 * scavenge. Capping a semi-space at 16 MiB lowers the peak RSS of 8 parallel 1 GiB transfers
 * (240–247 MiB for PUTs, 233–302 MiB for GETs, against up to 340 MiB) without a measurable CPU
 * cost on small requests; 1 MiB keeps GETs near 218 MiB but costs 1.12× the CPU per small request
 * (`npm run bench:memory`, `BENCH_NODE_FLAGS=... npm run bench:cpu`; numbers in the README, issue
 * [11]). V8 reads the flag only at start-up, so a running process cannot apply it to itself: the
 * primary passes it to the workers it forks, `npm start` to the demo (in NODE_OPTIONS), and the
 * README tells everyone else.
 */

/** The young-generation cap applied by default. */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=16';

/** Flags with which the user already chose the young generation's size (or the whole heap's). */
const SIZE_SETTINGS = /(^|\s)--(max|min)[-_]semi[-_]space[-_]size\b|(^|\s)--max[-_]heap[-_]size\b/;

/**
 * The `execArgv` for cluster workers: the primary's own, plus {@link YOUNG_GENERATION_FLAG} unless
 * the command line or `NODE_OPTIONS` already sets the young generation's (or the heap's) size.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  if (SIZE_SETTINGS.test(nodeOptions) || execArgv.some((a) => SIZE_SETTINGS.test(a))) return [...execArgv];
  return [...execArgv, YOUNG_GENERATION_FLAG];
}
