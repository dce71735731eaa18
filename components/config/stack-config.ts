import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";
import { isPinnedImage } from "../spec/image";
import { parseQuantity } from "../spec/units";
import { CRON_FORM, everFires, firstCommonRun, parseCron } from "./cron-schedule";

/**
 * The stack configuration of pgstack: every `pgstack:*` key a user may set, with its type,
 * default and meaning. Pulumi.yaml documents the same keys for `pulumi config`; the tests keep
 * the two in step. Secrets are listed separately (SECRET_KEYS): they never enter this object.
 * Every message says what is allowed, with the unit and the range: never a bare schema default.
 */

export const PLATFORMS = ["docker", "kubernetes"] as const;
export const POSTGRES_VERSIONS = [15, 16, 17] as const;
export const WORKLOADS = ["web", "oltp", "dw", "mixed", "desktop"] as const;
export const STORAGE_MEDIA = ["ssd", "hdd", "san", "nvme"] as const;
export const ARCHIVE_STORES = ["local", "aws"] as const;
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

/** "did you mean x?" for a value within two edits (or a case change) of an allowed one. */
export function nearMiss(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== "string" || value === "" || allowed.length === 0) return "";
  const suggestion = closest(value, [...allowed]);
  const close = distance(value.toLowerCase(), suggestion.toLowerCase()) <= Math.max(2, suggestion.length / 4);
  return close ? `; did you mean ${suggestion}?` : "";
}

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) => `expected one of ${values.join(", ")}${nearMiss(issue.input, values)}`,
  });

/** A whole number with its unit and range, e.g. "seconds, 10 to 3600". */
const wholeNumber = (unit: string, min: number, max: number) => {
  const message = `expected a whole number of ${unit}, ${min} to ${max}`;
  return z.int({ error: message }).min(min, { error: message }).max(max, { error: message });
};

const flag = () => z.boolean({ error: "expected true or false" });

const list = <T extends z.ZodType>(item: T, example: string) =>
  z.array(item, {
    error: `expected a list, e.g. [${JSON.stringify(example)}] (pulumi config set --path 'key[0]' ...)`,
  });

/** Text that is not blank: "" means unset (Pulumi.yaml's marker), but "  " is a mistake. */
const text = (what: string) =>
  z.string({ error: `expected ${what}` }).refine((value) => value.trim() === value && value !== "", {
    error: `expected ${what}, without leading or trailing spaces`,
  });

/** Why a size is refused, or undefined when it is a binary-unit size within the bounds. */
function sizeProblem(value: string, example: string, bounds: SizeBounds): string | undefined {
  const trimmed = value.trim();
  const bytes = parseQuantity(value);
  if (bytes === undefined) {
    if (/^\d+(\.\d+)?$/.test(trimmed)) {
      return `expected a size with a binary unit (Ki, Mi, Gi, Ti), e.g. ${example}; a bare number is ambiguous (bytes? MB? GB?)`;
    }
    if (/^\d+(\.\d+)?\s*(k|K|M|G|T)B?$/.test(trimmed)) {
      return `expected a binary unit (Ki, Mi, Gi, Ti), e.g. ${example}: Kubernetes reads M and G as powers of 1000`;
    }
    return `expected a positive size with a binary unit (Ki, Mi, Gi, Ti), ${bounds.min} to ${bounds.max}, e.g. ${example}`;
  }
  if (bytes < (parseQuantity(bounds.min) as number) || bytes > (parseQuantity(bounds.max) as number)) {
    return `expected a size from ${bounds.min} to ${bounds.max}, e.g. ${example}`;
  }
  return undefined;
}

interface SizeBounds {
  readonly min: string;
  readonly max: string;
}

/** A Kubernetes-style size with a binary unit, within bounds; the refusal names unit and range. */
const size = (example: string, bounds: SizeBounds) =>
  z
    .string({ error: `expected a size with a binary unit (Ki, Mi, Gi, Ti), e.g. ${example}` })
    .superRefine((value, ctx) => {
      const problem = sizeProblem(value, example, bounds);
      if (problem) ctx.addIssue({ code: "custom", input: value, message: problem });
    });

