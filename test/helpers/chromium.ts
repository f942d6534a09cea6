/**
 * Headless Chromium from Debian (`/usr/bin/chromium`) for browser tests: opens one page in a fresh
 * profile, in its own process group so that the test can kill the whole browser at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Opens `url`. Flags from the machine notes: no sandbox as root, no GPU, and no background
 * networking (this machine's network is closed: Chromium would keep dialling out).
 */
export function openInChromium(url: string, profileDir: string): ChildProcess {
  return spawn(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profileDir}`,
      url,
    ],
    { detached: true, stdio: 'ignore' },
  );
}

/** Kills the browser's whole process group (renderers, GPU and network processes included). */
export function closeChromium(browser: ChildProcess | undefined): void {
  if (browser?.pid) process.kill(-browser.pid, 'SIGKILL');
}
