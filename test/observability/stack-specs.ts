import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import type { StackConfigInput } from "../../components/config/stack-config";
import { readStackFiles } from "../../components/config/stack-files";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import type { ClusterSpec } from "../../components/spec/cluster-spec";

/** The spec of a committed stack (Pulumi.<stack>.yaml with Pulumi.yaml's defaults), as `pulumi up` builds it. */
export function committedStackSpec(stack: "dev" | "prod"): ClusterSpec {
  const { values, secretKeys } = readStackFiles(process.cwd(), stack);
  return buildClusterSpec(parseStackConfig(values, secretKeys), { stack });
}

/** The spec of the committed dev stack with some keys changed. */
export function devSpecWith(changes: Partial<StackConfigInput>): ClusterSpec {
  const { values, secretKeys } = readStackFiles(process.cwd(), "dev");
  const raw: Record<string, unknown> = { ...values };
  for (const [key, value] of Object.entries(changes)) raw[`pgstack:${key}`] = value;
  return buildClusterSpec(parseStackConfig(raw, secretKeys), { stack: "dev" });
}

/** Debian's promtool (package prometheus; scripts/system-deps.sh installs it). */
export const PROMTOOL = "/usr/bin/promtool";

export interface PromtoolRun {
  readonly status: number | null;
  readonly output: string;
}

/** Writes `files` into a fresh directory and runs promtool with `args` there. */
export function promtool(args: readonly string[], files: Readonly<Record<string, string>>): PromtoolRun {
  const dir = mkdtempSync(join(tmpdir(), "pgstack-promtool-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const result = spawnSync(PROMTOOL, args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
