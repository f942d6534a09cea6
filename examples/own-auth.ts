/**
 * Combine the stages with your own Express auth: browser users with a session skip SigV4 (they
 * have no keys) but still go through `authorize`; S3 clients sign with SigV4 as usual.
 * Run: node -r ts-node/register/transpile-only examples/own-auth.ts
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { authorize, resolveBackend, s3ErrorHandler, s3Proxy, setOspIdentity, verifySignature, type OspOptions } from '../lib';

const options: OspOptions = {
  buckets: { reports: { host: 's3.example.com', accessKey: 'BACKEND_AK', secretKey: 'BACKEND_SK' } },
  hmacKeystore: [{ accessKey: 'etl-job', secretKey: 'etl-secret-change-me' }],
  // Sessions and keys meet the same policy.
  authorize: (token, bucket, req) => (token === 'etl-job' ? true : token?.startsWith('user:') === true && req.method === 'GET' && bucket === 'reports'),
};

/** Stand-in for your session middleware (express-session, passport, OIDC…). */
function sessionUser(req: Request): string | undefined {
  return req.headers.cookie?.match(/demo_user=([a-z]+)/)?.[1];
}

const verify = verifySignature(options);
const app = express();
app.use(
  '/files',
  (req: Request, res: Response, next: NextFunction) => {
    const user = sessionUser(req);
    if (user) {
      setOspIdentity(req, `user:${user}`); // authenticated by the session: no SigV4 needed
      return next();
    }
    return verify(req, res, next); // everyone else signs with SigV4
  },
  authorize(options),
  resolveBackend(options),
  s3Proxy(options),
  s3ErrorHandler(),
);
app.listen(8081, '127.0.0.1');
