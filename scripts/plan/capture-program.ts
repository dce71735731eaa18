import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { AnalyzedResource } from "./evaluate-policies";

/**
 * Runs the real program (index.ts) under Pulumi's mock runtime and records every resource it
 * registers: type, name, parent, options, dependencies, inputs (custom resources) and registered
 * outputs (components). Nothing leaves the process: no CLI, no engine, no provider, no cloud.
 *
 * The mock answers like a fresh `pulumi up` (preview=false): outputs are the inputs plus the few
 * computed values the program reads (ids, ARNs, generated passwords), so every `apply` runs and
 * every resource created inside one is captured too.
 */

export interface CapturedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
  /** Custom resource (true) or component (false). */
  readonly custom: boolean;
  readonly protect: boolean;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  /** Inputs as registered, in Pulumi's wire form (secrets carry their signature). */
  readonly inputs: Record<string, unknown>;
  /** Outputs a component registered with registerOutputs, in wire form. */
  readonly outputs?: Record<string, unknown>;
}

export interface ProgramRun {
  readonly project: string;
  readonly stack: string;
  /** Config as the CLI hands it to a program: `namespace:key` → string. */
  readonly config: Readonly<Record<string, string>>;
  /** Fully qualified keys whose values are secrets. */
  readonly secretKeys: readonly string[];
  /** Absolute path of the program's entry module. */
  readonly program: string;
}

/** Computed outputs a provider would return on create, for the types the program reads them from. */
function computedOutputs(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const [provider, module] = type.split(":");
  if (type === "random:index/randomPassword:RandomPassword") return { result: `generated-${name}` };
  if (type === "docker:index/remoteImage:RemoteImage" || type === "docker:index/image:Image") {
    // What Docker reports for a pulled or locally built image: its content-addressed id.
    const id = `sha256:${createHash("sha256").update(name).digest("hex")}`;
    return { imageId: id, repoDigest: id };
  }
  if (provider === "tls") {
    return {
      privateKeyPem: `-----generated key ${name}-----`,
      publicKeyPem: `public-${name}`,
      certPem: `cert-${name}`,
      certRequestPem: `csr-${name}`,
    };
  }
  if (provider === "aws") {
    const service = module.split("/")[0];
    const physical =
      typeof inputs.bucket === "string"
        ? inputs.bucket
        : typeof inputs.name === "string"
          ? inputs.name
          : name;
    const arn =
      service === "s3"
        ? `arn:aws:s3:::${physical}`
        : `arn:aws:${service}:${service === "iam" ? "" : "eu-west-1"}:123456789012:${service === "kms" ? "key" : service === "iam" ? "role" : service}/${physical}`;
    return {
      arn,
      bucket: type.startsWith("aws:s3/bucket:") ? physical : inputs.bucket,
      keyId: service === "kms" ? physical : undefined,
    };
  }
  return {};
}

/**
 * Outputs a caller computes itself for some resources (the proving ground issues real
 * certificates for @pulumi/tls resources); undefined leaves them to `computedOutputs`.
 */
export type OutputsOverride = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown> | undefined;

/** Provider answers of a fresh `pulumi up`, for the program under the mock runtime. */
const mocksWith = (override?: OutputsOverride): pulumi.runtime.Mocks => ({
  newResource: (args) => {
    const id =
      typeof args.inputs.bucket === "string" && args.type.startsWith("aws:s3/bucket:")
        ? args.inputs.bucket
        : `${args.name}-id`;
    const outputs =
      override?.(args.type, args.name, args.inputs) ?? computedOutputs(args.type, args.name, args.inputs);
    const computed = Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined));
    return { id, state: { ...args.inputs, ...computed } };
  },
  call: (args) => {
    if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") {
      return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/plan", userId: "plan" };
    }
    if (args.token === "aws:index/getRegion:getRegion")
      return { name: "eu-west-1", region: "eu-west-1", id: "eu-west-1" };
    if (args.token === "aws:index/getPartition:getPartition")
      return { partition: "aws", dnsSuffix: "amazonaws.com" };
    if (args.token === "aws:iam/getPolicyDocument:getPolicyDocument")
      return { json: JSON.stringify({ Version: "2012-10-17", Statement: args.inputs.statements ?? [] }) };
    return args.inputs;
  },
});

