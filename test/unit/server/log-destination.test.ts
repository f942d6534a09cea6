import { spawnSync } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MAX_DELAY_MS, PIPE_BUF, batchedDestination } from '../../../lib/server/log-destination';
import { createLogger, flushLogger } from '../../../lib/server/create-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls until `done()` (writes go through libuv's thread pool: how long they take depends on the machine's load). */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); await sleep(10)) if (Date.now() > deadline) throw new Error('timed out');
}

describe('batchedDestination (issue [11]: one write per batch of log lines, not per line)', () => {
  let dir: string;
  let file: string;
  let fd: number;
  let opened: ReturnType<typeof batchedDestination>[];
  const open = () => {
    const destination = batchedDestination(fd);
    opened.push(destination);
    return destination;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'osp-log-'));
    file = path.join(dir, 'log');
    fd = openSync(file, 'w');
    opened = [];
  });
  afterEach(async () => {
    // end() writes what is left and closes the descriptor.
    for (const destination of opened) await new Promise((resolve) => (destination.once('close', resolve), destination.end()));
    rmSync(dir, { recursive: true, force: true });
  });
  const written = () => readFileSync(file, 'utf8');
  const lines = () => written().split('\n').filter(Boolean);

  it('holds a small line back, then writes it within MAX_DELAY_MS', async () => {
    const destination = open();
    const log = pino({ base: null }, destination);
    log.info('first');
    log.info('second');
    // (This timer is due before the batch's: it runs first however late the loop gets to them.)
    await sleep(MAX_DELAY_MS / 5);
    expect(written()).toBe('');
    await until(() => lines().length === 2);
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['first', 'second']);
    // A later line gets its own delay (the timer is started again by the next batch's first line).
    log.info('third');
    await until(() => lines().length === 3);
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['first', 'second', 'third']);
  });

  it('writes whole lines in batches of at most PIPE_BUF bytes, in order and complete', async () => {
    const destination = open();
    const writes: number[] = [];
    destination.on('write', (n: number) => writes.push(n));
    const log = pino({ base: null }, destination);
    const filler = 'é'.repeat(150); // 300 bytes in UTF-8: a byte count by string length would overshoot PIPE_BUF
    const count = Math.ceil((PIPE_BUF * 4) / filler.length);
    for (let i = 0; i < count; i++) log.info({ i, filler }, 'line');
    await until(() => lines().length === count);
    expect(lines().map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(Math.max(...writes)).toBeLessThanOrEqual(PIPE_BUF);
    expect(writes.length).toBeLessThan(count / 5); // batched: many lines per write
    // Each write ends with a whole line.
    let offset = 0;
    const bytes = readFileSync(file);
    for (const n of writes) expect(bytes[(offset += n) - 1]).toBe(0x0a);
  });

  it('writes a line longer than PIPE_BUF whole, in a write of its own', async () => {
    const destination = open();
    const writes: number[] = [];
    destination.on('write', (n: number) => writes.push(n));
    const log = pino({ base: null }, destination);
    log.info('short');
    log.info({ long: 'x'.repeat(PIPE_BUF * 2) }, 'long');
    log.info('after');
    await until(() => lines().length === 3);
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['short', 'long', 'after']);
    expect(writes.filter((n) => n > PIPE_BUF)).toHaveLength(1);
  });

  it('flushLogger writes the waiting lines without waiting for the timer', async () => {
    const logger = createLogger({ destination: open() });
    logger.info('waiting');
    await flushLogger(logger);
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['waiting']);
  });

  it('writes the waiting lines synchronously on flushSync (what pino does at process exit), not in an asynchronous write', async () => {
    const destination = open();
    const log = pino({ base: null }, destination);
    log.info('at exit');
    // Every thread of libuv's pool busy: an asynchronous write started now could not finish before
    // the process ends (at exit it is lost); a synchronous one is done when flushSync returns.
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const busy = Array.from({ length: poolSize }, () => new Promise((resolve) => pbkdf2('x', 'y', 300_000, 32, 'sha256', resolve)));
    destination.flushSync();
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['at exit']);
    await Promise.all(busy);
  });

  it('stops its timer when ended: a line logged just before end() is written once, no write after, a line after it fails at the call', async () => {
    const destination = batchedDestination(fd);
    pino({ base: null }, destination).info('then closed');
    await new Promise((resolve) => (destination.once('close', resolve), destination.end()));
    expect(lines().map((l) => JSON.parse(l).msg)).toEqual(['then closed']);
    const errors: Error[] = [];
    destination.on('error', (e: Error) => errors.push(e));
    await sleep(MAX_DELAY_MS * 2); // a timer still armed would flush a destroyed stream and throw
    expect(errors).toEqual([]);
    // A line after the end fails at the call, as with pino's own destination, not later in a timer.
    expect(() => pino({ base: null }, destination).info('too late')).toThrow('SonicBoom destroyed');
  });

  it('neither keeps a process alive nor loses its last lines when the process exits on its own', () => {
    // The child logs and returns: the unref'd timer must not hold it for MAX_DELAY_MS, and pino's
    // exit hook must write the line that was still waiting.
    const probe = `
      const pino = require('pino');
      const { batchedDestination } = require(${JSON.stringify(path.join(__dirname, '../../../lib/server/log-destination.ts'))});
      const destination = batchedDestination(1);
      pino({ base: null }, destination).info('last words');
      globalThis.startedExit = Date.now();
      process.on('exit', () => process.stderr.write(String(Date.now() - globalThis.startedExit)));
    `;
    const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', probe], { encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(
      child.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).msg),
    ).toEqual(['last words']);
    // Exited at once, not when the batch timer fired (a referenced timer holds the loop MAX_DELAY_MS).
    expect(Number(child.stderr)).toBeLessThan(MAX_DELAY_MS);
  });
});
