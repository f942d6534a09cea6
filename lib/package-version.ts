/** This package's version (for osp_build_info and logs); `unknown` when package.json is not found. */
export const packageVersion = (): string => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
};
