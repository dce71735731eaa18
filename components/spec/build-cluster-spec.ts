import { ConfigError, type ConfigProblem } from "../config/config-error";
import type { StackConfig } from "../config/stack-config";
import { type StackContext, stackContextProblems } from "../config/stack-context-rules";
import { renderCommands } from "../render/commands";
import { renderFiles } from "../render/files";
import { renderMonitoringFiles } from "../render/monitoring-files";
import { processMax } from "../render/pgbackrest-conf";
import type { ArchiveSpec, ClusterSpec, Layout, MemberSpec } from "./cluster-spec";
import { defaultImage } from "./image";
import { defaultLayout, STACK_CA_FILE } from "./layout";
import { monitoringSpec } from "./monitoring";
import { parseOverrides } from "./overrides";
import { type TuningInput, tune } from "./tuning";
import { GiB, MiB, parseQuantity } from "./units";
import { walRetention, walVolumeProblems } from "./wal-volume";

/**
 * Memory of the pgBackRest TLS server container. pgBackRest needs far less (the main process holds
 * the backup manifest; each of process-max workers a few buffer-size buffers, 1MiB each), and the
 * policy pack checks this covers 256MiB + 64MiB per process; 1GiB is what the container was
 * allowed to burst to before its request was raised to its limit.
 */
const PGBACKREST_SERVER_MEMORY_BYTES = 1 * GiB;
/** The runner's pgBackRest coordinates the backup and writes the manifest; one CPU. */
const RUNNER_MEMORY_BYTES = 1 * GiB;
/**
 * The restore drill's container: a PostgreSQL with 128MB of shared_buffers (the drill's own
 * postgresql.conf), its startup process replaying WAL, pg_amcheck's backend, and pgBackRest's
 * restore processes (a few MiB each) before them.
 */
const DRILL_MEMORY_BYTES = 1 * GiB;

export interface BuildOptions {
  /** Pulumi stack name (dev, prod, ...). */
  readonly stack: string;
  /**
   * Replaces parts of the platform's default layout. Only the proving ground uses this, to run
   * the rendered configuration with local paths, ports, hosts and S3 endpoint.
   */
  readonly layout?: (defaults: Layout) => Layout;
  /**
   * The provider region and the project's other stacks, for the rules that need them (region
   * agreement, collisions between stacks). The plan and the program always pass it.
   */
  readonly context?: StackContext;
}

/** Region name signed into requests to the local store, which accept any. */
const LOCAL_STORE_REGION = "us-east-1";

/** The spec without its rendered artefacts: what the renderers read. */
export type ClusterModel = Omit<ClusterSpec, "files" | "commands" | "monitoringFiles">;

/**
 * Stack config → ClusterSpec. Pure and deterministic: the same config gives the same spec,
 * byte for byte. Throws ConfigError (key, value, fix) for anything a deploy would regret, with
 * every problem the config has, not only the first.
 */
