/**
 * Quick start: one Express app, one proxy mounted under /s3, two backends.
 * Run: node -r ts-node/register/transpile-only examples/basic.ts
 */
import http from 'node:http';
import express from 'express';
import { ospMiddleware } from '../lib';

const app = express();
app.use(
  '/s3',
  ospMiddleware({
    buckets: {
      photos: { host: 's3.eu-de.cloud-object-storage.appdomain.cloud', accessKey: 'BACKEND_AK', secretKey: 'BACKEND_SK', region: 'eu-de' },
      scratch: { host: '127.0.0.1', port: 9000, addressingStyle: 'path', accessKey: 'minio', secretKey: 'minio123', profile: 'minio' },
    },
    hmacKeystore: [{ accessKey: 'alice', secretKey: 'alice-secret-change-me', buckets: ['photos'] }],
    authorize: (token, _bucket, req) => token === 'alice' && req.operation !== 'DeleteBucket',
    // Observation hooks (metrics, audit) all go in `on`; for Prometheus: `on: ospMetrics(registry)`
    // of 'object-storage-proxy/metrics', or `on: [ospMetrics(registry), { error(req, err) {…} }]`.
    on: { error: (req, err) => console.warn(`refused ${req.method} ${req.osp?.bucket ?? '-'}: ${err.s3Code}`) },
  }),
);
const server = http.createServer(app);
// Answer `Expect: 100-continue` only after the signature and authorization passed.
server.on('checkContinue', (req, res) => app(req, res));
server.listen(8080, '127.0.0.1', () => console.log('S3 proxy on http://127.0.0.1:8080/s3'));
