/**
 * One problem with the stack configuration: which key, what it held, and how to fix it.
 * Every validation in pgstack reports through this shape so a user sees the same three facts
 * whether the schema, the tuning or an override check refused the value.
 */
export interface ConfigProblem {
  /** Fully qualified key as the user types it, e.g. `pgstack:memoryLimit` or `pgstack:parameters[2]`. */
  readonly key: string;
  /** The offending value, rendered for display (`<unset>` when missing). */
  readonly value: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
  /** The command or change that fixes it. */
  readonly fix: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.key} = ${p.value}: ${p.message}\n    fix: ${p.fix}`);
  const noun = problems.length === 1 ? "problem" : "problems";
  return `pgstack configuration has ${problems.length} ${noun}:\n${lines.join("\n")}`;
}

export function displayValue(value: unknown): string {
  if (value === undefined) return "<unset>";
  if (typeof value === "string") return JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