export function buildClusterSpec(config: StackConfig, options: BuildOptions): ClusterSpec {
  const { stack } = options;
  const name = `pgstack-${stack}`;
  const members = memberSpecs(config.replicas, config.primary);
  const namespace = config.namespace ?? name;
  const archive = archiveSpec(config, name, stack);
  const s3 =
    archive.store === "local"
      ? { endpoint: config.archiveEndpoint ?? `${name}-s3`, port: 9000, caFile: STACK_CA_FILE }
      : { endpoint: config.archiveEndpoint ?? `s3.${archive.region}.amazonaws.com`, port: 443 };
  const platformLayout = defaultLayout(config.platform, name, namespace, members, s3);
  const layout = options.layout ? options.layout(platformLayout) : platformLayout;

  const memoryLimitBytes = parseQuantity(config.memoryLimit) as number;
  const memoryRequestBytes = config.memoryRequest
    ? (parseQuantity(config.memoryRequest) as number)
    : memoryLimitBytes;
  const tuningInput: TuningInput = {
    version: config.postgresVersion,
    workload: config.workload,
    memoryLimitBytes,
    cpus: config.cpus,
    storageMedium: config.storageMedium,
    storageBytes: parseQuantity(config.storageSize) as number,
    maxConnections: config.maxConnections,
    replicas: config.replicas,
    archive,
    tls: config.tls,
    layout,
    overrides: config.parameters,
  };
  const problems: ConfigProblem[] = stackContextProblems(config, stack, options.context);
  let tuning: ReturnType<typeof tune> | undefined;
  try {
    tuning = tune(tuningInput);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (tuning) problems.push(...walVolumeProblems(walVolumeInput(tuningInput, tuning.parameters)));
  if (problems.length > 0 || !tuning) throw new ConfigError(problems);

  const model: ClusterModel = {
    project: "pgstack",
    stack,
    name,
    platform: config.platform,
    postgres: {
      version: config.postgresVersion,
      image: config.image ?? defaultImage(config.postgresVersion),
      port: layout.port,
      database: config.database,
      superuser: "postgres",
      appUser: config.appUser,
      replicationUser: "replicator",
      workload: config.workload,
      maxConnections: tuning.maxConnections,
    },
    resources: {
      memoryLimitBytes,
      memoryRequestBytes,
      cpus: config.cpus,
      storageBytes: parseQuantity(config.storageSize) as number,
      storageClass: config.storageClass,
      storageMedium: config.storageMedium,
      shmBytes: tuning.shmBytes,
      pgbackrestServer: { cpus: processMax(config.cpus), memoryBytes: PGBACKREST_SERVER_MEMORY_BYTES },
      runner: { cpus: 1, memoryBytes: RUNNER_MEMORY_BYTES },
      // The member's CPUs: the drill restores with one pgBackRest process per CPU, as a real
      // restore of the member would, so its RTO is the one an operator plans with.
      drill: { cpus: config.cpus, memoryBytes: DRILL_MEMORY_BYTES },
      // A sleeping shell, and psql for a moment when the settings change.
      settingsReloader: { cpus: 0.05, memoryBytes: 32 * MiB },
    },
    members,
    switchover: { primary: config.primary as MemberSpec["name"], failover: config.failover },
    layout,
    network: {
      // Clients of a published port are admitted by their own pg_hba.conf rule (render/pg-hba-conf.ts).
      allowedCidrs: config.allowedCidrs,
      clusterCidr: config.clusterCidr ?? "samenet",
      publishPort: config.publishPort,
      namespace,
      clientNamespaces: config.clientNamespaces,
      awsEgressCidrs: config.awsEgressCidrs,
    },
    tuning: { parameters: tuning.parameters, memoryBudget: tuning.memoryBudget, warnings: tuning.warnings },
    archive,
    monitoring: monitoringSpec(config, name, namespace),
    tls: config.tls,
    protect: config.protect,
  };
  return {
    ...model,
    files: renderFiles(model),
    commands: renderCommands(model),
    monitoringFiles: renderMonitoringFiles(model),
  };
}

/** What the WAL-on-the-volume rule reads: the final parameters and which overrides set them. */
function walVolumeInput(input: TuningInput, parameters: ReturnType<typeof tune>["parameters"]) {
  const overrideKeys: Record<string, { key: string; entry: string }> = {};
  for (const override of parseOverrides(input.overrides).overrides) {
    overrideKeys[override.name] = { key: override.key, entry: override.entry };
  }
  const retentionAt = (storageBytes: number) => {
    try {
      return walRetention(tune({ ...input, storageBytes }).parameters).totalBytes;
    } catch (error) {
      // A volume size the rest of the config refuses cannot be the suggestion.
      if (error instanceof ConfigError) return Number.POSITIVE_INFINITY;
      throw error;
    }
  };
  return { parameters, storageBytes: input.storageBytes, overrideKeys, retentionAt };
}

/**
 * The members, named for their volumes, with the roles `pgstack:primary` gives them. A replica's
 * slot is its name in slot form (`replica_1`, and `primary` for the member named primary once it
 * is a replica), so a member keeps its slot name across switchovers.
 */
export function memberSpecs(replicas: number, primary: string): MemberSpec[] {
  const names: MemberSpec["name"][] = ["primary"];
  for (let i = 1; i <= replicas; i++) names.push(`replica-${i}`);
  return names.map((name) =>
    name === primary ? { name, role: "primary" } : { name, role: "replica", slot: slotName(name) },
  );
}

/** A member's replication slot: its name with '-' as '_' (slot names allow a-z, 0-9 and '_'). */
export function slotName(memberName: string): string {
  return memberName.replaceAll("-", "_");
}

function archiveSpec(config: StackConfig, name: string, stack: string): ArchiveSpec {
  const store = config.archiveStore ?? (config.platform === "docker" ? "local" : "aws");
  const keyType = config.platform === "kubernetes" && config.s3Access === "irsa" ? "web-id" : "shared";
  return {
    stanza: name,
    store,
    bucket: config.archiveBucket,
    // The local store takes any region (it is only signed into requests); the schema requires it for AWS.
    region: config.archiveRegion ?? LOCAL_STORE_REGION,
    path: config.archivePrefix ?? `/pgstack/${stack}`,
    // The local store (SeaweedFS) serves buckets by path; AWS by virtual host.
    uriStyle: store === "local" ? "path" : "host",
    retentionFull:
      config.archiveRetentionFull === undefined
        ? { type: "time", days: config.archiveRecoveryWindowDays }
        : { type: "count", fulls: config.archiveRetentionFull },
    retentionDiff: config.archiveRetentionDiff,
    archiveTimeoutSeconds: config.archiveTimeout,
    schedules: { full: config.backupFullSchedule, diff: config.backupDiffSchedule },
    drillSchedule: config.restoreDrillSchedule,
    encrypted: true,
    keyType,
    kmsKeyArn: store === "aws" ? config.kmsKeyArn : undefined,
    // The schema requires both with s3Access=irsa on Kubernetes.
    irsa:
      keyType === "web-id" && config.oidcProviderArn && config.oidcProviderUrl
        ? { oidcProviderArn: config.oidcProviderArn, oidcProviderUrl: config.oidcProviderUrl }
        : undefined,
  };
}
