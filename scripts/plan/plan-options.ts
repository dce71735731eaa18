import { isAbsolute, join, resolve } from "node:path";

/** Command line of `npm run plan -- --stack <name> [--out <dir>] [--config-file <yaml>] [--policy-config <json>]`. */
export interface PlanOptions {
  readonly stack: string;
  /** Directory the plan is written to; default plan/<stack>. */
  readonly outDir: string;
  /** Stack config file; default Pulumi.<stack>.yaml. */
  readonly configFile?: string;
  /** Policy pack config; default policies/config/<stack>.json (none: every policy mandatory). */
  readonly policyConfig: string;
}

export const USAGE =
  "usage: npm run plan -- --stack <dev|prod|...> [--out <dir>] [--config-file <Pulumi.<stack>.yaml>] [--policy-config <file.json>]";

export class UsageError extends Error {}

export function parsePlanOptions(argv: readonly string[], projectDir: string): PlanOptions {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const known = ["--stack", "--out", "--config-file", "--policy-config"];
    const [name, inline] = flag.includes("=") ? flag.split("=", 2) : [flag, undefined];
    if (!known.includes(name)) throw new UsageError(`unknown argument ${flag}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith("--"))
      throw new UsageError(`${name} needs a value\n${USAGE}`);
    values[name.slice(2)] = value;
  }
  const stack = values.stack;
  if (!stack) throw new UsageError(`--stack is required\n${USAGE}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack))
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name\n${USAGE}`);
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(process.cwd(), path));
  return {
    stack,
    outDir: values.out ? absolute(values.out) : join(projectDir, "plan", stack),
    configFile: values["config-file"] ? absolute(values["config-file"]) : undefined,
    policyConfig: values["policy-config"]
      ? absolute(values["policy-config"])
      : join(projectDir, "policies", "config", `${stack}.json`),
  };
}
