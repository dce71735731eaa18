import type {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PgstackPolicy } from "../../policies/rules/policy-kit";

/**
 * Runs the pack's rules over a stack's resources the way the Pulumi CLI's analyzer does, without
 * the CLI: resource policies once per resource (with its inputs), stack policies once over all of
 * them, enforcement and per-policy config from a `--policy-pack-config` file. The offline plan
 * and the tests both evaluate through here.
 */

/** A resource as the analyzer sees it. */
export interface AnalyzedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Inputs (custom resources) or registered outputs (components); secrets unwrapped, as policies see them. */
  readonly props: Record<string, unknown>;
  readonly protect: boolean;
  readonly parent?: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

/** The JSON of `--policy-pack-config`: per policy name (or "all") a level or {enforcementLevel, ...config}. */
export type PackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

export interface Violation {
  readonly message: string;
  readonly urn?: string;
}

export type PolicyStatus = "pass" | "fail" | "not-applicable" | "disabled";

export interface PolicyVerdict {
  readonly policy: string;
  readonly description: string;
  readonly kind: "resource" | "stack";
  readonly enforcementLevel: EnforcementLevel;
  readonly status: PolicyStatus;
  readonly violations: readonly Violation[];
  /** Why the policy did not apply (stack policies, or a resource policy that matched nothing). */
  readonly notApplicable?: string;
}

export interface PolicyReport {
  readonly verdicts: readonly PolicyVerdict[];
  /** Policies with violations at mandatory level: these block the deployment. */
  readonly mandatoryFailures: readonly string[];
}

class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const levelOf = (entry: PackConfig[string] | undefined): EnforcementLevel | undefined =>
  typeof entry === "string" ? entry : entry?.enforcementLevel;

/** A policy's level: its own config entry, else "all", else its own level, else the pack's. */
export function enforcementOf(
  policy: PgstackPolicy,
  config: PackConfig,
  packLevel: EnforcementLevel,
): EnforcementLevel {
  const level = levelOf(config[policy.name]) ?? levelOf(config.all) ?? policy.enforcementLevel ?? packLevel;
  return level === "remediate" ? "mandatory" : level;
}

function configGetter(policy: PgstackPolicy, config: PackConfig) {
  return <T extends object>(): T => {
    const entry = config[policy.name];
    if (entry === undefined || typeof entry === "string") return {} as T;
    const { enforcementLevel: _level, ...properties } = entry;
    return properties as T;
  };
}

const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicable(reason ?? "not applicable");
};

const isType = (type: string) => (resourceClass: unknown) =>
  (resourceClass as { __pulumiType?: string } | undefined)?.__pulumiType === type;

function options(resource: AnalyzedResource): PolicyResourceOptions {
  return {
    protect: resource.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    parent: resource.parent,
  };
}

/** Resources as stack policies receive them: parents, dependencies and property dependencies linked. */
export function toPolicyResources(resources: readonly AnalyzedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const linked = resources.map((r) => {
    const resource = {
      type: r.type,
      props: r.props,
      urn: r.urn,
      name: r.name,
      opts: options(r),
      dependencies: [],
      propertyDependencies: {},
      isType: isType(r.type),
      asType: (cls: unknown) => (isType(r.type)(cls) ? r.props : undefined),
    } as unknown as PolicyResource;
    byUrn.set(r.urn, resource);
    return { r, resource };
  });
  const lookup = (urns: readonly string[]) =>
    urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
  for (const { r, resource } of linked) {
    const mutable = resource as {
      parent?: PolicyResource;
      dependencies: PolicyResource[];
      propertyDependencies: Record<string, PolicyResource[]>;
    };
    if (r.parent) mutable.parent = byUrn.get(r.parent);
    mutable.dependencies = lookup(r.dependencies);
    for (const [key, urns] of Object.entries(r.propertyDependencies))
      mutable.propertyDependencies[key] = lookup(urns);
  }
  return linked.map((l) => l.resource);
}

const isStackPolicy = (policy: PgstackPolicy): policy is StackValidationPolicy =>
  typeof (policy as StackValidationPolicy).validateStack === "function";

export async function evaluatePolicies(
  policies: readonly PgstackPolicy[],
  resources: readonly AnalyzedResource[],
  config: PackConfig,
  packLevel: EnforcementLevel,
): Promise<PolicyReport> {
  const stackResources = toPolicyResources(resources);
  const verdicts: PolicyVerdict[] = [];
  for (const policy of policies) {
    const enforcementLevel = enforcementOf(policy, config, packLevel);
    const kind = isStackPolicy(policy) ? "stack" : "resource";
    const base = { policy: policy.name, description: policy.description, kind, enforcementLevel } as const;
    if (enforcementLevel === "disabled") {
      verdicts.push({ ...base, status: "disabled", violations: [] });
      continue;
    }
    const violations: Violation[] = [];
    const getConfig = configGetter(policy, config);
    let applied = false;
    let notApplicable: string | undefined;
    if (isStackPolicy(policy)) {
      const args: StackValidationArgs = {
        resources: stackResources,
        getConfig,
        stackTags: new Map(),
        notApplicable: throwNotApplicable,
      };
      try {
        await policy.validateStack(args, (message, urn) => violations.push({ message, urn }));
        applied = true;
      } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
        notApplicable = error.reason;
      }
    } else {
      const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
      for (const resource of resources) {
        const args: ResourceValidationArgs = {
          type: resource.type,
          props: resource.props,
          urn: resource.urn,
          name: resource.name,
          opts: options(resource),
          stackTags: new Map(),
          isType: isType(resource.type),
          asType: ((cls: unknown) =>
            isType(resource.type)(cls) ? resource.props : undefined) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable: throwNotApplicable,
        };
        for (const validate of validations) {
          try {
            await validate(args, (message) => violations.push({ message, urn: resource.urn }));
            applied = true;
          } catch (error) {
            if (!(error instanceof NotApplicable)) throw error;
            notApplicable ??= error.reason;
          }
        }
      }
    }
    const status: PolicyStatus = violations.length > 0 ? "fail" : applied ? "pass" : "not-applicable";
    verdicts.push({
      ...base,
      status,
      violations,
      notApplicable: status === "not-applicable" ? notApplicable : undefined,
    });
  }
  const mandatoryFailures = verdicts
    .filter((v) => v.status === "fail" && v.enforcementLevel === "mandatory")
    .map((v) => v.policy);
  return { verdicts, mandatoryFailures };
}
