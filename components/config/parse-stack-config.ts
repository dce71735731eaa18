import { closest } from "fastest-levenshtein";
import { z } from "zod";
import { ConfigError, type ConfigProblem, displayValue } from "./config-error";
import { SECRET_KEYS, type StackConfig, stackConfigSchema } from "./stack-config";

export const NAMESPACE = "pgstack";

/** Examples shown in the fix line of an error, one per key. */
const EXAMPLES: Record<string, string> = {
  platform: "docker",
  postgresVersion: "16",
  image: "pgstack/postgres:16.11-pgbackrest2.57.0",
  memoryLimit: "8Gi",
  memoryRequest: "8Gi",
  cpus: "4",
  storageSize: "200Gi",
  storageClass: "gp3",
  storageMedium: "ssd",
  workload: "web",
  maxConnections: "200",
  replicas: "1",
  database: "app",
  appUser: "app",
  archiveBucket: "acme-pgstack-prod-wal",
  archiveStore: "aws",
  archiveRegion: "eu-west-1",
  archiveEndpoint: "s3.eu-west-1.amazonaws.com",
  archivePrefix: "/pgstack/prod",
  archiveRetentionFull: "2",
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
const UNSET_SENTINELS: Readonly<Record<string, unknown>> = { maxConnections: 0, publishPort: 0 };

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
    if (namespace !== NAMESPACE) continue;
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      if (!secretKeys.has(key) && value !== "") {
        problems.push({
          key: `${NAMESPACE}:${key}`,
          value: "<plaintext>",
          message: "is a secret but is stored in plaintext",
          fix: `pulumi config set --secret ${NAMESPACE}:${key} <value>`,
        });
      }
      continue;
    }
    const decoded = decode(key, value);
    if (!isUnset(key, decoded)) values[key] = decoded;
  }
  const result = stackConfigSchema.safeParse(values);
  if (result.success && problems.length === 0) return result.data;
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => toProblems(issue, values)));
  throw new ConfigError(problems);
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
      return {
        key: `${NAMESPACE}:${key}`,
        value: displayValue(values[key]),
        message: `is not a pgstack setting; did you mean ${NAMESPACE}:${suggestion}?`,
        fix: `pulumi config rm ${NAMESPACE}:${key} (and set ${NAMESPACE}:${suggestion} if that was meant)`,
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
  const message = missing ? `is required: ${describe(topKey)}` : issue.message;
  const example = EXAMPLES[topKey] ?? "<value>";
  const isList =
    Array.isArray(values[topKey]) ||
    topKey === "allowedCidrs" ||
    topKey === "parameters" ||
    topKey === "clientNamespaces";
  const fix = isList
    ? `pulumi config set --path '${NAMESPACE}:${topKey}[${rest[0] === undefined ? 0 : String(rest[0])}]' ${example}`
    : `pulumi config set ${NAMESPACE}:${topKey} ${example}`;
  return [{ key, value: displayValue(value), message, fix }];
}

function describe(key: string): string {
  const schema = stackConfigSchema.shape[key as keyof typeof stackConfigSchema.shape];
  return schema?.description ?? `see the configuration reference in README.md`;
}
