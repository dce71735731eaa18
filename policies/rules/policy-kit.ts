import type {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";

/**
 * The small vocabulary every pgstack rule is written in. Rules match resources by their Pulumi
 * type token (never by importing a provider SDK class), so the pack loads with nothing but
 * @pulumi/policy and reads exactly what the engine hands it: inputs for resource policies,
 * outputs (for components, their registered outputs) for stack policies.
 */

export type PgstackPolicy = ResourceValidationPolicy | StackValidationPolicy;

interface PolicyMeta {
  /** Unique, kebab-case; the key of this policy in policies/config/<stack>.json. */
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  /** What to change when it fails; every violation message also says it for its own case. */
  readonly remediationSteps: string;
  readonly enforcementLevel?: EnforcementLevel;
  readonly configSchema?: PolicyConfigSchema;
}

export interface ResourceRule<Props> extends PolicyMeta {
  /** Type tokens this rule applies to; any other type is reported not applicable. */
  readonly types: readonly string[];
  readonly validate: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void;
}

export function resourcePolicy<Props>(rule: ResourceRule<Props>): ResourceValidationPolicy {
  const { types, validate, ...meta } = rule;
  return {
    ...meta,
    validateResource: (args, report) => {
      if (!types.includes(args.type)) {
        args.notApplicable(`applies to ${types.join(", ")}`);
      }
      validate(args.props as Props, args, report);
    },
  };
}

export interface StackRule extends PolicyMeta {
  readonly validate: (args: StackValidationArgs, report: ReportViolation) => void;
}

export function stackPolicy(rule: StackRule): StackValidationPolicy {
  const { validate, ...meta } = rule;
  return { ...meta, validateStack: validate };
}

/**
 * A policy's config with its defaults applied. The CLI passes the JSON object of
 * `--policy-pack-config` for this policy (minus enforcementLevel); defaults are applied here so a
 * missing config file fails closed (the strict, production values).
 */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
  return { ...defaults, ...args.getConfig<Partial<T>>() };
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` → stack. */
export function stackOfUrn(urn: string): string {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!match) throw new Error(`not a Pulumi URN: ${urn}`);
  return match[1];
}

/**
 * True when `name` holds the stack name as a whole token (`pgstack-prod-data`, `/pgstack/prod`),
 * so `dev` inside `device` does not count. Every name that must not collide across stacks is
 * checked with this: two stacks can then never share one.
 */
export function carriesStackName(name: string, stack: string): boolean {
  const escaped = stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^a-zA-Z0-9])${escaped}($|[^a-zA-Z0-9])`).test(name);
}

// Narrow readers for untyped props: the engine hands policies plain JSON.

export type Json = Record<string, unknown>;

export function record(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === "string");
}

/** The resources of the given types among a stack's resources. */
export function ofTypes(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
  return resources.filter((resource) => types.includes(resource.type));
}

/** A resource's own name: `metadata.name` (Kubernetes), `name` (Docker), else its Pulumi name. */
export function physicalName(resource: { props: Json; name: string }): string {
  return text(record(resource.props.metadata)?.name) ?? text(resource.props.name) ?? resource.name;
}