/** Provider answers of a fresh `pulumi up`, as the plan and the config tests use them. */
export const providerMocks: pulumi.runtime.Mocks = mocksWith();

/** The protobuf request fields the capture reads (RegisterResourceRequest, RegisterResourceOutputsRequest). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(f: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
interface RegisterOutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}
type Callback = (error: unknown, response?: { getUrn(): string }) => void;
interface MockMonitorLike {
  registerResource(req: RegisterRequest, callback: Callback): Promise<void> | void;
  registerResourceOutputs(req: RegisterOutputsRequest, callback: (error: unknown) => void): void;
}

/** Runs the program once and returns what it registered, in registration order. */
export async function captureProgram(
  run: ProgramRun,
  override?: OutputsOverride,
): Promise<CapturedResource[]> {
  await pulumi.runtime.setMocks(mocksWith(override), run.project, run.stack, false);
  pulumi.runtime.setAllConfig({ ...run.config }, [...run.secretKeys]);
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  const captured = new Map<string, CapturedResource>();
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    registerResource(req, (error, response) => {
      if (!error && response) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value, key) => {
          propertyDependencies[key] = value.getUrnsList();
        });
        captured.set(response.getUrn(), {
          urn: response.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent() || undefined,
          custom: req.getCustom(),
          protect: req.getProtect(),
          dependencies: req.getDependenciesList(),
          propertyDependencies,
          inputs: req.getObject()?.toJavaScript() ?? {},
        });
      }
      callback(error, response);
    });
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    const resource = captured.get(req.getUrn());
    if (resource)
      captured.set(resource.urn, { ...resource, outputs: req.getOutputs()?.toJavaScript() ?? {} });
    registerResourceOutputs(req, callback);
  };

  const program = (await import(run.program)) as Record<string, unknown>;
  // Stack outputs resolve only when everything they depend on has been registered.
  await Promise.all(Object.values(program).map((value) => resolveDeep(value)));
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return [...captured.values()];
}

async function resolveDeep(value: unknown): Promise<void> {
  if (pulumi.Output.isInstance(value)) {
    await new Promise<void>((resolve) => value.apply(() => resolve()));
  } else if (typeof value === "object" && value !== null) {
    await Promise.all(Object.values(value).map((v) => resolveDeep(v)));
  }
}

const SIG = pulumi.runtime.specialSigKey;

/**
 * Wire-form props as policies see them (secrets revealed: the policy SDK unwraps them too) or as
 * the plan writes them (secrets replaced by "[secret]"). Resource references become their URN.
 */
export function plainProps(value: unknown, secrets: "reveal" | "redact"): unknown {
  if (Array.isArray(value)) return value.map((v) => plainProps(v, secrets));
  if (typeof value !== "object" || value === null) return value;
  const object = value as Record<string, unknown>;
  const signature = object[SIG];
  if (signature === pulumi.runtime.specialSecretSig)
    return secrets === "redact" ? "[secret]" : plainProps(object.value, secrets);
  if (signature === pulumi.runtime.specialResourceSig) return object.urn;
  if (signature !== undefined) return object.path ?? object.text ?? object.uri ?? object.value;
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, plainProps(v, secrets)]));
}

/** What the policies analyze: inputs of custom resources, registered outputs of components. */
export function toAnalyzed(resources: readonly CapturedResource[]): AnalyzedResource[] {
  return resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    props: plainProps(r.custom ? r.inputs : (r.outputs ?? {}), "reveal") as Record<string, unknown>,
    protect: r.protect,
    parent: r.parent,
    dependencies: r.dependencies,
    propertyDependencies: r.propertyDependencies,
  }));
}
