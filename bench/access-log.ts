/**
 * CPU per access-log line by log destination (issue [11]), in process, one line per event-loop
 * turn (as requests end on a busy server), written to /dev/null:
 * - `line`: asynchronous, one write per line as soon as the previous write is done (the server's
 *   destination before 2026-12-01: `pino.destination({ sync: false, minLength: 1 })`);
 * - `batched`: the server's destination now ({@link batchedDestination}: batches of up to 4 KiB, a line waits
 *   at most 100 ms);
 * - `sync`: one blocking write(2) per line (pino's default destination).
 * The CPU is the whole process's (`process.cpuUsage`): the libuv thread-pool threads that do the
 * asynchronous writes included. Variants run interleaved (line batched sync, line batched sync, …)
 * and the median round is reported, with the per-round ratios against `line`.
 *
 * Run: npm run bench:log   (or: node -r ./bench/register.js bench/access-log.ts)
 */
import { openSync } from 'node:fs';
import pino from 'pino';
import { batchedDestination } from '../lib/server/log-destination';
import { medianRound } from './stats';

const LINES = Number(process.env.BENCH_LINES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
// A descriptor per round: ending a destination closes it.
const devNull = () => openSync('/dev/null', 'w');

const destinations = {
  line: () => pino.destination({ dest: devNull(), sync: false, minLength: 1 }),
  batched: () => batchedDestination(devNull()),
  sync: () => pino.destination({ dest: devNull(), sync: true }),
};
type Variant = keyof typeof destinations;

// The fields and sizes of a real access-log line (lib/server/access-log.ts).
const entry = {
  reqId: '1a2b3c4d5e6f7a8b',
  req: { id: '1a2b3c4d5e6f7a8b', method: 'GET', url: '/bench/some/object.txt', remoteAddress: '127.0.0.1', headers: { host: '127.0.0.1:8080', 'user-agent': 'aws-sdk-js/3', 'content-length': '0' } },
  requestId: '1a2b3c4d5e6f7a8b',
  bucket: 'bench',
  operation: 'GetObject',
  res: { statusCode: 200 },
  responseTime: 2,
  authMethod: 'sigv4-header',
  status: 200,
  bytesIn: 0,
  bytesOut: 1024,
};

/** CPU µs per line: `LINES` lines, one per setImmediate turn, then a flush. */
function runRound(variant: Variant): Promise<number> {
  const destination = destinations[variant]();
  const log = pino({ level: 'info' }, destination);
  return new Promise((resolve) => {
    let written = 0;
    const start = process.cpuUsage();
    const step = () => {
      log.info(entry, 'request completed');
      if (++written < LINES) return void setImmediate(step);
      destination.flush(() => {
        const used = process.cpuUsage(start);
        destination.end();
        resolve((used.user + used.system) / LINES);
      });
    };
    step();
  });
}

async function main(): Promise<void> {
  const variants = Object.keys(destinations) as Variant[];
  const cpu: Record<string, number[]> = {};
  for (const v of variants) await runRound(v); // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const v of variants) (cpu[v] ??= []).push(await runRound(v));
  console.log(`node ${process.version}: access-log lines to /dev/null, ${LINES} per round, ${ROUNDS} interleaved rounds, one line per event-loop turn`);
  for (const v of variants) {
    const ratio = medianRound((cpu[v] as number[]).map((x, i) => x / (cpu.line as number[])[i]!));
    console.log(`  ${v}: ${medianRound(cpu[v] as number[]).toFixed(2)} µs CPU/line, ${ratio.toFixed(2)}× line (rounds: ${(cpu[v] as number[]).map((x) => x.toFixed(1)).join(' ')})`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
