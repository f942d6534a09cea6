/** The young-generation flag of cluster workers: added by default, never over the user's own sizing. */
import { workerExecArgv, YOUNG_GENERATION_FLAG } from '../../../lib/server/node-flags';

test('added to the primary execArgv when nothing sizes the young generation', () => {
  expect(workerExecArgv([], '')).toEqual([YOUNG_GENERATION_FLAG]);
  expect(workerExecArgv(['-r', 'x/register.js', '--enable-source-maps'], '--max-old-space-size=4096')).toEqual(['-r', 'x/register.js', '--enable-source-maps', YOUNG_GENERATION_FLAG]);
});

test.each([
  [['--max-semi-space-size=64'], ''],
  [['--max_semi_space_size=8'], ''],
  [['--min-semi-space-size=4'], ''],
  [['--max-heap-size=512'], ''],
  [[], '--max-semi-space-size=2'],
  [[], '--trace-warnings --max-semi-space-size=32'],
])('left out when the user sized it: execArgv %j, NODE_OPTIONS %j', (execArgv, nodeOptions) => {
  expect(workerExecArgv(execArgv, nodeOptions)).toEqual(execArgv);
});

test('YOUNG_GENERATION_FLAG is a flag this Node accepts', () => {
  expect(process.allowedNodeEnvironmentFlags.has(YOUNG_GENERATION_FLAG.split('=')[0]!)).toBe(true);
});
