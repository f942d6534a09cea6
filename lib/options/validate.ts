/** Small validators shared by the option groups: each throws an OspConfigError naming the option, the rule and an example. */
import { OspConfigError } from '../errors';

export const invalid = (option: string, rule: string, example?: string) => new OspConfigError('ERR_OSP_INVALID_OPTION', option, rule, example);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function optionalNumber(value: unknown, option: string, min: number, max: number, fallback: number, example: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(option, `must be a number from ${min} to ${max}`, example);
  }
  return value;
}

export function optionalInteger(value: unknown, option: string, min: number, max: number, fallback: number, example: string): number {
  const n = optionalNumber(value, option, min, max, fallback, example);
  if (!Number.isInteger(n)) throw invalid(option, `must be a whole number from ${min} to ${max}`, example);
  return n;
}

export function optionalBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(option, 'must be true or false', `${option.split('.').pop()}: true`);
  return value;
}

export function optionalFunction<T>(value: unknown, option: string, example: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(option, 'must be a function', example);
  return value as T;
}

export function nonEmptyString(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(option, 'must be a non-empty string', example);
  return value;
}

export const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

/**
 * Which of two spellings of one option is given (the seed's names stay accepted as aliases):
 * `preferred` unless only `alias` is set. Both at once is a config error.
 */
export function aliasOf(raw: Record<string, unknown>, preferred: string, alias: string, parent: string): string {
  const at = (name: string) => (parent ? `${parent}.${name}` : name);
  if (raw[preferred] !== undefined && raw[alias] !== undefined) throw invalid(at(alias), `is the former name of ${preferred}: give one of them`);
  return raw[alias] !== undefined ? alias : preferred;
}
