/**
 * ListBuckets against one backend, signed with that backend's credentials, for bucket patterns
 * whose buckets are only known to the backend.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
import type { BackendCredentials } from '../context';
import type { BucketConfig } from '../options';
import { signRequest } from '../sigv4/sign-request';
import { EMPTY_SHA256 } from '../body/chunk-signature';
import type { BackendAgent } from '../upstream/agent';
import { upstreamRequest } from '../upstream/request';

export interface ListBackendBucketsOptions {
  /** The upstream module's backend agent (TLS verification, lookup, connect timeout, keep-alive). */
  agent: BackendAgent;
  /** The connection may stay silent this long (was the socket timeout of its own connection). */
  timeoutMs: number;
  region: string;
}

/** Largest ListBuckets answer read. */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

const XML_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };

const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (e) => XML_ENTITIES[e] as string);

/** Bucket names in a ListAllMyBucketsResult document. */
export function parseListBucketsXml(xml: string): string[] {
  return parseListBucketsResult(xml).buckets.map((b) => b.name);
}

/** What a backend's ListBuckets says: the buckets with their creation dates, and the owner's display name. */
export interface BackendBucketList {
  buckets: { name: string; creationDate?: string }[];
  ownerDisplayName?: string;
}

/** Parses a ListAllMyBucketsResult document (names, `CreationDate`s, `Owner/DisplayName`). */
export function parseListBucketsResult(xml: string): BackendBucketList {
  const buckets: BackendBucketList['buckets'] = [];
  for (const m of xml.matchAll(/<Bucket>([\s\S]*?)<\/Bucket>/g)) {
    const inner = m[1] as string;
    const name = /<Name>([\s\S]*?)<\/Name>/.exec(inner)?.[1];
    if (name === undefined) continue;
    const date = /<CreationDate>([^<]*)<\/CreationDate>/.exec(inner)?.[1];
    buckets.push(date && !Number.isNaN(Date.parse(date)) ? { name: unescapeXml(name), creationDate: date } : { name: unescapeXml(name) });
  }
  const display = /<Owner>[\s\S]*?<DisplayName>([\s\S]*?)<\/DisplayName>[\s\S]*?<\/Owner>/.exec(xml)?.[1];
  return display ? { buckets, ownerDisplayName: unescapeXml(display) } : { buckets };
}

/** Lists the buckets the given credentials see on the backend. Rejects on any failure. */
export async function listBackendBuckets(config: Readonly<BucketConfig>, credentials: BackendCredentials, options: ListBackendBucketsOptions): Promise<string[]> {
  return (await listBackendBucketsWithDates(config, credentials, options)).buckets.map((b) => b.name);
}

/** Like {@link listBackendBuckets}, with creation dates and the owner's display name. Rejects on any failure. */
export async function listBackendBucketsWithDates(config: Readonly<BucketConfig>, credentials: BackendCredentials, options: ListBackendBucketsOptions): Promise<BackendBucketList> {
  const port = config.port ?? 443;
  const tls = config.tls ?? port === 443;
  const host = port === (tls ? 443 : 80) ? config.host : `${config.host}:${port}`;
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': EMPTY_SHA256 };
  if (config.serviceInstanceId !== undefined) headers['ibm-service-instance-id'] = config.serviceInstanceId;
  if (credentials.kind === 'hmac') {
    const signed = signRequest({
      method: 'GET',
      canonicalUri: '/',
      canonicalQuery: '',
      headers,
      accessKeyId: credentials.accessKeyId,
      secretKey: credentials.secretKey,
      sessionToken: credentials.sessionToken,
      region: config.region ?? options.region,
      now: new Date(),
    });
    headers['x-amz-date'] = signed.amzDate;
    headers.authorization = signed.authorization;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  } else if (credentials.kind === 'bearer') {
    headers.authorization = `Bearer ${credentials.token}`;
  }
  const answer = await upstreamRequest(
    options.agent,
    { protocol: tls ? 'https:' : 'http:', hostname: config.host, port },
    { method: 'GET', path: '/', headers, idleTimeoutMs: options.timeoutMs, maxResponseBytes: MAX_LIST_BYTES },
  );
  if (answer.status !== 200) throw new Error(`backend answered ${answer.status}`);
  return parseListBucketsResult(answer.body.toString('utf8'));
}