const cron = z
  .string({ error: `expected a cron schedule (${CRON_FORM}), e.g. "0 1 * * 0"` })
  .superRefine((value, ctx) => {
    const parsed = parseCron(value);
    if ("problem" in parsed) {
      ctx.addIssue({ code: "custom", input: value, message: `${parsed.problem}` });
    } else if (!everFires(parsed.schedule)) {
      ctx.addIssue({
        code: "custom",
        input: value,
        message: "never fires: no date matches its day-of-month and month fields (e.g. 31 in a 30-day month)",
      });
    }
  });

const cidr = z.union([z.cidrv4(), z.cidrv6()], {
  error: "expected a CIDR block: an address and a prefix length, such as 10.0.0.0/16",
});

const dnsLabel = z
  .string({ error: "expected a Kubernetes namespace name" })
  .regex(
    /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "expected a lowercase DNS label (a-z, 0-9, '-'; starts with a letter, ends with a letter or digit), 1 to 63 characters",
  );

const identifier = z
  .string({ error: "expected a PostgreSQL identifier" })
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    "expected a lowercase PostgreSQL identifier (a-z, 0-9, '_'; not starting with a digit), 1 to 63 characters",
  );

const parameterAssignment = z
  .string({ error: 'expected "name=value", e.g. "work_mem=64MB"' })
  .regex(
    /^[a-z_][a-z0-9_.]*\s*=\s*\S.*$/,
    'expected "name=value" with a lowercase name, e.g. "work_mem=64MB"',
  );

/** AWS regions are <area>-<direction>-<digit>, e.g. eu-west-1, us-gov-east-1. */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** An image reference pinned by digest: `<repository>[:tag]@sha256:<64 hex>`. */
const DIGEST_REFERENCE = /^[a-z0-9][a-z0-9.:/_-]*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$/;

