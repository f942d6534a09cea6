/** A policy document that breaks a rule; `path` is relative to the document (`Statement[0].Action[1]`). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly path: string;
  readonly rule: string;
  readonly example?: string;
  constructor(path: string, rule: string, example?: string) {
    super(`${path}: ${rule}`);
    this.path = path;
    this.rule = rule;
    this.example = example;
  }
}
