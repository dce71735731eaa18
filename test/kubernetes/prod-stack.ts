import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

/**
 * Runs the prod platform (KubernetesPostgresCluster and its AWS side) under Pulumi mocks and
 * captures what it registers. The spec is built from the repository's own Pulumi.prod.yaml, so
 * the tests check what `pulumi up --stack prod` would declare. Each test file runs in its own
 * process (vitest forks): call `deployProd` once per file.
 */

/** Secret values set as `pulumi config --secret`: the tests look for them everywhere. */
export const SECRET_VALUES = {
  superuserPassword: "Sup3rUserPwd4f1b9c2e7d",
  replicationPassword: "Repl1cationPwd8a6e3f0b",
  appPassword: "AppRolePwd5c2d9e1a7f3b",
  repoCipherPass: "CipherPass0b7e4a9d2c6f1e8a3b5d",
} as const;

/** What the mocked IAM access key returns: the "shared" mode must keep these secret too. */
export const MOCK_ACCESS_KEY = { id: "AKIAMOCKEDKEY1234567", secret: "MockedSecretAccessKey/abcdefghij0123" };
/** The restore drill's key (its own IAM user's), distinct so tests can tell where each one goes. */
export const MOCK_DRILL_ACCESS_KEY = {
  id: "AKIAMOCKEDDRILL12345",
  secret: "MockedDrillSecretKey/abcdefghij01234",
};

/** Provider inputs as the tests walk them: shapes vary by resource type. */
// biome-ignore lint/suspicious/noExplicitAny: tests navigate provider inputs of many shapes and assert on them.
export type Json = Record<string, any>;

export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the provider would receive them; secrets still wrapped (see isSecretWrapper). */
  readonly inputs: Record<string, unknown>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly parent: string;
  /** URNs this resource waits for (dependsOn and the resources its inputs come from). */
  readonly dependencies: readonly string[];
  /** How long `pulumi up` waits for it (customTimeouts), when set. */
  readonly customTimeouts?: { readonly create: string; readonly update: string };
}

export interface ProdStack {
  readonly spec: import("../../components/spec/cluster-spec").ClusterSpec;
  readonly cluster: import("../../components/kubernetes/postgres-cluster").KubernetesPostgresCluster;
  readonly resources: readonly RegisteredResource[];
  ofType(type: string): RegisteredResource[];
  named(type: string, name: string): RegisteredResource;
}

const SIG = pulumi.runtime.specialSigKey;
const SECRET_SIG = pulumi.runtime.specialSecretSig;

/** A secret Output as the mock receives it. */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG] === SECRET_SIG
  );
}

/** The value with secret wrappers removed (what the provider would store). */
export function unwrap(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unwrap(item)]));
  }
  return value;
}

function mockState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
  const state: Record<string, unknown> = { ...inputs };
  switch (type) {
    case "aws:s3/bucket:Bucket":
      state.arn = `arn:aws:s3:::${String(inputs.bucket)}`;
      return { id: String(inputs.bucket), state };
    case "aws:kms/key:Key":
      state.arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";
      break;
    case "aws:iam/role:Role":
      state.arn = `arn:aws:iam::123456789012:role/${name}`;
      break;
    case "aws:iam/user:User":
      state.name = name;
      state.arn = `arn:aws:iam::123456789012:user/pgstack/${name}`;
      break;
    case "aws:iam/accessKey:AccessKey": {
      const key = name.includes("-drill-") ? MOCK_DRILL_ACCESS_KEY : MOCK_ACCESS_KEY;
      state.secret = key.secret;
      return { id: key.id, state };
    }
    case "tls:index/privateKey:PrivateKey":
      state.privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`;
      break;
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      state.certPem = `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
      break;
    case "tls:index/certRequest:CertRequest":
      state.certRequestPem = `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n`;
      break;
    case "random:index/randomPassword:RandomPassword":
      state.result = `random-${name}`;
      break;
  }
  return { id: `${name}-id`, state };
}

