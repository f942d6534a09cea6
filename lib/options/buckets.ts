/** `buckets`: the static bucket table (exact names and patterns) or a resolver, and each entry's fields. */
import { OspConfigError } from '../errors';
import { DEFAULT_BUCKET_TTL_SECONDS } from '../constants';
import { bucketKeyProblem, createBucketTable, isBucketPattern } from '../s3/bucket-table';
import { BACKEND_PROFILES, isProfileName } from '../backends/profiles';
import { forwardHeaderPatternProblem } from '../s3/forwarded-headers';
import { aliasOf, HOST_PATTERN, invalid, isPlainObject, nonEmptyString, optionalBoolean, optionalInteger, optionalNumber } from './validate';
import type { BucketConfig, BucketResolver, ResolvedOptions } from './types';

const KNOWN_BUCKET_FIELDS: ReadonlySet<string> = new Set<keyof BucketConfig>([
  'host',
  'port',
  'region',
  'accessKey',
  'secretKey',
  'sessionToken',
  'apiKey',
  'ttlSeconds',
  'ttl',
  'addressingStyle',
  'tls',
  'backendBucket',
  'profile',
  'serviceInstanceId',
  'signAnonymousRequests',
]);

const CAPABILITY_FIELDS = ['unsignedPayloadTrailer', 'deleteObjectsRequiresContentMd5', 'verifiesPayloadHash', 'verifiesChecksumHeaders'];

function validateProfile(value: unknown, option: string): void {
  if (value === undefined || isProfileName(value)) return;
  const presets = Object.keys(BACKEND_PROFILES).join(', ');
  if (!isPlainObject(value)) throw invalid(option, `must be one of ${presets}, or capability overrides`, `profile: 'ceph-rgw'`);
  for (const [field, v] of Object.entries(value)) {
    if (field === 'preset') {
      if (!isProfileName(v)) throw invalid(`${option}.preset`, `must be one of ${presets}`, `preset: 'minio'`);
    } else if (field === 'forwardHeaders') {
      if (v === undefined) continue;
      if (!Array.isArray(v)) throw invalid(`${option}.forwardHeaders`, 'must be an array of header names or prefixes ending in *', `forwardHeaders: ['x-minio-extract']`);
      v.forEach((pattern: unknown, i) => {
        const problem = forwardHeaderPatternProblem(pattern);
        if (problem) throw invalid(`${option}.forwardHeaders[${i}]`, problem, `forwardHeaders: ['x-minio-extract', 'x-rgw-*']`);
      });
    } else if (!CAPABILITY_FIELDS.includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, `unknown capability; known: preset, forwardHeaders, ${CAPABILITY_FIELDS.join(', ')}`);
    } else if (typeof v !== 'boolean') {
      throw invalid(`${option}.${field}`, 'must be true or false', `${field}: true`);
    }
  }
}

/** Validates one bucket entry and fills in its defaults. Exported for resolver results, which are checked per request. */
export function resolveBucketConfig(raw: unknown, option: string): Readonly<BucketConfig> {
  if (!isPlainObject(raw)) throw invalid(option, 'must be an object', `{ host: 's3.example.com', port: 443 }`);
  for (const field of Object.keys(raw)) {
    if (!KNOWN_BUCKET_FIELDS.has(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `${option}.${field}`, `unknown field; known: ${[...KNOWN_BUCKET_FIELDS].join(', ')}`);
    }
  }
  const host = nonEmptyString(raw.host, `${option}.host`, `host: 's3.example.com'`);
  if (!HOST_PATTERN.test(host)) {
    throw invalid(`${option}.host`, 'must be a bare host name or IP without scheme, port or path', `host: 's3.example.com'`);
  }
  const port = optionalInteger(raw.port, `${option}.port`, 1, 65535, 443, 'port: 443');
  const tls = optionalBoolean(raw.tls, `${option}.tls`, port === 443);
  const ttlName = aliasOf(raw, 'ttlSeconds', 'ttl', option);
  const ttl = optionalNumber(raw[ttlName], `${option}.${ttlName}`, 0, 86_400 * 7, DEFAULT_BUCKET_TTL_SECONDS, 'ttlSeconds: 300');
  const addressingStyle = raw.addressingStyle ?? 'virtual';
  if (addressingStyle !== 'virtual' && addressingStyle !== 'path') {
    throw invalid(`${option}.addressingStyle`, `must be 'virtual' or 'path'`, `addressingStyle: 'path'`);
  }
  for (const field of ['region', 'accessKey', 'secretKey', 'sessionToken', 'apiKey', 'backendBucket', 'serviceInstanceId'] as const) {
    if (raw[field] !== undefined) nonEmptyString(raw[field], `${option}.${field}`, `${field}: '…'`);
  }
  if ((raw.accessKey === undefined) !== (raw.secretKey === undefined)) {
    throw invalid(`${option}.accessKey`, 'accessKey and secretKey go together', `{ accessKey: 'AK…', secretKey: 'SK…' }`);
  }
  if (raw.apiKey !== undefined && raw.accessKey !== undefined) {
    throw invalid(`${option}.apiKey`, 'give either apiKey or accessKey/secretKey, not both');
  }
  validateProfile(raw.profile, `${option}.profile`);
  optionalBoolean(raw.signAnonymousRequests, `${option}.signAnonymousRequests`, false);
  return Object.freeze({ ...(raw as unknown as BucketConfig), host, port, tls, ttl, ttlSeconds: ttl, addressingStyle });
}

export function resolveBuckets(raw: unknown): ResolvedOptions['buckets'] {
  if (typeof raw === 'function') return raw as BucketResolver;
  if (!isPlainObject(raw)) {
    throw new OspConfigError(
      raw === undefined ? 'ERR_OSP_MISSING_OPTION' : 'ERR_OSP_INVALID_OPTION',
      'buckets',
      'must map bucket names to backends, or be a resolver function',
      `buckets: { photos: { host: 's3.example.com', accessKey: 'AK', secretKey: 'SK' } }`,
    );
  }
  const entries: [string, Readonly<BucketConfig>][] = [];
  for (const [name, cfg] of Object.entries(raw)) {
    const problem = bucketKeyProblem(name);
    if (problem) throw invalid(`buckets.${name}`, problem, `buckets: { 'acme-*': { host: 's3.example.com' } }`);
    const config = resolveBucketConfig(cfg, `buckets.${name}`);
    if (isBucketPattern(name) && config.backendBucket !== undefined) {
      // One backend bucket for a whole family of client names would merge tenants' data.
      throw invalid(`buckets.${name}.backendBucket`, 'is not allowed on a pattern entry: the backend bucket is the client name');
    }
    entries.push([name, config]);
  }
  return createBucketTable(entries);
}
