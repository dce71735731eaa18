import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { parseQuantity } from "../spec/units";

/**
 * The stack configuration of pgstack: every `pgstack:*` key a user may set, with its type,
 * default and meaning. Pulumi.yaml documents the same keys for `pulumi config`; the tests keep
 * the two in step. Secrets are listed separately (SECRET_KEYS): they never enter this object.
 */

export const PLATFORMS = ["docker", "kubernetes"] as const;
export const POSTGRES_VERSIONS = [15, 16, 17] as const;
export const WORKLOADS = ["web", "oltp", "dw", "mixed", "desktop"] as const;
export const STORAGE_MEDIA = ["ssd", "hdd", "san"] as const;
export const ARCHIVE_STORES = ["minio", "aws"] as const;
export const S3_ACCESS_MODES = ["irsa", "accessKey"] as const;

export type Platform = (typeof PLATFORMS)[number];
export type PostgresVersion = (typeof POSTGRES_VERSIONS)[number];
export type Workload = (typeof WORKLOADS)[number];
export type StorageMedium = (typeof STORAGE_MEDIA)[number];

/** Keys that must be set with `pulumi config set --secret`; platforms read them as Outputs. */
export const SECRET_KEYS = [
  "superuserPassword",
  "replicationPassword",
  "appPassword",
  "repoCipherPass",
  "archiveAccessKeyId",
  "archiveSecretAccessKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const size = (example: string) =>
  z.string().refine((text) => parseQuantity(text) !== undefined, {
    message: `expected a positive size with a binary unit (Ki, Mi, Gi, Ti), e.g. ${example}; a bare number is ambiguous`,
  });

const cron = z.string().refine(
  (text) => {
    if (text.trim().split(/\s+/).length !== 5) return false;
    try {
      CronExpressionParser.parse(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a 5-field cron expression (minute hour day month weekday), e.g. "0 1 * * 0"' },
);

const cidr = z.union([z.cidrv4(), z.cidrv6()], {
  error: "expected a CIDR block such as 10.0.0.0/16",
});

const dnsLabel = z
  .string()
  .regex(
    /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "expected a lowercase DNS label (a-z, 0-9, '-'), at most 63 characters",
  );

const identifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    "expected a lowercase PostgreSQL identifier (a-z, 0-9, '_'), at most 63 characters",
  );

const parameterAssignment = z
  .string()
  .regex(/^[a-z_][a-z0-9_.]*\s*=\s*\S.*$/, 'expected "name=value", e.g. "work_mem=64MB"');

export const stackConfigSchema = z
  .strictObject({
    /** Where the cluster runs: local Docker (dev) or Kubernetes (prod). */
    platform: z.enum(PLATFORMS).describe("where the cluster runs: docker (dev) or kubernetes (prod)"),
    /** PostgreSQL major version. */
    postgresVersion: z
      .union(
        POSTGRES_VERSIONS.map((v) => z.literal(v)),
        { error: `expected one of ${POSTGRES_VERSIONS.join(", ")}` },
      )
      .describe(`the PostgreSQL major version, one of ${POSTGRES_VERSIONS.join(", ")}`),
    /** Container image; pinned by tag or digest. Defaults to the image built from image/Dockerfile. */
    image: z.string().optional(),
    /** Memory limit of each PostgreSQL container; tuning is computed from it. */
    memoryLimit: size("8Gi").describe(
      "the memory limit of each PostgreSQL container; tuning is computed from it",
    ),
    /** Memory request; defaults to the limit (Guaranteed QoS: the node never over-commits it). */
    memoryRequest: size("8Gi").optional(),
    /** Whole CPUs of each PostgreSQL container (limit and request): parallelism is sized from it. */
    cpus: z.int().min(1).max(256).describe("whole CPUs of each PostgreSQL container"),
    /** Size of each member's data volume. */
    storageSize: size("200Gi").describe("the size of each member's data volume"),
    /** Kubernetes StorageClass of the data volumes; the cluster default when unset. */
    storageClass: z.string().min(1).optional(),
    /** What the data volume is made of; sets planner costs and I/O concurrency. */
    storageMedium: z.enum(STORAGE_MEDIA).default("ssd"),
    /** Workload profile, as in PGTune. */
    workload: z.enum(WORKLOADS).default("mixed"),
    /** max_connections; defaults to PGTune's value for the workload. */
    maxConnections: z.int().min(10).max(10000).optional(),
    /** Streaming replicas (hot standbys), each with its own replication slot. */
    replicas: z.int().min(0).max(5).default(1),
    /** Application database created at bootstrap. */
    database: identifier.default("app"),
    /** Application role created at bootstrap (owner of the database). */
    appUser: identifier.default("app"),
    /** S3 bucket of the pgBackRest repository. */
    archiveBucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
      .describe("the S3 bucket of the pgBackRest repository"),
    /** Who provides the bucket: a MinIO container beside the cluster (Docker only) or AWS S3. */
    archiveStore: z.enum(ARCHIVE_STORES).optional(),
    /** AWS region of the bucket (for MinIO, any region name; it is only signed into requests). */
    archiveRegion: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected an AWS region such as eu-west-1")
      .default("us-east-1"),
    /** S3 endpoint host; defaults to s3.<region>.amazonaws.com, or the MinIO container. */
    archiveEndpoint: z.string().optional(),
    /** Path inside the bucket for this stack's repository; defaults to /pgstack/<stack>. */
    archivePrefix: z
      .string()
      .regex(/^\/[A-Za-z0-9._\-/]*[A-Za-z0-9._-]$/, "expected an absolute path such as /pgstack/prod")
      .optional(),
    /** Full backups kept (pgBackRest repo1-retention-full); WAL older than the oldest is expired. */
    archiveRetentionFull: z.int().min(1).max(100).default(2),
    /** Differential backups kept (repo1-retention-diff). */
    archiveRetentionDiff: z.int().min(1).max(100).default(6),
    /** Seconds after which a partly filled WAL segment is archived anyway: the RPO bound from S3 alone. */
    archiveTimeout: z.int().min(10).max(3600).default(60),
    /** Cron schedule of full backups (UTC). */
    backupFullSchedule: cron.default("0 1 * * 0"),
    /** Cron schedule of differential backups (UTC). */
    backupDiffSchedule: cron.default("0 1 * * 1-6"),
    /** Client networks allowed to reach PostgreSQL (pg_hba host rules for the application role). */
    allowedCidrs: z.array(cidr).default([]),
    /**
     * The network the cluster's own members use (replication and backup connections). Docker
     * defaults to "samenet" (the stack's private network); Kubernetes needs the pod CIDR.
     */
    clusterCidr: z.union([cidr, z.literal("samenet")]).optional(),
    /** TLS for client, replication and pgBackRest connections (certificates made by the stack). */
    tls: z.boolean().default(true),
    /** postgresql.conf overrides, "name=value"; they win over computed values after validation. */
    parameters: z.array(parameterAssignment).default([]),
    /** Protect volumes and the bucket from `pulumi destroy`. */
    protect: z.boolean().default(true),
    /** Docker: publish PostgreSQL on this host port, bound to 127.0.0.1 only. Off by default. */
    publishPort: z.int().min(1024).max(65535).optional(),
    /** Kubernetes: the namespace; defaults to pgstack-<stack>. */
    namespace: dnsLabel.optional(),
    /** Kubernetes: namespaces whose pods may connect to PostgreSQL (NetworkPolicy). */
    clientNamespaces: z.array(dnsLabel).default([]),
    /**
     * Metrics and alerts: Prometheus and Alertmanager beside a Docker stack; a PodMonitor and a
     * PrometheusRule for the Prometheus operator on Kubernetes. The exporter runs either way.
     */
    monitoring: z.boolean().default(true),
    /** Kubernetes: namespace of the Prometheus that scrapes the exporters (NetworkPolicy). */
    monitoringNamespace: dnsLabel.default("monitoring"),
    /** Cron schedule (UTC) of the restore drill; its alert fires when no drill passed within it. */
    restoreDrillSchedule: cron.default("0 4 * * *"),
    /** Kubernetes: how pods get S3 access: IAM role for the service account, or an access key Secret. */
    s3Access: z.enum(S3_ACCESS_MODES).default("irsa"),
    /** Kubernetes + IRSA: ARN of the cluster's IAM OIDC provider. */
    oidcProviderArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+$/, "expected an IAM OIDC provider ARN")
      .optional(),
    /** Kubernetes + IRSA: the OIDC issuer host and path, without https:// (e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC). */
    oidcProviderUrl: z
      .string()
      .regex(/^[a-z0-9.-]+\/.+$/, "expected the issuer without https://")
      .optional(),
    /** AWS: KMS key for bucket encryption; a key is created when unset. */
    kmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:/, "expected a KMS key ARN")
      .optional(),
  })
  .superRefine((config, ctx) => {
    const store = config.archiveStore ?? (config.platform === "docker" ? "minio" : "aws");
    if (store === "minio" && config.platform !== "docker") {
      ctx.addIssue({
        code: "custom",
        path: ["archiveStore"],
        input: config.archiveStore,
        message: "the MinIO store runs only beside the Docker platform; Kubernetes archives to AWS S3",
      });
    }
    if (config.platform === "kubernetes" && config.s3Access === "irsa") {
      for (const key of ["oidcProviderArn", "oidcProviderUrl"] as const) {
        if (!config[key]) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            input: undefined,
            message:
              "required with s3Access=irsa (the IAM role trusts the cluster's OIDC provider); or set s3Access=accessKey",
          });
        }
      }
    }
    if (
      config.platform === "kubernetes" &&
      (config.clusterCidr === undefined || config.clusterCidr === "samenet")
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["clusterCidr"],
        input: config.clusterCidr,
        message: "Kubernetes needs the pod network CIDR (replication and backup connections come from pods)",
      });
    }
    if (config.publishPort !== undefined && config.platform !== "docker") {
      ctx.addIssue({
        code: "custom",
        path: ["publishPort"],
        input: config.publishPort,
        message: "only the Docker platform publishes a port; on Kubernetes use the ClusterIP service",
      });
    }
    if (config.memoryRequest !== undefined) {
      const request = parseQuantity(config.memoryRequest);
      const limit = parseQuantity(config.memoryLimit);
      if (request !== undefined && limit !== undefined && request > limit) {
        ctx.addIssue({
          code: "custom",
          path: ["memoryRequest"],
          input: config.memoryRequest,
          message: `must not exceed memoryLimit (${config.memoryLimit})`,
        });
      }
    }
  });

/** Stack configuration as written (before defaults). */
export type StackConfigInput = z.input<typeof stackConfigSchema>;
/** Stack configuration with defaults applied. */
export type StackConfig = z.output<typeof stackConfigSchema>;
