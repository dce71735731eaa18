import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";
import { ConfigError, type ConfigProblem, displayValue } from "./config-error";
import { nearMiss, SECRET_KEYS, type StackConfig, stackConfigSchema } from "./stack-config";

export const NAMESPACE = "pgstack";

/** Examples shown in the fix line of an error, one per key. */
const EXAMPLES: Record<string, string> = {
  platform: "docker",
  postgresVersion: "16",
  image:
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pgstack-prod/postgres@sha256:<digest printed by docker push>",
  memoryLimit: "8Gi",
  memoryRequest: "8Gi",
  cpus: "4",
  storageSize: "200Gi",
  storageClass: "gp3",
  storageMedium: "ssd",
  workload: "web",
  maxConnections: "200",
  replicas: "1",
  primary: "replica-1",
  failover: "true",
  database: "app",
  appUser: "app",
  archiveBucket: "acme-pgstack-prod-wal",
  archiveStore: "aws",
  archiveRegion: "eu-west-1",
  archiveEndpoint: "s3.eu-west-1.amazonaws.com",
  archivePrefix: "/pgstack/prod",
  archiveRecoveryWindowDays: "30",
  archiveRetentionFull: "4",
  archiveRetentionDiff: "6",
  archiveTimeout: "60",
  backupFullSchedule: "'0 1 * * 0'",
  backupDiffSchedule: "'0 1 * * 1-6'",
  allowedCidrs: "10.0.0.0/16",
  clusterCidr: "10.0.0.0/16",
  tls: "true",
  parameters: "work_mem=64MB",
  protect: "true",
  publishPort: "15432",
  namespace: "pgstack-prod",
  clientNamespaces: "app",
  awsEgressCidrs: "52.218.0.0/17",
  monitoring: "true",
  monitoringNamespace: "monitoring",
  restoreDrillSchedule: "'0 4 * * *'",
  s3Access: "irsa",
  oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
  oidcProviderUrl: "oidc.eks.eu-west-1.amazonaws.com/id/ABC",
  kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/...",
};

const KNOWN_KEYS = Object.keys(stackConfigSchema.shape);

/**
 * Pulumi demands a value for every key declared in Pulumi.yaml, so optional keys are declared
 * with these "unset" defaults there; they mean "not set" here.
 */
const UNSET_SENTINELS: Readonly<Record<string, unknown>> = {
  maxConnections: 0,
  publishPort: 0,
  archiveRetentionFull: 0,
};

function isUnset(key: string, value: unknown): boolean {
  return value === undefined || value === "" || (key in UNSET_SENTINELS && value === UNSET_SENTINELS[key]);
}

/**
 * Raw stack config → StackConfig. `raw` maps keys (with or without the `pgstack:` namespace) to
 * values either as Pulumi hands them to a program (strings; arrays and objects as JSON) or as
 * YAML holds them. Keys of other namespaces (aws:, kubernetes:) are ignored. `secretKeys` names
 * the keys that arrived encrypted: a secret key in plaintext is refused, so a password can
 * never sit readable in Pulumi.<stack>.yaml.
 */
export function parseStackConfig(
  raw: Readonly<Record<string, unknown>>,
  secretKeys: ReadonlySet<string> = new Set(),
): StackConfig {
  const problems: ConfigProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(raw)) {
    const [namespace, key] = fullKey.includes(":") ? fullKey.split(":", 2) : [NAMESPACE, fullKey];
    if (namespace !== NAMESPACE) {
      const misspelt = misspeltNamespace(namespace, fullKey, value);
      if (misspelt) problems.push(misspelt);
      continue;
    }
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      if (secretKeys.has(key) && typeof value === "string" && !isOneLine(value)) {
        problems.push({
          key: `${NAMESPACE}:${key}`,
          value: "<secret>",
          message:
            "must be one line without leading or trailing spaces: it is written into one line of a password or pgBackRest file, where a line break cuts it and spaces are trimmed",
          fix: `pulumi config set --secret ${NAMESPACE}:${key} <value on one line>`,
        });
      }
      if (!secretKeys.has(key) && value !== "") {
        problems.push({
          key: `${NAMESPACE}:${key}`,
          value: "<plaintext>",
          message: "is a secret but is stored in plaintext in the stack file",
          fix: `pulumi config rm ${NAMESPACE}:${key}; pulumi config set --secret ${NAMESPACE}:${key} <value>`,
        });
      }
      continue;
    }
    const decoded = decode(key, value);
    if (!isUnset(key, decoded)) values[key] = decoded;
  }
  const result = stackConfigSchema.safeParse(values);
  if (!result.success) {
    problems.push(...result.error.issues.flatMap((issue) => toProblems(issue, values)));
    throw new ConfigError(problems);
  }
  problems.push(...secretProblems(result.data, secretKeys));
  if (problems.length === 0) return result.data;
  throw new ConfigError(problems);
}

function isOneLine(value: string): boolean {
  return value !== "" && value.trim() === value && !/[\r\n]/.test(value);
}

/** Namespaces of the providers pgstack uses: their keys belong to them. */
const PROVIDER_NAMESPACES = ["aws", "kubernetes", "docker", "random", "tls", "pulumi"];

/** A key whose namespace is a near-miss of pgstack's (`pgstak:memoryLimit`) would be ignored silently. */
function misspeltNamespace(namespace: string, fullKey: string, value: unknown): ConfigProblem | undefined {
  if (PROVIDER_NAMESPACES.includes(namespace) || distance(namespace.toLowerCase(), NAMESPACE) > 2)
    return undefined;
  const key = fullKey.slice(namespace.length + 1);
  return {
    key: fullKey,
    value: displayValue(value),
    message: `is in the namespace ${namespace}, which nothing reads; did you mean ${NAMESPACE}:${key}?`,
    fix: `pulumi config rm ${fullKey}; pulumi config set ${NAMESPACE}:${key} <value>`,
  };
}

