/**
 * Browser POST upload forms for the kit: a SigV4-signed POST policy (computed here with
 * node:crypto, as botocore's generate_presigned_post does, not with the proxy's code) and the
 * multipart/form-data body a browser sends.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { createHmac, randomBytes } from 'node:crypto';
import { FRONTEND } from './chain';

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** The policy and signature fields of a form signed by `key` at `date`. */
export function signedPolicyFields(
  conditions: unknown[],
  options: { key?: { accessKey: string; secretKey: string }; date?: Date; expiresInMs?: number; region?: string } = {},
): Record<string, string> {
  const key = options.key ?? FRONTEND;
  const date = options.date ?? new Date();
  const region = options.region ?? 'us-east-1';
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const credential = `${key.accessKey}/${day}/${region}/s3/aws4_request`;
  const expiration = new Date(date.getTime() + (options.expiresInMs ?? 300_000)).toISOString();
  const policy = Buffer.from(
    JSON.stringify({ expiration, conditions: [...conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }] }),
  ).toString('base64');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretKey}`, day), region), 's3'), 'aws4_request');
  return { policy, 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-credential': credential, 'x-amz-date': amzDate, 'x-amz-signature': hmac(signingKey, policy).toString('hex') };
}

/** A multipart/form-data body: the fields in order, then the file (unless `file` is undefined), then `after`. */
export function multipartForm(
  fields: Record<string, string>,
  file?: { name?: string; content: Buffer | string; type?: string },
  after: Record<string, string> = {},
): { body: Buffer; contentType: string } {
  const boundary = `----kit${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  const field = (name: string, value: string) => parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  for (const [name, value] of Object.entries(fields)) field(name, value);
  if (file) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name ?? 'upload.bin'}"\r\nContent-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`),
    );
    parts.push(Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content), Buffer.from('\r\n'));
  }
  for (const [name, value] of Object.entries(after)) field(name, value);
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
