/**
 * Condition keys the proxy fills in for each request (lowercase names; IAM compares key names
 * case-insensitively). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 * and https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html#amazons3-policy-keys
 */

/** Request values by lowercase key name; a key absent from the map is absent from the request. */
export type ConditionKeys = ReadonlyMap<string, readonly string[]>;

/** The keys a policy may name (besides `aws:PrincipalTag/<tag>`). */
export const CONDITION_KEYS: readonly string[] = [
  'aws:CurrentTime',
  'aws:EpochTime',
  'aws:SecureTransport',
  'aws:SourceIp',
  'aws:UserAgent',
  'aws:Referer',
  'aws:username',
  'aws:userid',
  's3:prefix',
  's3:delimiter',
  's3:max-keys',
  's3:VersionId',
  's3:x-amz-acl',
  's3:x-amz-copy-source',
  's3:x-amz-metadata-directive',
  's3:x-amz-server-side-encryption',
  's3:x-amz-storage-class',
  's3:authType',
  's3:signatureversion',
];

const KNOWN: ReadonlySet<string> = new Set(CONDITION_KEYS.map((k) => k.toLowerCase()));
const PRINCIPAL_TAG = 'aws:principaltag/';

/** Whether the proxy fills in this key (case-insensitive). */
export function isKnownConditionKey(name: string): boolean {
  const lower = name.toLowerCase();
  return KNOWN.has(lower) || (lower.startsWith(PRINCIPAL_TAG) && lower.length > PRINCIPAL_TAG.length);
}

/** What the proxy knows about a request, to fill in the condition keys. Plain data: no Express here. */
export interface RequestFacts {
  /** Verified access key (`aws:username`, `aws:userid`). */
  identity: string | null;
  /** Tags of the key (`aws:PrincipalTag/<name>`). */
  tags?: Readonly<Record<string, string>>;
  /** Client address as the host sees it (`req.ip`). */
  sourceIp?: string;
  secureTransport: boolean;
  now: Date;
  /** Decoded query parameters. */
  query: Readonly<Record<string, string>>;
  /** Lowercase request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** How the request was signed: header or presigned query. */
  authMethod?: string;
  /** `AWS4-HMAC-SHA256` or `AWS` (SigV2) for signed requests (`s3:signatureversion`). */
  signatureVersion?: string;
  /** Decoded `x-amz-copy-source` as `bucket/key` (no leading slash, no `?versionId`). */
  copySource?: string;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: IPv4 clients on a dual-stack socket. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

function header(facts: RequestFacts, name: string): string | undefined {
  const v = facts.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The condition keys of one request. */
export function conditionKeysOf(facts: RequestFacts): ConditionKeys {
  const keys = new Map<string, string[]>();
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) keys.set(name.toLowerCase(), [value]);
  };
  put('aws:CurrentTime', facts.now.toISOString());
  put('aws:EpochTime', String(Math.floor(facts.now.getTime() / 1000)));
  put('aws:SecureTransport', String(facts.secureTransport));
  put('aws:SourceIp', facts.sourceIp === undefined ? undefined : normalizeIp(facts.sourceIp));
  put('aws:UserAgent', header(facts, 'user-agent'));
  put('aws:Referer', header(facts, 'referer'));
  if (facts.identity !== null) {
    put('aws:username', facts.identity);
    put('aws:userid', facts.identity);
  }
  for (const [tag, value] of Object.entries(facts.tags ?? {})) put(`aws:PrincipalTag/${tag}`, value);
  put('s3:prefix', facts.query['prefix']);
  put('s3:delimiter', facts.query['delimiter']);
  put('s3:max-keys', facts.query['max-keys']);
  put('s3:VersionId', facts.query['versionId']);
  for (const h of ['x-amz-acl', 'x-amz-metadata-directive', 'x-amz-server-side-encryption', 'x-amz-storage-class']) {
    // Presigned URLs may carry these headers as query parameters.
    put(`s3:${h}`, header(facts, h) ?? facts.query[h]);
  }
  put('s3:x-amz-copy-source', facts.copySource);
  if (facts.authMethod === 'header' || facts.authMethod === 'query' || facts.authMethod === 'post-policy') {
    put('s3:authType', facts.authMethod === 'header' ? 'REST-HEADER' : facts.authMethod === 'query' ? 'REST-QUERY-STRING' : 'POST');
    put('s3:signatureversion', facts.signatureVersion ?? 'AWS4-HMAC-SHA256');
  }
  return keys;
}
