/**
 * The server's default log destination: stdout, written asynchronously in batches.
 *
 * One write per log line costs the server a write(2) on the libuv thread pool and two thread
 * wake-ups per request (issue [11]: about 4 % of a small request's CPU, the largest single cost of
 * the access log). Lines are gathered up to {@link BATCH_BYTES} and written together; a line never
 * waits longer than {@link MAX_DELAY_MS} (a timer started by the first line of a batch), so an idle
 * server's log is still current within a fraction of a second. Buffered lines are flushed by
 * `RunningServer.close()` and, synchronously, when the process exits (pino registers that); only a
 * kill -9 can lose the last {@link MAX_DELAY_MS} of lines.
 */
import pino from 'pino';

/** Bytes gathered before a write starts at once (below sonic-boom's 16 KiB maximum write). */
export const BATCH_BYTES = 8 * 1024;
/** The longest a line waits in the batch. */
export const MAX_DELAY_MS = 100;

type Destination = ReturnType<typeof pino.destination>;

/**
 * An asynchronous pino destination on `fd` that writes in batches of {@link BATCH_BYTES}, or
 * {@link MAX_DELAY_MS} after the first line of a batch, whichever comes first.
 *
 * The lines of a batch are gathered here, in an array joined once per batch: sonic-boom's own
 * buffering (`minLength`) appends each line to one growing string and measures that string's
 * byte length on every write, which costs more than it saves at access-log line sizes.
 */
export function batchedDestination(fd = 1): Destination {
  // minLength 1: flush(cb) waits for the write under way (with 0, sonic-boom calls back at once).
  const destination = pino.destination({ dest: fd, sync: false, minLength: 1 });
  const writeNow = destination.write.bind(destination);
  let batch: string[] = [];
  let batchLength = 0;
  let timer: NodeJS.Timeout | undefined;
  const handOver = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const lines = batch.length === 1 ? (batch[0] as string) : batch.join('');
    batch = [];
    batchLength = 0;
    writeNow(lines);
  };
  destination.write = (line: string) => {
    batch.push(line);
    batchLength += line.length; // UTF-16 units: close enough to bytes for a batch threshold
    if (batchLength >= BATCH_BYTES) handOver();
    // unref: a waiting batch does not keep the process alive; the exit hook writes it (flushSync).
    else if (timer === undefined) timer = setTimeout(handOver, MAX_DELAY_MS).unref();
    return true;
  };
  // Whatever flushes or ends the destination (flushLogger, pino's exit hook) takes the batch along.
  const flush = destination.flush.bind(destination);
  const flushSync = destination.flushSync.bind(destination);
  const end = destination.end.bind(destination);
  destination.flush = (cb?: (err?: Error) => void) => (handOver(), flush(cb));
  destination.flushSync = () => (handOver(), flushSync());
  destination.end = () => (handOver(), end());
  return destination;
}
