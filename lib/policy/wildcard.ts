/**
 * IAM wildcards: `*` matches any run of characters (also none, also `/`), `?` exactly one.
 * Everything else is literal. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards
 */

/** A compiled wildcard pattern. */
export type WildcardMatcher = (value: string) => boolean;

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|+()[\]{}*?]/g, '\\$&');
}

/** Compiles `pattern` once; `ignoreCase` for action names (IAM compares them case-insensitively). */
export function compileWildcard(pattern: string, ignoreCase = false): WildcardMatcher {
  if (!pattern.includes('*') && !pattern.includes('?')) {
    if (ignoreCase) {
      const lower = pattern.toLowerCase();
      return (v) => v.toLowerCase() === lower;
    }
    return (v) => v === pattern;
  }
  let source = '';
  for (const ch of pattern) source += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegExp(ch);
  const re = new RegExp(`^${source}$`, ignoreCase ? 'isu' : 'su');
  return (v) => re.test(v);
}

/**
 * Whether some string that starts with `prefix` can match the wildcard `pattern` (used to tell
 * whether a resource pattern can name any object of a bucket).
 */
export function canMatchWithPrefix(pattern: string, prefix: string): boolean {
  let i = 0;
  for (const ch of pattern) {
    if (i >= prefix.length) return true; // the rest of the pattern can follow the prefix
    if (ch === '*') return true; // absorbs the rest of the prefix
    if (ch !== '?' && ch !== prefix[i]) return false;
    i++;
  }
  return i >= prefix.length;
}

/** Whether `pattern` matches EVERY string that starts with `prefix` (`prefix` + `*`, or shorter). */
export function coversPrefix(pattern: string, prefix: string): boolean {
  const star = pattern.indexOf('*');
  if (star !== pattern.length - 1) return false;
  const head = pattern.slice(0, -1);
  if (head.length > prefix.length) return false;
  for (let i = 0; i < head.length; i++) if (head[i] !== '?' && head[i] !== prefix[i]) return false;
  return true;
}
