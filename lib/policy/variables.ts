/**
 * Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, and the escapes `${*}`, `${?}`,
 * `${$}`) in Resource and Condition values of policies with Version 2012-10-17.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { PolicyError } from './errors';
import { isKnownConditionKey, type ConditionKeys } from './keys';

/** Text with variables: literal parts and variable names (lowercase), in order. */
export type Template = readonly ({ text: string } | { variable: string })[];

const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };

/**
 * Splits `value` into literal text and variables; undefined when it has none.
 * @throws PolicyError on an unterminated `${` or a variable that is no known condition key.
 */
export function parseTemplate(value: string, path: string): Template | undefined {
  if (!value.includes('${')) return undefined;
  const parts: ({ text: string } | { variable: string })[] = [];
  let rest = value;
  for (;;) {
    const start = rest.indexOf('${');
    if (start < 0) break;
    const end = rest.indexOf('}', start);
    if (end < 0) throw new PolicyError(path, 'has an unterminated policy variable "${"', '"arn:aws:s3:::home/${aws:username}/*"');
    if (start > 0) parts.push({ text: rest.slice(0, start) });
    const name = rest.slice(start + 2, end).trim();
    if (ESCAPES[name] !== undefined) parts.push({ text: ESCAPES[name] });
    else if (isKnownConditionKey(name)) parts.push({ variable: name.toLowerCase() });
    else throw new PolicyError(path, `unknown policy variable "\${${name}}"`, '${aws:username}');
    rest = rest.slice(end + 1);
  }
  if (rest) parts.push({ text: rest });
  return parts;
}

/**
 * Fills in the variables. `literal` escapes the substituted values (a user name with `*` must not
 * become a wildcard). Returns undefined when a variable has no value in this request: the element
 * then matches nothing, as in IAM.
 */
export function fillTemplate(template: Template, keys: ConditionKeys, literal: (text: string) => string = (t) => t, escape: (text: string) => string = (t) => t): string | undefined {
  let out = '';
  for (const part of template) {
    if ('text' in part) {
      out += literal(part.text);
      continue;
    }
    const values = keys.get(part.variable);
    if (values === undefined || values.length !== 1) return undefined;
    out += escape(values[0]!);
  }
  return out;
}
