/**
 * Issue 12 point 1: an app with its own express-prom-bundle and `ospMiddleware` exposes both the
 * bundle's metrics and the proxy's `osp_*` metrics at its one `/metrics`, on its own registry, after
 * one call (`ospMetrics(registry)`). Real HTTP through the proxy to moto.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { Registry, register as globalRegistry } from 'prom-client';
import { GetObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { ospMiddleware } from '../../lib';
import { ospMetrics } from '../../lib/metrics';
import { backend, createTestBucket } from '../helpers/backends';
import { proxyClient } from '../helpers/proxy-server';
import { metric, parseMetrics, raw } from './server-helpers';
import { packageVersion } from '../../lib/package-version';

test('an app with its own express-prom-bundle exposes http_* and osp_* metrics at one /metrics', async () => {
  const moto = backend('moto');
  const bucket = await createTestBucket('bundle', 'moto');
  const globalBefore = (await globalRegistry.getMetricsAsJSON()).length;

  const registry = new Registry();
  const app = express();
  app.use(promBundle({ promRegistry: registry, includeMethod: true, includePath: false }));
  const osp = ospMiddleware({
    buckets: { [bucket]: { host: moto.host, port: moto.port, addressingStyle: 'path', accessKey: moto.accessKey, secretKey: moto.secretKey } },
    hmacKeystore: [{ accessKey: 'client1', secretKey: 'client1-secret' }],
    on: ospMetrics(registry, { bucketNames: [bucket] }),
  });
  app.use('/s3', osp);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = proxyClient(`${base}/s3`, 'client1', 'client1-secret');
  const wrong = proxyClient(`${base}/s3`, 'client1', 'not-the-secret');
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: Buffer.alloc(1000, 'a') }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a.txt' }));
    expect((await got.Body!.transformToByteArray()).length).toBe(1000);
    const err = await wrong.send(new GetObjectCommand({ Bucket: bucket, Key: 'a.txt' })).catch((e: unknown) => e);
    expect((err as S3ServiceException).name).toBe('SignatureDoesNotMatch');

    const res = await raw(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = res.body.toString();
    const m = parseMetrics(text);
    // the app's own bundle
    expect(metric(m, 'http_request_duration_seconds_count', { status_code: '200', method: 'PUT' })).toBe(1);
    expect(metric(m, 'http_request_duration_seconds_count', { status_code: '200', method: 'GET' })).toBe(1);
    expect(metric(m, 'http_request_duration_seconds_count', { status_code: '403', method: 'GET' })).toBe(1);
    expect(metric(m, 'up')).toBe(1);
    // the proxy's, on the same registry
    expect(metric(m, 'osp_requests_total', { method: 'PUT', bucket, status: '200' })).toBe(1);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket, status: '200' })).toBe(1);
    expect(metric(m, 'osp_requests_total', { method: 'GET', bucket, status: '403' })).toBe(1);
    expect(metric(m, 'osp_request_duration_seconds_count', { method: 'GET', bucket })).toBe(2);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'rx', bucket })).toBe(1000);
    expect(metric(m, 'osp_transfer_bytes_total', { direction: 'tx', bucket })).toBeGreaterThanOrEqual(1000);
    expect(metric(m, 'osp_backend_latency_seconds_count', { method: 'PUT', bucket })).toBe(1);
    expect(metric(m, 'osp_request_errors_total', { method: 'GET', bucket, error: 'SignatureDoesNotMatch' })).toBe(1);
    expect(metric(m, 'osp_signature_failures_total', { reason: 'SignatureDoesNotMatch' })).toBe(1);
    expect(metric(m, 'osp_build_info', { version: packageVersion(), node: process.version })).toBe(1);
    // only the standalone server owns connections
    expect(text).not.toMatch(/osp_active_connections/);
    // nothing went to prom-client's global registry
    expect((await globalRegistry.getMetricsAsJSON()).length).toBe(globalBefore);
  } finally {
    client.destroy();
    wrong.destroy();
    await osp.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
