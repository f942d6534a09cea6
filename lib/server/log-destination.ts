/**
 * The server's default log destination: stdout, written asynchronously in batches.
 *
 * One write per log line costs the server a write(2) on the libuv thread pool and the wake-ups of
 * a pool thread and of the event loop, per request (issue [11]). Lines are gathered into writes of
 * up to {@link PIPE_BUF} bytes; a line never waits longer than {@link MAX_DELAY_MS} (a timer
 * started by the first line of a batch), so an idle server's log is still current within a fraction
 * of a second. Buffered lines are flushed by `RunningServer.close()` and, synchronously, when the
 * process exits (pino registers that); only a kill -9 can lose the last {@link MAX_DELAY_MS} of
 * lines.
 */
import pino from 'pino';

/**
 * The largest write a pipe takes atomically (POSIX `PIPE_BUF`, 4096 on Linux): the workers of a
 * cluster share one stdout, and a longer write to a full pipe can be interleaved with another
 * worker's, splitting lines. No write is longer unless a single line is (as before batching).
 */
export const PIPE_BUF = 4096;
/** The longest a line waits in the batch. */
export const MAX_DELAY_MS = 100;

type Destination = ReturnType<typeof pino.destination>;

/**
 * An asynchronous pino destination on `fd` that writes whole lines in batches of up to
 * {@link PIPE_BUF} bytes, {@link MAX_DELAY_MS} after the first line of a batch at the latest.
 *
 * The lines of a batch are gathered here, in an array joined once per batch: sonic-boom's own
 * buffering (`minLength`) appends each line to one growing string and measures that string's
 * byte length on every write, which costs more than it saves at access-log line sizes.
 */
export function batchedDestination(fd = 1): Destination {
  // minLength 1: flush(cb) waits for the write under way (with 0, sonic-boom calls back at once).
  // maxWrite: batches handed over while a write is under way are not joined past PIPE_BUF.
  const destination = pino.destination({ dest: fd, sync: false, minLength: 1, maxWrite: PIPE_BUF });
  const writeNow = destination.write.bind(destination);
  let batch: string[] = [];
  let batchBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const handOver = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const lines = batch.length === 1 ? (batch[0] as string) : batch.join('');
    batch = [];
    batchBytes = 0;
    writeNow(lines);
  };
  let ended = false;
  destination.write = (line: string) => {
    // After end(): straight through, as without batching (queued while closing, an error once
    // closed), and no timer that would fire on a closed destination.
    if (ended) return writeNow(line);
    const bytes = Buffer.byteLength(line, 'utf8');
    if (batchBytes + bytes > PIPE_BUF) handOver();
    batch.push(line);
    batchBytes += bytes;
    // unref: a waiting batch does not keep the process alive; the exit hook writes it (flushSync).
    if (timer === undefined) timer = setTimeout(handOver, MAX_DELAY_MS).unref();
    return true;
  };
  // Whatever flushes or ends the destination (flushLogger, pino's exit hook) takes the batch along.
  const flush = destination.flush.bind(destination);
  const flushSync = destination.flushSync.bind(destination);
  const end = destination.end.bind(destination);
  destination.flush = (cb?: (err?: Error) => void) => (handOver(), flush(cb));
  destination.flushSync = () => {
    // The batch must go out in this synchronous write, not in an asynchronous one started now
    // (the process is exiting: that write would be lost). sonic-boom starts a write only when its
    // buffer holds minLength bytes: raised for the hand-over, the batch is only queued, behind any
    // lines queued before it, and flushSync() writes the whole queue in order.
    const queue = destination as unknown as { minLength: number };
    const minLength = queue.minLength;
    queue.minLength = Infinity;
    try {
      handOver();
    } finally {
      queue.minLength = minLength;
    }
    flushSync();
  };
  destination.end = () => {
    ended = true;
    handOver();
    end();
  };
  return destination;
}
