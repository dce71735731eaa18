import type { PgstackPolicy } from "../../policies/rules/policy-kit";
import {
  type AnalyzedResource,
  evaluatePolicies,
  type PackConfig,
  type PolicyVerdict,
} from "../../scripts/plan/evaluate-policies";

/**
 * Runs one rule over hand-written resources through the same evaluator the plan uses (which
 * supplies reportViolation, notApplicable and getConfig as the CLI's analyzer does), at the
 * pack's fail-closed default level unless a config says otherwise.
 */

export interface ResourceOptions {
  readonly stack?: string;
  readonly protect?: boolean;
  readonly parent?: string;
  readonly propertyDependencies?: Record<string, string[]>;
}

export function urnOf(type: string, name: string, stack = "prod"): string {
  return `urn:pulumi:${stack}::pgstack::${type}::${name}`;
}

export function resource(
  type: string,
  name: string,
  props: Record<string, unknown>,
  options: ResourceOptions = {},
): AnalyzedResource {
  return {
    urn: urnOf(type, name, options.stack),
    type,
    name,
    props,
    protect: options.protect ?? false,
    parent: options.parent,
    dependencies: Object.values(options.propertyDependencies ?? {}).flat(),
    propertyDependencies: options.propertyDependencies ?? {},
  };
}

export async function verdictOf(
  policy: PgstackPolicy,
  resources: AnalyzedResource | readonly AnalyzedResource[],
  config: PackConfig = {},
): Promise<PolicyVerdict> {
  const list = Array.isArray(resources) ? resources : [resources as AnalyzedResource];
  const report = await evaluatePolicies([policy], list, config, "mandatory");
  return report.verdicts[0];
}

/** The violation messages of one rule over the resources (empty when it passes). */
export async function violations(
  policy: PgstackPolicy,
  resources: AnalyzedResource | readonly AnalyzedResource[],
  config: PackConfig = {},
): Promise<string[]> {
  const verdict = await verdictOf(policy, resources, config);
  return verdict.violations.map((v) => v.message);
}
