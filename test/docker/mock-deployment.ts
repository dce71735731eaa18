import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { ClusterSpec } from "../../components/spec/cluster-spec";

/**
 * Runs the Docker platform under Pulumi's mocks (preview=false, so outputs resolve) and returns
 * every resource it registered with its inputs. Import this module, and the component only
 * through `deployDockerCluster`, so `setMocks` always runs before the component is loaded.
 */

/** Secret config the tests set; every value is searched for in what the program registers. */
export const CONFIGURED_SECRETS: Readonly<Record<string, string>> = {
  superuserPassword: "superuser-7fQ2xLw9Rb",
  replicationPassword: "replication-K3vN8pTz1c",
  appPassword: "application-Hq5sW2mJ0d",
  repoCipherPass: "cipher-Yr6tB4nV8kL1pQ",
};

/** What the mocks return for generated values (random passwords, private keys): secret too. */
const GENERATED_PREFIX = "generated-secret-";

export interface RegisteredResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Inputs as the program passed them; secrets unwrapped, and listed in `secretPaths`. */
  readonly inputs: Record<string, unknown>;
  /** JSON paths of the inputs that arrived marked secret. */
  readonly secretPaths: readonly string[];
  /** Resource options as the engine received them. */
  readonly dependencies: readonly string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly additionalSecretOutputs: readonly string[];
  readonly ignoreChanges: readonly string[];
}

interface RegistrationOptions {
  readonly dependencies: string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly additionalSecretOutputs: string[];
  readonly ignoreChanges: string[];
}

/** The protobuf request the SDK sends for each resource (only the getters used here). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getIgnorechangesList(): string[];
}

/**
 * Wraps the mock monitor's registerResource to keep the resource options (dependsOn, protect,
 * retainOnDelete...), which the mocks' newResource does not see.
 */
function recordOptions(): Map<string, RegistrationOptions> {
  const options = new Map<string, RegistrationOptions>();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    options.set(`${req.getType()}::${req.getName()}`, {
      dependencies: req.getDependenciesList(),
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      ignoreChanges: req.getIgnorechangesList(),
    });
    return register(req, callback);
  };
  return options;
}

export interface Deployment {
  readonly resources: readonly RegisteredResource[];
  readonly outputs: Record<string, unknown>;
  readonly appPasswordIsSecret: boolean;
  /** Every secret value the deployment holds: configured ones and generated ones. */
  readonly secretValues: readonly string[];
  readonly spec: ClusterSpec;
}

const SECRET_SIG = pulumi.runtime.specialSigKey;
const SECRET_MARKER = pulumi.runtime.specialSecretSig;

function unwrap(value: unknown, at: string, secretPaths: string[]): unknown {
  if (Array.isArray(value)) return value.map((item, index) => unwrap(item, `${at}[${index}]`, secretPaths));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] === SECRET_MARKER) {
      secretPaths.push(at);
      return unwrap(record.value, at, secretPaths);
    }
    return Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, unwrap(v, `${at}.${k}`, secretPaths)]),
    );
  }
  return value;
}

function hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The image ID the mocks report for an image built or pulled under `reference`. */
export function mockImageId(reference: string): string {
  return `sha256:${hex(reference)}`;
}

/** Outputs the providers would compute, so the program's applies run as in a real update. */
/** The host port the mocked Docker picks for a published port without one. */
export const MOCK_EPHEMERAL_PORT = 49153;

