import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readStackFiles } from "../../components/config/stack-files";
import { PACK_ENFORCEMENT, pgstackPolicies } from "../../policies/rules/catalog";
import { type CapturedResource, captureProgram, toAnalyzed } from "../../scripts/plan/capture-program";
import {
  type AnalyzedResource,
  evaluatePolicies,
  type PackConfig,
  type PolicyReport,
} from "../../scripts/plan/evaluate-policies";
import { toProgramConfig } from "../../scripts/plan/program-config";

/**
 * The resources the real program (index.ts) registers for a stack of this repository, under
 * Pulumi's mocks, as the policies analyze them. One capture per test file: Pulumi's runtime
 * lives on globalThis and the program module runs once per process.
 */
const ROOT = join(__dirname, "..", "..");

export async function captureStack(stack: string): Promise<CapturedResource[]> {
  const { values, secretKeys } = readStackFiles(ROOT, stack);
  const program = toProgramConfig(values, secretKeys, "pgstack");
  return captureProgram({ project: "pgstack", stack, ...program, program: join(ROOT, "index.ts") });
}

export function stackPackConfig(stack: string): PackConfig {
  return JSON.parse(readFileSync(join(ROOT, "policies", "config", `${stack}.json`), "utf8")) as PackConfig;
}

export function evaluateStack(resources: readonly AnalyzedResource[], stack: string): Promise<PolicyReport> {
  return evaluatePolicies(pgstackPolicies, resources, stackPackConfig(stack), PACK_ENFORCEMENT);
}

/** Provider inputs of any shape, as a test edits them. */
// biome-ignore lint/suspicious/noExplicitAny: a mutation reaches into arbitrary provider input shapes.
type AnyProps = Record<string, any>;

/** A deep copy of the analyzed resources with the matching resources' props changed. */
export function mutate(
  resources: readonly AnalyzedResource[],
  match: (r: AnalyzedResource) => boolean,
  change: (props: AnyProps) => void,
): AnalyzedResource[] {
  const copy = structuredClone(resources.map((r) => ({ ...r }))) as AnalyzedResource[];
  const targets = copy.filter(match);
  if (targets.length === 0) throw new Error("mutate: no resource matched");
  for (const target of targets) change(target.props as AnyProps);
  return copy;
}

/** The violation messages of one policy in a report. */
export function messagesOf(report: PolicyReport, policy: string): string[] {
  return report.verdicts.find((v) => v.policy === policy)?.violations.map((v) => v.message) ?? [];
}

export { toAnalyzed };
