/**
 * `osp --config FILE` live reload (issue [13]) through the real CLI, on one and on two workers:
 * a new key works and a removed key is refused within one second of the file changing, a
 * 200 MiB download in flight across the reload completes intact, an invalid file is refused (the
 * old configuration stays, `osp_config_reloads_total{result="error"}` counts it), SIGHUP reloads.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backend, createBucketWithBigObject } from '../helpers/backends';
import { signHeaders } from '../helpers/independent-signer';
import { sendRaw } from '../helpers/recording-relay';
import { freePort, metric, parseMetrics, spawnTs, waitFor } from './server-helpers';

const OLD = { accessKeyId: 'reload-old', secretAccessKey: 'reload-old-secret-0123456789' };
const NEW = { accessKeyId: 'reload-new', secretAccessKey: 'reload-new-secret-0123456789' };
const SIZE = 200 * 1024 * 1024;

let bucket: string;
let digest: string;

beforeAll(async () => {
  ({ bucket, bigSha256: digest } = await createBucketWithBigObject('reload', 'moto', SIZE));
});

describe.each([1, 2])('osp --config with threads: %i', (threads) => {
  let dir: string;
  /** config.js: the options, with the keys read from keys.json (which the watcher ignores). */
  let file: string;
  let keysFile: string;
  let child: ChildProcess;
  let exit: Promise<number | null>;
  let lines: string[];
  let port: number;
  let metricsUrl: string;
  let base: Record<string, unknown>;

  /** Replaces a file as config managers do (write aside, rename over). */
  const replaceFile = (path: string, content: string) => {
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  };
  const configSource = () =>
    `const { readFileSync } = require('node:fs');\nmodule.exports = () => ({ ...${JSON.stringify(base)}, hmacKeystore: JSON.parse(readFileSync(${JSON.stringify(keysFile)}, 'utf8')) });\n`;
  const keysOf = (...who: (typeof OLD)[]) => JSON.stringify(who.map((w) => ({ accessKey: w.accessKeyId, secretKey: w.secretAccessKey })));
  /** New keys, and the config file rewritten: the watcher reloads. */
  const writeConfig = (keys: string) => {
    replaceFile(keysFile, keys);
    replaceFile(file, configSource());
  };
  const get = async (key: string, who: { accessKeyId: string; secretAccessKey: string }) => {
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${port}`, path: `/data/${key}`, ...who });
    return sendRaw(port, { method: 'GET', target: `/data/${key}`, headers });
  };
  const reloads = async (result: 'ok' | 'error') => metric(parseMetrics(await (await fetch(`${metricsUrl}/metrics`)).text()), 'osp_config_reloads_total', { result }) ?? 0;
  /** Several requests on fresh connections: with two workers both get some. */
  const statuses = async (who: typeof OLD) => Promise.all(Array.from({ length: 6 }, async () => (await get('small.txt', who)).status));

  beforeAll(async () => {
    const b = backend('moto');
    dir = mkdtempSync(join(tmpdir(), 'osp-reload-'));
    file = join(dir, 'config.js');
    keysFile = join(dir, 'keys.json');
    base = {
      host: '127.0.0.1',
      threads,
      httpPort: await freePort(),
      metricsPort: await freePort(),
      logLevel: 'warn',
      buckets: { data: { host: b.host, port: b.port, tls: false, addressingStyle: 'path', backendBucket: bucket, accessKey: b.accessKey, secretKey: b.secretKey, profile: 'moto' } },
    };
    writeConfig(keysOf(OLD));
    const started = spawnTs('lib/server/cli.ts', ['--config', file]);
    ({ child, exit, lines } = started);
    await waitFor(async () => lines.some((l) => l.startsWith('osp listening:')), 90_000, 'osp to listen');
    const listening = lines.find((l) => l.startsWith('osp listening:'))!;
    port = Number(new URL(/http=(\S+)/.exec(listening)![1]!).port);
    metricsUrl = /metrics=(\S+)/.exec(listening)![1]!;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a file change: the removed key is refused and the new key works within a second, a download in flight completes', async () => {
    expect(await statuses(OLD)).toEqual(Array(6).fill(200));
    const headers = await signHeaders({ method: 'GET', host: `127.0.0.1:${port}`, path: '/data/big.bin', ...OLD });
    const download = new Promise<{ bytes: number; sha: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/data/big.bin', headers, agent: false }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        let first = true;
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          if (first) {
            first = false;
            // Slow the reader down so the transfer spans the reload.
            res.pause();
            setTimeout(() => res.resume(), 1500);
          }
        });
        res.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 200));
    const changedAt = Date.now();
    writeConfig(keysOf(NEW));
    // The first request that sees the new key: within a second of the change.
    while ((await get('small.txt', NEW)).status !== 200 && Date.now() - changedAt < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(Date.now() - changedAt).toBeLessThan(1000);
    // …and then every worker has it.
    await waitFor(async () => (await statuses(NEW)).every((s) => s === 200) && (await statuses(OLD)).every((s) => s === 403), 5000, 'the new config');
    const done = await download;
    expect(done).toEqual({ bytes: SIZE, sha: digest });
  });

  it('an invalid file is refused: the old configuration stays, the error is counted', async () => {
    writeConfig(JSON.stringify([{ accessKey: NEW.accessKeyId }]));
    await waitFor(async () => (await reloads('error')) >= threads, 5000, 'the refused reload to be counted');
    expect(await statuses(NEW)).toEqual(Array(6).fill(200));
    replaceFile(file, 'module.exports = { not valid javascript');
    await new Promise((r) => setTimeout(r, 800));
    expect(await statuses(NEW)).toEqual(Array(6).fill(200));
  });

  it('SIGHUP reloads too', async () => {
    const before = await reloads('ok');
    writeConfig(keysOf(NEW));
    // Every worker has reloaded (the watcher's debounced reload is over) before keys.json changes.
    await waitFor(async () => (await reloads('ok')) >= before + threads, 5000, 'the watcher reload');
    // keys.json alone is not watched: nothing changes until SIGHUP.
    replaceFile(keysFile, keysOf(OLD, NEW));
    await new Promise((r) => setTimeout(r, 800));
    expect(await statuses(OLD)).toEqual(Array(6).fill(403));
    child.kill('SIGHUP');
    await waitFor(async () => (await statuses(OLD)).every((s) => s === 200), 5000, 'the old key back');
    expect(await statuses(NEW)).toEqual(Array(6).fill(200));
  });
});
