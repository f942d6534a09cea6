import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, register as globalRegistry } from 'prom-client';
import { createMetrics, OTHER_BUCKET } from '../../../lib/server/metrics';

const EXPECTED: Record<string, string> = {
  osp_requests_total: 'counter',
  osp_request_errors_total: 'counter',
  osp_transfer_bytes_total: 'counter',
  osp_presigned_share_exhausted_total: 'counter',
  osp_presigned_url_hits_total: 'counter',
  osp_presigned_url_rejected_total: 'counter',
  osp_active_connections: 'gauge',
  osp_memory_bytes: 'gauge',
  osp_build_info: 'gauge',
  osp_request_duration_seconds: 'histogram',
  osp_response_size_bytes: 'histogram',
  osp_backend_latency_seconds: 'histogram',
  osp_signature_failures_total: 'counter',
  osp_iam_token_refreshes_total: 'counter',
};

test('exactly the documented metrics, on an own registry (never the global one)', async () => {
  const before = (await globalRegistry.getMetricsAsJSON()).length;
  const m = createMetrics({ bucketNames: new Set(['photos']), version: '1.2.3' });
  expect(m.registry).toBeInstanceOf(Registry);
  expect(m.registry).not.toBe(globalRegistry);
  const json = await m.registry.getMetricsAsJSON();
  expect(Object.fromEntries(json.map((x) => [x.name, x.type]))).toEqual(EXPECTED);
  expect((await globalRegistry.getMetricsAsJSON()).length).toBe(before);
  // two instances do not collide
  expect(() => createMetrics({ bucketNames: null, version: 'x' })).not.toThrow();
});

test('bucket label: configured names only, anything else is "other"', () => {
  const m = createMetrics({ bucketNames: new Set(['photos']), version: '1' });
  expect(m.bucketLabel('photos')).toBe('photos');
  expect(m.bucketLabel('random-123')).toBe(OTHER_BUCKET);
  expect(m.bucketLabel(undefined)).toBe(OTHER_BUCKET);
  expect(createMetrics({ bucketNames: null, version: '1' }).bucketLabel('photos')).toBe(OTHER_BUCKET);
});

test('the Grafana dashboard only uses metrics that exist', () => {
  const text = readFileSync(join(__dirname, '../../../examples/grafana-dashboard.json'), 'utf8');
  JSON.parse(text);
  const used = new Set([...text.matchAll(/\bosp_[a-z_]+/g)].map((x) => x[0].replace(/_(bucket|sum|count)$/, '')));
  for (const name of used) expect(Object.keys(EXPECTED)).toContain(name);
  expect(used.size).toBe(Object.keys(EXPECTED).length);
});
