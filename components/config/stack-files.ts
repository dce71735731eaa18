import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { OtherStack, StackContext } from "./stack-context-rules";

/** A stack's config as the Pulumi CLI would hand it to the program, read without the CLI. */
export interface StackFileConfig {
  /** `project:key` → value (Pulumi.yaml defaults, then Pulumi.<stack>.yaml). */
  readonly values: Record<string, unknown>;
  /** Keys (without namespace) whose value is encrypted (`secure:`) in the stack file. */
  readonly secretKeys: ReadonlySet<string>;
}

/** Marks a secret value that an offline reader cannot decrypt. */
export const SECRET_PLACEHOLDER = "[secret]";

/**
 * Reads Pulumi.yaml's declared defaults and Pulumi.<stack>.yaml (or `stackFile`), the way the
 * CLI merges them. Encrypted values become SECRET_PLACEHOLDER: they are never needed to build
 * the spec, which holds no secrets.
 */
export function readStackFiles(projectDir: string, stack: string, stackFile?: string): StackFileConfig {
  const project = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, { default?: unknown } | unknown>;
  };
  const values: Record<string, unknown> = {};
  for (const [key, declaration] of Object.entries(project.config ?? {})) {
    if (declaration && typeof declaration === "object" && "default" in declaration) {
      values[key.includes(":") ? key : `${project.name}:${key}`] = (
        declaration as { default: unknown }
      ).default;
    }
  }
  const file = stackFile ?? join(projectDir, `Pulumi.${stack}.yaml`);
  const stackConfig =
    (parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const secretKeys = new Set<string>();
  for (const [key, value] of Object.entries(stackConfig)) {
    if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      values[key] = SECRET_PLACEHOLDER;
      if (key.startsWith(`${project.name}:`)) secretKeys.add(key.slice(project.name.length + 1));
    } else {
      values[key] = value;
    }
  }
  return { values, secretKeys };
}

/** Stack files of the project: Pulumi.<stack>.yaml beside Pulumi.yaml. */
const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;

/**
 * The project's stacks other than `stack`, read from their stack files, for the rules that keep
 * two stacks apart. A file that cannot be read or parsed is left out: its own stack's plan
 * reports it.
 */
export function readOtherStacks(projectDir: string, stack: string): OtherStack[] {
  const others: OtherStack[] = [];
  for (const file of readdirSync(projectDir).sort()) {
    const name = STACK_FILE.exec(file)?.[1];
    if (name === undefined || name === stack) continue;
    try {
      others.push({ stack: name, file, values: readStackFiles(projectDir, name).values });
    } catch {
      // Unreadable: that stack's own plan or preview says why.
    }
  }
  return others;
}

/** The context the stack's config is checked in: its aws:region and the project's other stacks. */
export function stackContext(
  projectDir: string,
  stack: string,
  values: Readonly<Record<string, unknown>>,
): StackContext {
  const region = values["aws:region"];
  return {
    awsRegion: typeof region === "string" && region !== "" ? region : undefined,
    otherStacks: readOtherStacks(projectDir, stack),
  };
}