function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: `${GENERATED_PREFIX}${name}` };
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyPem: `${GENERATED_PREFIX}key-${name}` };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n` };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: `csr-${name}` };
    case "docker:index/image:Image":
      return { repoDigest: mockImageId(String(inputs.imageName)) };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: mockImageId(String(inputs.name)) };
    case "docker:index/container:Container":
      if (inputs.attach === true) return { exitCode: 0, containerLogs: "Bucket created successfully." };
      // Docker picks a host port for a published port without one.
      return Array.isArray(inputs.ports)
        ? {
            ports: (inputs.ports as Record<string, unknown>[]).map((port) => ({
              ...port,
              external: port.external ?? MOCK_EPHEMERAL_PORT,
            })),
          }
        : {};
    default:
      return {};
  }
}

/** The raw `pgstack:*` config of Pulumi.dev.yaml, as the engine would hand it to the program. */
export function devStackConfig(): Record<string, string> {
  const file = path.resolve(__dirname, "..", "..", "Pulumi.dev.yaml");
  const config = (parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

/**
 * Sets the mocks for `stack`, builds the spec from Pulumi.dev.yaml (plus `overrides`) and
 * declares ClusterSecrets and the DockerPostgresCluster as index.ts does.
 */
export async function deployDockerCluster(
  stack: string,
  overrides: Readonly<Record<string, string>> = {},
  extraSecrets: Readonly<Record<string, string>> = {},
): Promise<Deployment> {
  const inputsByResource = new Map<string, Record<string, unknown>>();
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputsByResource.set(`${args.type}::${args.name}`, args.inputs);
        const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs) };
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "pgstack",
    stack,
    false,
  );
  const registrations = recordOptions();
  const rawConfig: Record<string, string> = { ...devStackConfig(), ...overrides };
  const configuredSecrets = { ...CONFIGURED_SECRETS, ...extraSecrets };
  const secretKeys = Object.keys(configuredSecrets).map((key) => `pgstack:${key}`);
  for (const [key, value] of Object.entries(configuredSecrets)) rawConfig[`pgstack:${key}`] = value;
  pulumi.runtime.setAllConfig(rawConfig, secretKeys);

  // Loaded only now, after setMocks (a static import would run before it).
  const { parseStackConfig } = await import("../../components/config/parse-stack-config.js");
  const { buildClusterSpec } = await import("../../components/spec/build-cluster-spec.js");
  const { ClusterSecrets } = await import("../../components/secrets/cluster-secrets.js");
  const { DockerPostgresCluster } = await import("../../components/docker/postgres-cluster.js");

  // As the program reads it: secrets flagged, so the rules that need a secret see it is set.
  const spec = buildClusterSpec(parseStackConfig(rawConfig, new Set(Object.keys(configuredSecrets))), {
    stack,
  });
  const secrets = new ClusterSecrets(`${spec.name}-secrets`, { protect: spec.protect });
  const cluster = new DockerPostgresCluster(spec.name, { spec, secrets });

  const outputs = await new Promise<Record<string, unknown>>((resolve) =>
    pulumi
      .all({
        connection: cluster.connection,
        appPassword: cluster.appPassword,
        replicaHosts: cluster.replicaHosts,
        repository: cluster.repository,
        volumes: cluster.volumes,
        bucketReady: cluster.bucketReady,
        caCertificate: cluster.caCertificate,
        psql: cluster.psql,
        prometheusUrl: cluster.prometheusUrl,
        spec: cluster.spec as pulumi.Output<unknown>,
      })
      .apply((values) => resolve(values as Record<string, unknown>)),
  );
  await (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();

  const monitor = pulumi.runtime.getMonitor() as unknown as {
    getRegisteredResources(): Map<string, unknown>;
  };
  const resources: RegisteredResource[] = [];
  for (const [urn] of monitor.getRegisteredResources()) {
    const parts = urn.split("::");
    const secretPaths: string[] = [];
    const type = parts[2].split("$").pop() as string;
    // Inputs as the program passed them (secrets still carry Pulumi's secret signature here).
    const inputs = unwrap(inputsByResource.get(`${type}::${parts[3]}`) ?? {}, "", secretPaths) as Record<
      string,
      unknown
    >;
    const options = registrations.get(`${type}::${parts[3]}`);
    if (!options) throw new Error(`no registration recorded for ${urn}`);
    resources.push({ urn, type, name: parts[3], inputs, secretPaths, ...options });
  }
  const generated = resources
    .filter(
      (r) =>
        r.type === "random:index/randomPassword:RandomPassword" ||
        r.type === "tls:index/privateKey:PrivateKey",
    )
    .map((r) =>
      r.type.startsWith("random") ? `${GENERATED_PREFIX}${r.name}` : `${GENERATED_PREFIX}key-${r.name}`,
    );
  const appPasswordIsSecret = await pulumi.isSecret(cluster.appPassword);
  return {
    resources,
    outputs,
    appPasswordIsSecret,
    secretValues: [...Object.values(configuredSecrets), ...generated],
    spec,
  };
}

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";

export function ofType(deployment: Deployment, type: string): RegisteredResource[] {
  return deployment.resources.filter((resource) => resource.type === type);
}

/** Long-running containers (the one-shot bucket job runs with attach: true and exits). */
export function services(deployment: Deployment): RegisteredResource[] {
  return ofType(deployment, CONTAINER).filter((container) => container.inputs.attach !== true);
}

export function containerNamed(deployment: Deployment, dockerName: string): RegisteredResource {
  const found = ofType(deployment, CONTAINER).find((container) => container.inputs.name === dockerName);
  if (!found) throw new Error(`no container named ${dockerName}`);
  return found;
}

export interface UploadInput {
  readonly file: string;
  readonly content?: string;
  readonly owner?: string;
  readonly group?: string;
  readonly permissions?: string;
}

export function uploadsOf(container: RegisteredResource): UploadInput[] {
  return (container.inputs.uploads as UploadInput[] | undefined) ?? [];
}