/** Pulumi.prod.yaml's config, with `overrides` replacing keys (pgstack:* without the namespace). */
export function prodConfig(overrides: Record<string, unknown> = {}): Record<string, string> {
  const file = parse(readFileSync(join(__dirname, "..", "..", "Pulumi.prod.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const config: Record<string, string> = {};
  const merged = { ...file.config };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete merged[`pgstack:${key}`];
    else merged[`pgstack:${key}`] = value;
  }
  for (const [key, value] of Object.entries(merged)) {
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return config;
}

/**
 * Declares the prod cluster under mocks (preview=false, so every Output resolves) and returns
 * what was registered. `overrides` change stack config keys, e.g. { s3Access: "accessKey" }.
 */
export async function deployProd(overrides: Record<string, unknown> = {}): Promise<ProdStack> {
  const secretConfig: Record<string, string> = {};
  for (const [key, value] of Object.entries(SECRET_VALUES)) secretConfig[`pgstack:${key}`] = value;
  const config = { ...prodConfig(overrides), ...secretConfig };
  pulumi.runtime.setAllConfig(config, Object.keys(secretConfig));

  const registered = new Map<string, { type: string; name: string; inputs: Record<string, unknown> }>();
  const options = new Map<
    string,
    {
      protect: boolean;
      retainOnDelete: boolean;
      parent: string;
      dependencies: string[];
      customTimeouts?: { create: string; update: string };
    }
  >();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.set(`${args.type}::${args.name}`, {
          type: args.type,
          name: args.name,
          inputs: args.inputs,
        });
        return mockState(args.type, args.name, args.inputs);
      },
      call: (args) => args.inputs,
    },
    "pgstack",
    "prod",
    false,
  );
  // Resource options never reach newResource: read them off the register requests.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: RegisterRequest, callback: unknown) => unknown;
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    options.set(`${req.getType()}::${req.getName()}`, {
      protect: req.getProtect() === true,
      retainOnDelete: req.getRetainondelete() === true,
      parent: req.getParent(),
      dependencies: req.getDependenciesList(),
      customTimeouts: req.getCustomtimeouts()
        ? {
            create: req.getCustomtimeouts()?.getCreate() ?? "",
            update: req.getCustomtimeouts()?.getUpdate() ?? "",
          }
        : undefined,
    });
    return registerResource(req, callback);
  };

  const { parseStackConfig } = await import("../../components/config/parse-stack-config.js");
  const { buildClusterSpec } = await import("../../components/spec/build-cluster-spec.js");
  const { ClusterSecrets } = await import("../../components/secrets/cluster-secrets.js");
  const { KubernetesPostgresCluster } = await import("../../components/kubernetes/postgres-cluster.js");

  const stackConfig = parseStackConfig(prodConfig(overrides), new Set());
  const spec = buildClusterSpec(stackConfig, { stack: "prod" });
  const secrets = new ClusterSecrets(`${spec.name}-secrets`, { protect: spec.protect });
  const cluster = new KubernetesPostgresCluster(spec.name, { spec, secrets });
  await settled(cluster);

  const resources: RegisteredResource[] = [...registered.entries()].map(([key, resource]) => ({
    ...resource,
    protect: options.get(key)?.protect ?? false,
    retainOnDelete: options.get(key)?.retainOnDelete ?? false,
    parent: options.get(key)?.parent ?? "",
    dependencies: options.get(key)?.dependencies ?? [],
    customTimeouts: options.get(key)?.customTimeouts,
  }));
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return {
    spec,
    cluster,
    resources,
    ofType,
    named: (type, name) => {
      const found = ofType(type).find((resource) => resource.name === name);
      if (!found) {
        throw new Error(
          `no ${type} named ${name}; registered: ${
            ofType(type)
              .map((r) => r.name)
              .join(", ") || "none"
          }`,
        );
      }
      return found;
    },
  };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string } | undefined;
}

/** Resolves once every output of the component resolved and no registration is pending. */
async function settled(cluster: { secretNames: pulumi.Output<unknown>; bucketArn: pulumi.Output<unknown> }) {
  await new Promise<void>((resolve) =>
    pulumi.all([cluster.secretNames, cluster.bucketArn]).apply(() => {
      resolve();
    }),
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    getRegisteredResources(): Map<string, unknown>;
  };
  // Registrations chained on outputs (secrets from certificates, policies from ARNs) finish
  // shortly after: wait until the count stops moving.
  let count = -1;
  while (monitor.getRegisteredResources().size !== count) {
    count = monitor.getRegisteredResources().size;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every string in a value, with the path to it and whether a secret wrapper encloses it. */
export function stringsIn(
  value: unknown,
  path = "",
  secret = false,
): { path: string; text: string; secret: boolean }[] {
  if (isSecretWrapper(value)) return stringsIn(value.value, path, true);
  if (typeof value === "string") return [{ path, text: value, secret }];
  if (Array.isArray(value))
    return value.flatMap((item, index) => stringsIn(item, `${path}[${index}]`, secret));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      stringsIn(item, path ? `${path}.${key}` : key, secret),
    );
  }
  return [];
}
