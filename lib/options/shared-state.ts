/** `redis` and `sharedCache`: the shared store connection and what is cached in it. */
import { OspConfigError } from '../errors';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_CONNECT_TIMEOUT_MS, DEFAULT_REDIS_KEY_PREFIX } from '../constants';
import { parseEncryptionKey } from '../cache/secret-box';
import { invalid, isPlainObject, optionalBoolean, optionalInteger } from './validate';
import type { ResolvedOptions } from './types';

export function resolveRedis(raw: unknown): ResolvedOptions['redis'] {
  if (raw === undefined) return undefined;
  const example = `redis: 'redis://127.0.0.1:6379'`;
  const settings = typeof raw === 'string' ? { url: raw } : raw;
  if (!isPlainObject(settings)) throw invalid('redis', 'must be a redis:// or rediss:// URL or { url, keyPrefix, commandTimeoutMs, connectTimeoutMs }', example);
  for (const field of Object.keys(settings)) {
    if (!['url', 'keyPrefix', 'commandTimeoutMs', 'connectTimeoutMs'].includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `redis.${field}`, 'unknown field; known: url, keyPrefix, commandTimeoutMs, connectTimeoutMs');
    }
  }
  const url = settings.url;
  let ok = false;
  if (typeof url === 'string') {
    try {
      const u = new URL(url);
      ok = (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
    } catch {
      ok = false;
    }
  }
  // The message never repeats the value: it may hold a password.
  if (!ok) throw invalid('redis.url', 'must be a redis:// or rediss:// URL with a host', example);
  const keyPrefix = settings.keyPrefix === undefined ? DEFAULT_REDIS_KEY_PREFIX : settings.keyPrefix;
  if (typeof keyPrefix !== 'string' || !/^[0-9A-Za-z:._-]{0,64}$/.test(keyPrefix)) throw invalid('redis.keyPrefix', 'must be up to 64 characters of [0-9A-Za-z:._-]', `keyPrefix: 'osp-prod:'`);
  return Object.freeze({
    url: url as string,
    keyPrefix,
    commandTimeoutMs: optionalInteger(settings.commandTimeoutMs, 'redis.commandTimeoutMs', 10, 60_000, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 'commandTimeoutMs: 1000'),
    connectTimeoutMs: optionalInteger(settings.connectTimeoutMs, 'redis.connectTimeoutMs', 10, 60_000, DEFAULT_REDIS_CONNECT_TIMEOUT_MS, 'connectTimeoutMs: 2000'),
  });
}

export function resolveSharedCache(raw: unknown, hasStore: boolean): { decisions: boolean; secrets: boolean; key?: Buffer } {
  if (raw === undefined) return { decisions: false, secrets: false };
  if (!isPlainObject(raw)) throw invalid('sharedCache', 'must be an object', 'sharedCache: { decisions: true }');
  for (const field of Object.keys(raw)) {
    if (!['decisions', 'frontendSecrets', 'encryptionKey'].includes(field)) {
      throw new OspConfigError('ERR_OSP_UNKNOWN_OPTION', `sharedCache.${field}`, 'unknown field; known: decisions, frontendSecrets, encryptionKey');
    }
  }
  const decisions = optionalBoolean(raw.decisions, 'sharedCache.decisions', false);
  const secrets = optionalBoolean(raw.frontendSecrets, 'sharedCache.frontendSecrets', false);
  let key: Buffer | undefined;
  if (raw.encryptionKey !== undefined) {
    key = parseEncryptionKey(raw.encryptionKey);
    if (!key) throw invalid('sharedCache.encryptionKey', 'must be 64 hex characters or base64 of 32 random bytes', `encryptionKey: process.env.OSP_CACHE_KEY /* openssl rand -hex 32 */`);
  }
  if (secrets && !key) throw invalid('sharedCache.encryptionKey', 'is required with frontendSecrets: true (secrets are never stored in plain text)');
  if ((decisions || secrets) && !hasStore) throw invalid('sharedCache', 'needs a shared store: set redis (or sharedStore)', `redis: 'redis://127.0.0.1:6379'`);
  return { decisions, secrets, key };
}
