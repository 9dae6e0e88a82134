/**
 * Policies that cannot be loaded: every problem found, each naming its policy and its source
 * (`<file>:<line>: policy "<name>": <what>`, or `policies.<name>` for the config file). Thrown
 * by the parse functions and by `PolicyRegistry.load`, which then keeps the previous set.
 */
export class PolicyLoadError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const head = problems.length === 1 ? 'invalid policy' : `${problems.length} policy problems`;
    super(`${head}: ${problems.join('; ')}`);
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

/** Where a policy came from, for messages: a file path, `policies.<name>`, or `built-in`. */
export type PolicyOrigin = { name: string; source: string };

/** One problem line, in the format every policy message uses. */
export const problemAt = (origin: PolicyOrigin, line: number | undefined, message: string): string =>
  `${origin.source}${line === undefined ? '' : `:${line}`}: policy "${origin.name}": ${message}`;
