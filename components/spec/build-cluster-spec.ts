import type { StackConfig } from "../config/stack-config";
import { renderCommands } from "../render/commands";
import { renderFiles } from "../render/files";
import { renderMonitoringFiles } from "../render/monitoring-files";
import type { ArchiveSpec, ClusterSpec, Layout, MemberSpec } from "./cluster-spec";
import { defaultImage } from "./image";
import { defaultLayout, STACK_CA_FILE } from "./layout";
import { monitoringSpec } from "./monitoring";
import { defaultMaxConnections, tune } from "./tuning";
import { parseQuantity } from "./units";

export interface BuildOptions {
  /** Pulumi stack name (dev, prod, ...). */
  readonly stack: string;
  /**
   * Replaces parts of the platform's default layout. Only the proving ground uses this, to run
   * the rendered configuration with local paths, ports, hosts and S3 endpoint.
   */
  readonly layout?: (defaults: Layout) => Layout;
}

/** The spec without its rendered artefacts: what the renderers read. */
export type ClusterModel = Omit<ClusterSpec, "files" | "commands" | "monitoringFiles">;

/**
 * Stack config → ClusterSpec. Pure and deterministic: the same config gives the same spec,
 * byte for byte. Throws ConfigError (key, value, fix) for anything a deploy would regret.
 */
export function buildClusterSpec(config: StackConfig, options: BuildOptions): ClusterSpec {
  const { stack } = options;
  const name = `pgstack-${stack}`;
  const members = memberSpecs(config.replicas);
  const namespace = config.namespace ?? name;
  const archive = archiveSpec(config, name, stack);
  const s3 =
    archive.store === "minio"
      ? { endpoint: config.archiveEndpoint ?? `${name}-minio`, port: 9000, caFile: STACK_CA_FILE }
      : { endpoint: config.archiveEndpoint ?? `s3.${config.archiveRegion}.amazonaws.com`, port: 443 };
  const platformLayout = defaultLayout(config.platform, name, namespace, members, s3);
  const layout = options.layout ? options.layout(platformLayout) : platformLayout;

  const memoryLimitBytes = parseQuantity(config.memoryLimit) as number;
  const memoryRequestBytes = config.memoryRequest
    ? (parseQuantity(config.memoryRequest) as number)
    : memoryLimitBytes;
  const maxConnections = config.maxConnections ?? defaultMaxConnections(config.workload);

  const tuning = tune({
    version: config.postgresVersion,
    workload: config.workload,
    memoryLimitBytes,
    cpus: config.cpus,
    storageMedium: config.storageMedium,
    storageBytes: parseQuantity(config.storageSize) as number,
    maxConnections,
    replicas: config.replicas,
    archive,
    tls: config.tls,
    layout,
    overrides: config.parameters,
  });

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
      maxConnections,
    },
    resources: {
      memoryLimitBytes,
      memoryRequestBytes,
      cpus: config.cpus,
      storageBytes: parseQuantity(config.storageSize) as number,
      storageClass: config.storageClass,
      storageMedium: config.storageMedium,
      shmBytes: tuning.shmBytes,
    },
    members,
    layout,
    network: {
      // A client of the 127.0.0.1-published port reaches the primary from the Docker bridge's
      // gateway, on a network only this stack's primary joins: admit it (password over TLS still).
      allowedCidrs:
        config.publishPort !== undefined ? [...config.allowedCidrs, "samenet"] : config.allowedCidrs,
      clusterCidr: config.clusterCidr ?? "samenet",
      publishPort: config.publishPort,
      namespace,
      clientNamespaces: config.clientNamespaces,
    },
    tuning: { parameters: tuning.parameters, memoryBudget: tuning.memoryBudget },
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

function memberSpecs(replicas: number): MemberSpec[] {
  const members: MemberSpec[] = [{ name: "primary", role: "primary" }];
  for (let i = 1; i <= replicas; i++) {
    members.push({ name: `replica-${i}`, role: "replica", slot: `replica_${i}` });
  }
  return members;
}

function archiveSpec(config: StackConfig, name: string, stack: string): ArchiveSpec {
  const store = config.archiveStore ?? (config.platform === "docker" ? "minio" : "aws");
  const keyType = config.platform === "kubernetes" && config.s3Access === "irsa" ? "web-id" : "shared";
  return {
    stanza: name,
    store,
    bucket: config.archiveBucket,
    region: config.archiveRegion,
    path: config.archivePrefix ?? `/pgstack/${stack}`,
    // MinIO serves buckets by path; AWS by virtual host.
    uriStyle: store === "minio" ? "path" : "host",
    retentionFull: config.archiveRetentionFull,
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
