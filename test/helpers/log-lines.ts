/** A log destination for tests: every line written (pino writes one JSON line per record) lands in `lines`. */
import { Writable } from 'node:stream';

export function lineSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
}
