/** `postSpoolDirectory`: where browser POST uploads are spooled for backends that need a Content-Length. */
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { invalid } from './validate';

/**
 * Validates `postSpoolDirectory` (an existing directory, absolute path) or gives the default,
 * `os.tmpdir()`. Checked once at creation: a missing volume is a startup error, not a 500 later.
 */
export function resolvePostSpoolDirectory(value: unknown): string {
  if (value === undefined) return tmpdir();
  const example = `postSpoolDirectory: '/var/spool/osp'`;
  if (typeof value !== 'string' || !path.isAbsolute(value)) throw invalid('postSpoolDirectory', 'must be an absolute directory path', example);
  let isDirectory = false;
  try {
    isDirectory = statSync(value).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw invalid('postSpoolDirectory', 'must be an existing directory', example);
  return value;
}
