import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

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
