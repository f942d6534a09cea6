import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveOptions, type OspOptions } from '../../../lib/options';
import { OspConfigError } from '../../../lib/errors';

const valid: OspOptions = { buckets: { photos: { host: 's3.example.com' } }, hmacKeystore: [{ accessKey: 'client1', secretKey: 'secret1' }] };

describe('postSpoolDirectory', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'osp-unit-spool-'));
    writeFileSync(path.join(dir, 'a-file'), 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('defaults to os.tmpdir(); an existing absolute directory is taken as is', () => {
    expect(resolveOptions(valid).postSpoolDirectory).toBe(tmpdir());
    expect(resolveOptions({ ...valid, postSpoolDirectory: dir }).postSpoolDirectory).toBe(dir);
  });

  test.each([['relative/dir'], ['MISSING'], ['FILE'], [42], ['']])('%j is refused at creation', (value) => {
    const v = value === 'MISSING' ? path.join(dir, 'missing') : value === 'FILE' ? path.join(dir, 'a-file') : value;
    let err: unknown;
    try {
      resolveOptions({ ...valid, postSpoolDirectory: v as string });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OspConfigError);
    expect(err).toMatchObject({ code: 'ERR_OSP_INVALID_OPTION', option: 'postSpoolDirectory' });
  });
});