export const stackConfigSchema = z
  .strictObject({
    /** Where the cluster runs: local Docker (dev) or Kubernetes (prod). */
    platform: oneOf(PLATFORMS).describe("where the cluster runs: docker (dev) or kubernetes (prod)"),
    /** PostgreSQL major version. */
    postgresVersion: z
      .union(
        POSTGRES_VERSIONS.map((v) => z.literal(v)),
        {
          error: (issue) =>
            `expected one of ${POSTGRES_VERSIONS.join(", ")}${/^\d+\.\d+/.test(String(issue.input)) ? " (the major version only: pgstack pins the minor release in its image)" : ""}`,
        },
      )
      .describe(`the PostgreSQL major version, one of ${POSTGRES_VERSIONS.join(", ")}`),
    /**
     * Container image. Docker: pinned by tag or digest, default the image built from
     * image/Dockerfile. Kubernetes: required, by digest (the deploy workflow pushes the image to
     * the stack's ECR repository and passes its digest).
     */
    image: text("an image reference such as registry/name:tag or name@sha256:<digest>")
      .refine(isPinnedImage, {
        error:
          "is not pinned: give a tag other than latest, or a digest (@sha256:...), so every member runs the same build",
      })
      .optional(),
    /** Memory limit of each PostgreSQL container; tuning is computed from it. */
    memoryLimit: size("8Gi", { min: "256Mi", max: "4Ti" }).describe(
      "the memory limit of each PostgreSQL container; tuning is computed from it",
    ),
    /** Memory request; defaults to the limit (Guaranteed QoS: the node never over-commits it). */
    memoryRequest: size("8Gi", { min: "256Mi", max: "4Ti" }).optional(),
    /** Whole CPUs of each PostgreSQL container (limit and request): parallelism is sized from it. */
    cpus: wholeNumber("CPUs", 1, 256).describe("whole CPUs of each PostgreSQL container"),
    /** Size of each member's data volume. */
    storageSize: size("200Gi", { min: "1Gi", max: "64Ti" }).describe("the size of each member's data volume"),
    /** Kubernetes StorageClass of the data volumes; the cluster default when unset. */
    storageClass: text("a StorageClass name").optional(),
    /** What the data volume is made of; sets planner costs and I/O concurrency. */
    storageMedium: oneOf(STORAGE_MEDIA).default("ssd"),
    /** Workload profile, as in PGTune. */
    workload: oneOf(WORKLOADS).default("mixed"),
    /**
     * max_connections; when unset, PGTune's value for the workload, lowered to the most that keep
     * work_mem at PostgreSQL's 4MB default under memoryLimit (components/spec/resource-formulas.ts).
     */
    maxConnections: wholeNumber("connections", 10, 10000).optional(),
    /** Streaming replicas (hot standbys), each with its own replication slot. */
    replicas: wholeNumber("replicas", 0, 5).default(1),
    /**
     * The member that is primary: "primary" or "replica-N". Changing it and running `pulumi up`
     * is a switchover (the target must be streaming and caught up); with pgstack:failover, a
     * failover (no clean stop of the old primary, which is fenced until it rejoins by rewind).
     */
    primary: z
      .string({ error: 'expected a member name: "primary" or "replica-N"' })
      .regex(
        /^(primary|replica-[1-9])$/,
        'expected a member name: "primary" or "replica-N" (N from 1 to replicas)',
      )
      .default("primary"),
    /**
     * Move the primary without a clean stop of the old one (it is lost: node, zone or volume
     * gone). The old primary is fenced: it never starts as a primary again, and rejoins as a
     * replica by pg_rewind when its volume returns. Unset it once the switch is done.
     */
    failover: flag().default(false),
    /** Application database created at bootstrap. */
    database: identifier.default("app"),
    /** Application role created at bootstrap (owner of the database). */
    appUser: identifier.default("app"),
    /** S3 bucket of the pgBackRest repository. */
    archiveBucket: z
      .string({ error: "expected an S3 bucket name" })
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        "expected an S3 bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit",
      )
      .refine((value) => !value.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(value), {
        error: "expected an S3 bucket name: no two adjacent dots, and not an IP address",
      })
      .describe("the S3 bucket of the pgBackRest repository"),
    /** Who provides the bucket: a local S3 server (SeaweedFS) beside the cluster (Docker only) or AWS S3. */
    archiveStore: oneOf(ARCHIVE_STORES).optional(),
    /**
     * AWS region of the bucket. Required with AWS S3 (never guessed); with the local store it is only
     * signed into requests and defaults to us-east-1.
     */
    archiveRegion: z
      .string({ error: "expected an AWS region such as eu-west-1" })
      .regex(AWS_REGION, "expected an AWS region such as eu-west-1 (lowercase, ending in a digit)")
      .optional(),
    /** S3 endpoint host; defaults to s3.<region>.amazonaws.com, or the local S3 container. */
    archiveEndpoint: z
      .string({ error: "expected a host name" })
      .regex(
        /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
        "expected a host name only, such as s3.eu-west-1.amazonaws.com (no https://, port or path)",
      )
      .optional(),
    /** Path inside the bucket for this stack's repository; defaults to /pgstack/<stack>. */
    archivePrefix: z
      .string({ error: "expected an absolute path such as /pgstack/prod" })
      .regex(
        /^(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/,
        "expected an absolute path such as /pgstack/prod: segments of letters, digits, '.', '_', '-', no trailing '/', no '//', no '.' or '..' segment",
      )
      .optional(),
    /**
     * The recovery window: days back to which a point-in-time restore must stay possible
     * (pgBackRest repo1-retention-full-type=time). Extra backups (retries, manual runs) never
     * shorten it: pgBackRest expires a full only when a newer one is older than the window.
     */
    archiveRecoveryWindowDays: wholeNumber("days", 1, 3650).default(14),
    /**
     * Instead of the recovery window, keep this many full backups (repo1-retention-full-type=count).
     * Unset by default: with a count, every extra full backup expires an older one and shortens
     * the window.
     */
    archiveRetentionFull: wholeNumber("full backups", 1, 100).optional(),
    /** Differential backups kept (repo1-retention-diff). */
    archiveRetentionDiff: wholeNumber("differential backups", 1, 100).default(6),
    /** Seconds after which a partly filled WAL segment is archived anyway: the RPO bound from S3 alone. */
    archiveTimeout: wholeNumber("seconds", 10, 3600).default(60),
    /** Cron schedule of full backups (UTC). */
    backupFullSchedule: cron.default("0 1 * * 0"),
    /** Cron schedule of differential backups (UTC). */
    backupDiffSchedule: cron.default("0 1 * * 1-6"),
    /** Client networks allowed to reach PostgreSQL (pg_hba host rules for the application role). */
    allowedCidrs: list(cidr, "10.0.0.0/16").default([]),
    /**
     * The network the cluster's own members use (replication and backup connections). Docker
     * defaults to "samenet" (the stack's private network); Kubernetes needs the pod CIDR.
     */
    clusterCidr: z
      .union([cidr, z.literal("samenet")], {
        error: 'expected a CIDR block such as 10.0.0.0/16 (the pod network), or "samenet" on Docker',
      })
      .optional(),
    /** TLS for client, replication and pgBackRest connections (certificates made by the stack). */
    tls: flag().default(true),
    /** postgresql.conf overrides, "name=value"; they win over computed values after validation. */
    parameters: list(parameterAssignment, "work_mem=64MB").default([]),
    /** Protect volumes and the bucket from `pulumi destroy`. */
    protect: flag().default(true),
    /** Docker: publish PostgreSQL on this host port, bound to 127.0.0.1 only. Off by default. */
    publishPort: wholeNumber("a TCP port", 1024, 65535).optional(),
    /** Kubernetes: the namespace; defaults to pgstack-<stack>. */
    namespace: dnsLabel.optional(),
    /** Kubernetes: namespaces whose pods may connect to PostgreSQL (NetworkPolicy). */
    clientNamespaces: list(dnsLabel, "app").default([]),
    /**
     * Kubernetes: where pgBackRest may connect on 443 (S3, STS). Empty: anywhere outside the pod
     * network, since S3 has no fixed addresses; set it to narrow egress to the region's S3 prefix
     * list and the VPC endpoints.
     */
    awsEgressCidrs: list(cidr, "52.218.0.0/17").default([]),
    /**
     * Metrics and alerts: Prometheus and Alertmanager beside a Docker stack; a PodMonitor and a
     * PrometheusRule for the Prometheus operator on Kubernetes. The exporter runs either way.
     */
    monitoring: flag().default(true),
    /** Kubernetes: namespace of the Prometheus that scrapes the exporters (NetworkPolicy). */
    monitoringNamespace: dnsLabel.default("monitoring"),
    /** Cron schedule (UTC) of the restore drill; its alert fires when no drill passed within it. */
    restoreDrillSchedule: cron.default("0 4 * * *"),
    /** Kubernetes: how pods get S3 access: IAM role for the service account, or an access key Secret. */
    s3Access: oneOf(S3_ACCESS_MODES).default("irsa"),
    /** Kubernetes + IRSA: ARN of the cluster's IAM OIDC provider. */
    oidcProviderArn: z
      .string({ error: "expected an IAM OIDC provider ARN" })
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+$/,
        "expected an IAM OIDC provider ARN: arn:aws:iam::<12-digit account>:oidc-provider/<issuer>",
      )
      .optional(),
    /** Kubernetes + IRSA: the OIDC issuer host and path, without https:// (e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC). */
    oidcProviderUrl: z
      .string({ error: "expected the OIDC issuer without https://" })
      .regex(
        /^[a-z0-9.-]+\/.+$/,
        "expected the OIDC issuer host and path without https://, e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC",
      )
      .optional(),
    /** AWS: KMS key for bucket encryption; a key is created when unset. */
    kmsKeyArn: z
      .string({ error: "expected a KMS key ARN" })
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/,
        "expected a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<id>",
      )
      .optional(),
  })
  .superRefine((config, ctx) => {
    const refuse = (key: string | (string | number)[], input: unknown, message: string, fix: string) =>
      ctx.addIssue({
        code: "custom",
        path: Array.isArray(key) ? key : [key],
        input,
        message,
        params: { fix },
      });
    const store = config.archiveStore ?? (config.platform === "docker" ? "local" : "aws");
    if (store === "local" && config.platform !== "docker") {
      refuse(
        "archiveStore",
        config.archiveStore,
        "the local S3 store runs only beside the Docker platform (pgstack:platform=kubernetes archives to AWS S3)",
        "pulumi config set pgstack:archiveStore aws",
      );
    }
    if (store === "aws" && config.archiveRegion === undefined) {
      refuse(
        "archiveRegion",
        undefined,
        `is required with archiveStore=aws${config.archiveStore === undefined ? " (the default on Kubernetes)" : ""}: pgstack never guesses the region of a bucket (a wrong one fails every WAL push)`,
        "pulumi config set pgstack:archiveRegion <the bucket's region, e.g. eu-west-1>",
      );
    }
    if (store === "local" && config.kmsKeyArn !== undefined) {
      refuse(
        "kmsKeyArn",
        config.kmsKeyArn,
        "applies to AWS S3 only; with archiveStore=local it would be silently ignored",
        "pulumi config rm pgstack:kmsKeyArn, or set pgstack:archiveStore aws",
      );
    }
    if (config.platform === "kubernetes" && config.s3Access === "irsa") {
      for (const key of ["oidcProviderArn", "oidcProviderUrl"] as const) {
        if (!config[key]) {
          refuse(
            key,
            undefined,
            "is required with s3Access=irsa: the IAM role trusts the cluster's OIDC provider",
            `pulumi config set pgstack:${key} <from: aws eks describe-cluster --query cluster.identity.oidc.issuer>, or pulumi config set pgstack:s3Access accessKey`,
          );
        }
      }
    }
    if (config.platform === "docker") {
      const kubernetesOnly = [
        ["namespace", config.namespace],
        ["clientNamespaces", config.clientNamespaces.length > 0 ? config.clientNamespaces : undefined],
        ["storageClass", config.storageClass],
        ["oidcProviderArn", config.oidcProviderArn],
        ["oidcProviderUrl", config.oidcProviderUrl],
      ] as const;
      for (const [key, value] of kubernetesOnly) {
        if (value === undefined) continue;
        refuse(
          key,
          value,
          "applies to the Kubernetes platform only; with platform=docker it would be silently ignored",
          `pulumi config rm pgstack:${key}`,
        );
      }
    }
    if (
      config.platform === "kubernetes" &&
      (config.clusterCidr === undefined || config.clusterCidr === "samenet")
    ) {
      refuse(
        "clusterCidr",
        config.clusterCidr,
        "Kubernetes needs the pod network CIDR: replication and backup connections come from pods",
        "pulumi config set pgstack:clusterCidr <the cluster's pod CIDR, e.g. 10.0.0.0/16>",
      );
    }
    if (config.platform === "kubernetes" && !DIGEST_REFERENCE.test(config.image ?? "")) {
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        input: config.image,
        message:
          config.image === undefined
            ? "is required on Kubernetes: nodes pull the image built from image/Dockerfile from your registry, by digest (unset, they would pull pgstack/postgres from Docker Hub: someone else's image, or nothing). The deploy workflow builds it, pushes it to the stack's ECR repository and sets this"
            : "must be pinned by digest on Kubernetes (<registry>/<repository>@sha256:<64 hex digits>): a tag can be moved to another image, and the nodes would run it with the database's secrets",
      });
    }
    if (store === "aws" && config.archiveBucket.includes(".")) {
      ctx.addIssue({
        code: "custom",
        path: ["archiveBucket"],
        input: config.archiveBucket,
        message:
          "contains a dot: pgBackRest addresses AWS buckets by virtual host (<bucket>.s3.<region>.amazonaws.com), whose certificate (*.s3.<region>.amazonaws.com) does not cover a dotted name, so every request fails TLS verification; use dashes",
      });
    }
    if (config.publishPort !== undefined && config.platform !== "docker") {
      refuse(
        "publishPort",
        config.publishPort,
        "only the Docker platform publishes a port; on Kubernetes clients use the -rw and -ro Services",
        "pulumi config rm pgstack:publishPort",
      );
    }
    if (config.platform === "kubernetes") {
      config.allowedCidrs.forEach((block, index) => {
        if (!isWorldOpen(block)) return;
        refuse(
          ["allowedCidrs", index],
          block,
          `is world-open (${block} spans more than a /8): on Kubernetes (prod) every client network must be named`,
          `pulumi config set --path 'pgstack:allowedCidrs[${index}]' <the application's network, e.g. 10.0.0.0/16>`,
        );
      });
    }
    if (config.memoryRequest !== undefined) {
      const request = parseQuantity(config.memoryRequest);
      const limit = parseQuantity(config.memoryLimit);
      if (request !== undefined && limit !== undefined && request > limit) {
        refuse(
          "memoryRequest",
          config.memoryRequest,
          `must not exceed pgstack:memoryLimit = ${JSON.stringify(config.memoryLimit)}: a container cannot be guaranteed more than its limit`,
          `pulumi config set pgstack:memoryRequest ${config.memoryLimit} (or rm it: the request defaults to the limit)`,
        );
      }
    }
    // Only with a valid replica count (zod still runs this refinement when that key is refused).
    const replicaCount =
      Number.isInteger(config.replicas) && config.replicas >= 0 && config.replicas <= 5 ? config.replicas : 0;
    const memberNames = ["primary", ...Array.from({ length: replicaCount }, (_, i) => `replica-${i + 1}`)];
    if (
      replicaCount === config.replicas &&
      typeof config.primary === "string" &&
      !memberNames.includes(config.primary)
    ) {
      refuse(
        "primary",
        config.primary,
        `names no member: with pgstack:replicas = ${config.replicas} the members are ${memberNames.join(", ")}`,
        `pulumi config set pgstack:primary ${memberNames[memberNames.length - 1]}, or raise pgstack:replicas first`,
      );
    }
    if (config.failover && config.primary === "primary" && config.replicas === 0) {
      refuse(
        "failover",
        config.failover,
        "needs a replica to promote: this stack has none (pgstack:replicas = 0)",
        "pulumi config rm pgstack:failover; restore the primary from the repository instead (README, Restore)",
      );
    }
    const full = parseCron(config.backupFullSchedule);
    const diff = parseCron(config.backupDiffSchedule);
    if ("schedule" in full && "schedule" in diff) {
      const clash = firstCommonRun(full.schedule, diff.schedule);
      if (clash) {
        refuse(
          "backupDiffSchedule",
          config.backupDiffSchedule,
          `fires at the same minute as pgstack:backupFullSchedule = ${JSON.stringify(config.backupFullSchedule)} (first at ${clash.toISOString().slice(0, 16)}Z): pgBackRest runs one backup at a time, so one of them fails`,
          "exclude the full backup's day from the differential schedule, e.g. full '0 1 * * 0' and diff '0 1 * * 1-6'",
        );
      }
    }
  });

/**
 * A client network that is, for practical purposes, everyone: an IPv4 block wider than a /8 or
 * an IPv6 block wider than a /16 (0.0.0.0/0 and ::/0 among them).
 */
export function isWorldOpen(block: string): boolean {
  const prefix = Number(block.slice(block.indexOf("/") + 1));
  return block.includes(":") ? prefix < 16 : prefix < 8;
}

/** Stack configuration as written (before defaults). */
export type StackConfigInput = z.input<typeof stackConfigSchema>;
/** Stack configuration with defaults applied. */
export type StackConfig = z.output<typeof stackConfigSchema>;
