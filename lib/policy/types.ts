/**
 * IAM-style policy documents as written in the options (the JSON grammar of
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html, identity-based:
 * no Principal).
 */

/** A string or a list of strings, as IAM accepts in Action, Resource and condition values. */
export type OneOrMany<T> = T | T[];

/** One statement of a policy. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  /** `s3:GetObject`, `s3:Get*`, `s3:*`, `*`. Exactly one of Action / NotAction. */
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  /** `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/prefix/*`, `*`. Exactly one of Resource / NotResource. */
  Resource?: OneOrMany<string>;
  NotResource?: OneOrMany<string>;
  /** `{ "StringLike": { "s3:prefix": ["reports/*"] } }` */
  Condition?: Record<string, Record<string, OneOrMany<string | number | boolean>>>;
}

/** An IAM-style policy document. */
export interface PolicyDocument {
  /** `2012-10-17` (policy variables work) or `2008-10-17`. @default '2008-10-17', as IAM */
  Version?: '2012-10-17' | '2008-10-17';
  Id?: string;
  Statement: OneOrMany<PolicyStatement>;
}

/** What a key carries: policy documents, each inline or the name of an entry of the `policies` option. */
export type KeyPolicies = (string | PolicyDocument)[];