/** Static S3 keys come as a pair, and Docker needs them to reach AWS S3 (no IAM role there). */
function secretProblems(config: StackConfig, secretKeys: ReadonlySet<string>): ConfigProblem[] {
  const pair = ["archiveAccessKeyId", "archiveSecretAccessKey"] as const;
  const given = pair.filter((key) => secretKeys.has(key));
  const store = config.archiveStore ?? (config.platform === "docker" ? "local" : "aws");
  const set = (key: string) => `pulumi config set --secret ${NAMESPACE}:${key} <value>`;
  if (given.length === 1) {
    const missing = pair.find((key) => !secretKeys.has(key)) as string;
    return [
      {
        key: `${NAMESPACE}:${missing}`,
        value: "<unset>",
        message: `is required with ${NAMESPACE}:${given[0]}: static S3 keys are a pair`,
        fix: `${set(missing)}, or pulumi config rm ${NAMESPACE}:${given[0]}`,
      },
    ];
  }
  if (given.length === 0 && config.platform === "docker" && store === "aws") {
    return pair.map((key) => ({
      key: `${NAMESPACE}:${key}`,
      value: "<unset>",
      message: `is required with platform=docker and archiveStore=aws: outside Kubernetes there is no IAM role, so pgBackRest signs with static keys`,
      fix: `${set(key)}, or pulumi config rm ${NAMESPACE}:archiveStore to use the local S3 store beside the cluster`,
    }));
  }
  if (given.length === 2 && store === "local") {
    return pair.map((key) => ({
      key: `${NAMESPACE}:${key}`,
      value: "<secret>",
      message:
        "is for AWS S3; with archiveStore=local the local store's keys are used and this one would be ignored",
      fix: `pulumi config rm ${NAMESPACE}:${key}, or pulumi config set ${NAMESPACE}:archiveStore aws`,
    }));
  }
  return [];
}

/** Pulumi passes every value as a string; decode numbers, booleans and arrays where the key wants them. */
function decode(key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  const schema = stackConfigSchema.shape[key as keyof typeof stackConfigSchema.shape];
  if (schema === undefined || acceptsString(schema)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function acceptsString(schema: z.ZodType): boolean {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner instanceof z.ZodString || inner instanceof z.ZodEnum;
}

function toProblems(issue: z.core.$ZodIssue, values: Record<string, unknown>): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const suggestion = closest(key, [...KNOWN_KEYS, ...SECRET_KEYS]);
      const near =
        distance(key.toLowerCase(), suggestion.toLowerCase()) <= Math.max(2, suggestion.length / 4);
      return {
        key: `${NAMESPACE}:${key}`,
        value: displayValue(values[key]),
        message: near
          ? `is not a pgstack setting; did you mean ${NAMESPACE}:${suggestion}?`
          : "is not a pgstack setting (README.md, Configuration reference, lists them all)",
        fix: near
          ? `pulumi config rm ${NAMESPACE}:${key}; pulumi config set ${NAMESPACE}:${suggestion} <value>`
          : `pulumi config rm ${NAMESPACE}:${key}`,
      };
    });
  }
  const [top, ...rest] = issue.path;
  const topKey = String(top);
  const key = `${NAMESPACE}:${topKey}${rest.map((p) => `[${String(p)}]`).join("")}`;
  const value = rest.reduce<unknown>(
    (acc, p) => (acc as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey],
    values[topKey],
  );
  const missing = value === undefined && issue.code === "invalid_type";
  const message = missing ? `is required: ${describe(topKey)}` : readable(issue);
  // A near-miss of an allowed value is fixed with that value; anything else with the key's example.
  const allowedValues = issue.code === "invalid_value" ? issue.values.map(String) : [];
  const suggestion = nearMiss(value, allowedValues).match(/did you mean (.+)\?$/)?.[1];
  const example = suggestion ?? EXAMPLES[topKey] ?? "<value>";
  const customFix = (issue as { params?: { fix?: string } }).params?.fix;
  const isList =
    Array.isArray(values[topKey]) ||
    topKey === "allowedCidrs" ||
    topKey === "parameters" ||
    topKey === "clientNamespaces";
  const fix =
    customFix ??
    (isList
      ? `pulumi config set --path '${NAMESPACE}:${topKey}[${rest[0] === undefined ? 0 : String(rest[0])}]' ${example}`
      : `pulumi config set ${NAMESPACE}:${topKey} ${example}`);
  return [{ key, value: displayValue(value), message, fix }];
}

/**
 * The issue's message, unless it is one of zod's built-in defaults ("Invalid input: expected
 * number, received string", "Too small: ..."), which say nothing about units or ranges: every
 * schema in stack-config.ts words its own, and this is the net under a schema that forgot.
 */
function readable(issue: z.core.$ZodIssue): string {
  if (!/^(Invalid input|Invalid option|Too (small|big)|Invalid (string|number))/.test(issue.message)) {
    return issue.message;
  }
  return `is not valid here: ${describe(String(issue.path[0]))}`;
}

function describe(key: string): string {
  const schema = stackConfigSchema.shape[key as keyof typeof stackConfigSchema.shape];
  const example = EXAMPLES[key] ? `, e.g. ${EXAMPLES[key]}` : "";
  return `${schema?.description ?? "see the Configuration reference in README.md"}${example}`;
}
