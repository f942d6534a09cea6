import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { proxyClient, startProxy } from '../helpers/proxy-server';
it('debug', async () => {
  const seen: unknown[] = [];
  const server = http.createServer((req, res) => { seen.push([req.method, req.url, req.rawHeaders]); req.resume(); req.on('end', () => { res.writeHead(200); res.end(); }); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const proxy = await startProxy({ buckets: { b: { host: '127.0.0.1', port, addressingStyle: 'path', accessKey: 'K', secretKey: 'S' } }, hmacKeystore: [{ accessKey: 'ck', secretKey: 'cs' }] });
  const c = proxyClient(proxy.endpoint, 'ck', 'cs', { requestChecksumCalculation: 'WHEN_REQUIRED' });
  c.middlewareStack.add((next) => (args) => { (args.request as { headers: Record<string, string> }).headers.expect = 'x-custom'; return next(args); }, { step: 'finalizeRequest' });
  await c.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'abc' }));
  console.log(JSON.stringify(seen));
  c.destroy(); await proxy.close(); server.closeAllConnections(); server.close();
});
