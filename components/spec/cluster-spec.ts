import type { Platform, PostgresVersion, StorageMedium, Workload } from "../config/stack-config";

/**
 * The one object every other layer reads. Built from the validated stack config by
 * `buildClusterSpec`; pure data (no Pulumi types, no secrets), so it can be rendered, snapshot
 * tested, written to plan/ and read by policies. Platforms map it to resources and never
 * recompute what it decided.
 */
export interface ClusterSpec {
  /** Pulumi project (always "pgstack") and stack (dev, prod, ...). */
  readonly project: string;
  readonly stack: string;
  /** Base name of every resource: `pgstack-<stack>`. Keeps stacks disjoint by construction. */
  readonly name: string;
  readonly platform: Platform;
  readonly postgres: PostgresSpec;
  readonly resources: ResourceSpec;
  readonly members: readonly MemberSpec[];
  /**
   * Which member is primary (`pgstack:primary`) and how it became so. Every reference to the
   * primary (roles, hosts, slots, the runner's pg1-host, the rw Service) follows it.
   */
  readonly switchover: SwitchoverSpec;
  readonly layout: Layout;
  readonly network: NetworkSpec;
  readonly tuning: TuningResult;
  readonly archive: ArchiveSpec;
  readonly monitoring: MonitoringSpec;
  readonly tls: boolean;
  readonly protect: boolean;
  /** Everything rendered from the above; what the platforms mount and run. */
  readonly files: RenderedFiles;
  readonly commands: RenderedCommands;
  /**
   * The Prometheus rules and the exporter's queries, rendered from the same spec. Apart from
   * `files` on purpose: a changed alert threshold must not roll the database pods.
   */
  readonly monitoringFiles: MonitoringFiles;
}

export interface PostgresSpec {
  readonly version: PostgresVersion;
  /** Pinned image reference (tag or digest; never `latest`). */
  readonly image: string;
  readonly port: number;
  readonly database: string;
  /** Bootstrap superuser; reached only over the local socket (peer) or with its secret. */
  readonly superuser: string;
  readonly appUser: string;
  /** Role used by replicas (REPLICATION LOGIN). */
  readonly replicationUser: string;
  readonly workload: Workload;
  readonly maxConnections: number;
}

export interface ResourceSpec {
  readonly memoryLimitBytes: number;
  readonly memoryRequestBytes: number;
  readonly cpus: number;
  readonly storageBytes: number;
  readonly storageClass?: string;
  readonly storageMedium: StorageMedium;
  /** Size of /dev/shm: shared memory of parallel queries and of one parallel VACUUM (dynamic_shared_memory_type=posix). */
  readonly shmBytes: number;
  /**
   * The pgBackRest TLS server beside the primary (Kubernetes): backups read, compress and encrypt
   * the data files there with process-max processes. Requests equal limits (Guaranteed QoS).
   */
  readonly pgbackrestServer: ContainerResources;
  /** The backup runner (repository host): it only coordinates; the primary's side does the work. */
  readonly runner: ContainerResources;
  /**
   * The restore drill's container (Kubernetes): pgBackRest restoring with one process per CPU,
   * then a PostgreSQL replaying WAL and pg_amcheck reading every relation once.
   */
  readonly drill: ContainerResources;
  /** The settings reloader beside each member's PostgreSQL (Kubernetes): a shell loop and psql. */
  readonly settingsReloader: ContainerResources;
}

/** CPUs (fractions allowed) and memory of a container; the platforms request exactly what they limit. */
export interface ContainerResources {
  readonly cpus: number;
  readonly memoryBytes: number;
}

export type MemberRole = "primary" | "replica";

export interface MemberSpec {
  /**
   * Stable member name: `primary`, `replica-1`, ... It names the member's volume and resources,
   * not its role: after a switchover the member named `primary` may be a replica.
   */
  readonly name: MemberRole | `replica-${number}`;
  readonly role: MemberRole;
  /** Replication slot on the primary that this replica streams from (replicas only). */
  readonly slot?: string;
}

export interface SwitchoverSpec {
  /** Name of the member that is primary. */
  readonly primary: MemberSpec["name"];
  /**
   * The old primary is lost (pgstack:failover): the switchover skips its clean stop, and it is
   * fenced (it never starts as a primary) until it rejoins by pg_rewind.
   */
  readonly failover: boolean;
}

/**
 * Where things live inside a member and how members reach each other. The platforms use the
 * defaults for their platform; the proving ground substitutes local paths, ports and hosts here
 * and only here.
 */
export interface Layout {
  /** PGDATA (a sub-directory of the volume mount, so lost+found never sits in it). */
  readonly dataDir: string;
  /** Mount point of the data volume. */
  readonly volumeDir: string;
  /** Read-only directory holding postgresql.conf, pg_hba.conf and the scripts. */
  readonly configDir: string;
  /** Directory of the pgBackRest config; secrets are included from `pgbackrestIncludeDir`. */
  readonly pgbackrestConfigDir: string;
  /** Directory of secret pgBackRest settings (cipher pass, S3 keys), mounted from a secret. */
  readonly pgbackrestIncludeDir: string;
  /** Directory holding secret files (passwords, passfile), mounted read-only. */
  readonly secretsDir: string;
  /** TLS certificates and keys (server.crt, server.key, ca.crt). */
  readonly tlsDir: string;
  readonly socketDir: string;
  /** pgBackRest async archive spool (on the data volume, so queued WAL survives a restart). */
  readonly spoolPath: string;
  readonly pgbackrestLogPath: string;
  readonly pgbackrestLockPath: string;
  /** TCP port PostgreSQL listens on. */
  readonly port: number;
  /** Host name of each member, by member name, as the others reach it. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Port of the pgBackRest TLS server on the primary (the backup runner connects to it). */
  readonly pgbackrestServerPort: number;
  /**
   * Address the pgBackRest TLS server listens on; all interfaces when unset (the runner connects
   * from another container or pod). The proving ground sets 127.0.0.1.
   */
  readonly pgbackrestServerAddress?: string;
  /** S3 endpoint host pgBackRest connects to (a DNS name: TLS verification needs one). */
  readonly s3Endpoint: string;
  readonly s3Port: number;
  /** CA bundle pgBackRest trusts for the S3 endpoint; system store when unset. */
  readonly s3CaFile?: string;
  /** Backup runner: its pgBackRest paths (it is the repository host). */
  readonly runner: {
    readonly configDir: string;
    readonly includeDir: string;
    readonly tlsDir: string;
    readonly logPath: string;
    readonly lockPath: string;
  };
  /**
   * The restore drill (a job of the backup runner): its pgBackRest config and read-only
   * credentials, and the scratch directory it restores into (never a member's volume).
   */
  readonly drill: {
    readonly configDir: string;
    readonly includeDir: string;
    readonly scratchDir: string;
  };
}

export interface NetworkSpec {
  readonly allowedCidrs: readonly string[];
  readonly clusterCidr: string;
  /** Docker: host port bound to 127.0.0.1; absent = not published. */
  readonly publishPort?: number;
  /** Kubernetes namespace of the stack. */
  readonly namespace: string;
  readonly clientNamespaces: readonly string[];
  /** Kubernetes: the only destinations of pgBackRest's 443 egress (S3, STS); empty = outside the pod network. */
  readonly awsEgressCidrs: readonly string[];
}

export type ParameterSource = "computed" | "override" | "fixed";

/** One postgresql.conf line with the reason it has this value. */
export interface ConfParameter {
  readonly name: string;
  /** The value as written to postgresql.conf (units included, strings unquoted). */
  readonly value: string;
  readonly reason: string;
  /** postgresql.conf section heading it is rendered under. */
  readonly section: ConfSection;
  readonly source: ParameterSource;
}

export const CONF_SECTIONS = [
  "Connections",
  "Memory",
  "Planner",
  "Parallelism",
  "WAL and checkpoints",
  "Archiving",
  "Replication",
  "Security",
  "Timeouts and locks",
  "Autovacuum",
  "Logging",
  "Statistics and extensions",
  "Files",
] as const;
export type ConfSection = (typeof CONF_SECTIONS)[number];

/**
 * Worst-case memory under full load, and the limit it must stay under. Each term is in bytes.
 * `total` = sharedBuffers + walBuffers + connections × workMem × hashMemMultiplier
 *         + autovacuumWorkers × autovacuumWorkMem + maintenanceWorkMem + overhead.
 */
export interface MemoryBudget {
  readonly limitBytes: number;
  readonly sharedBuffersBytes: number;
  readonly walBuffersBytes: number;
  readonly workMemBytes: number;
  readonly hashMemMultiplier: number;
  readonly connections: number;
  readonly autovacuumWorkers: number;
  readonly autovacuumWorkMemBytes: number;
  readonly maintenanceWorkMemBytes: number;
  /** Per-backend and postmaster overhead not covered by the settings above. */
  readonly overheadBytes: number;
  readonly totalBytes: number;
  /** What pgstack's own sizing leaves unallocated under the limit (memory-budget.ts HEADROOM_SHARE). */
  readonly headroomBytes: number;
  /** totalBytes <= limitBytes. */
  readonly fits: boolean;
  /** totalBytes + headroomBytes <= limitBytes: false only when an override spends the headroom. */
  readonly keepsHeadroom: boolean;
}

export interface TuningResult {
  /** Every parameter pgstack writes, in render order. */
  readonly parameters: readonly ConfParameter[];
  readonly memoryBudget: MemoryBudget;
  /** What the plan must show the operator: settings the limit forced below a sane value. */
  readonly warnings: readonly string[];
}

export type FullRetention =
  | { readonly type: "time"; readonly days: number }
  | { readonly type: "count"; readonly fulls: number };

export interface ArchiveSpec {
  readonly stanza: string;
  readonly store: "local" | "aws";
  readonly bucket: string;
  readonly region: string;
  /** Repository path inside the bucket (pgBackRest repo1-path). */
  readonly path: string;
  readonly uriStyle: "host" | "path";
  /**
   * Which full backups `expire` keeps (and the WAL they need): a recovery window in days
   * (repo1-retention-full-type=time, the default) or a count of fulls.
   */
  readonly retentionFull: FullRetention;
  readonly retentionDiff: number;
  readonly archiveTimeoutSeconds: number;
  readonly schedules: { readonly full: string; readonly diff: string };
  /** Cron schedule (UTC) of the restore drill; the drill-age alert is computed from it. */
  readonly drillSchedule: string;
  /** Repository encryption (aes-256-cbc) with the `repoCipherPass` secret. */
  readonly encrypted: boolean;
  /** How pgBackRest authenticates to S3: static keys (from the include file) or web identity (IRSA). */
  readonly keyType: "shared" | "web-id";
  /** AWS: KMS key encrypting the bucket; the platform creates one (with rotation) when unset. */
  readonly kmsKeyArn?: string;
  /** web-id only: the cluster's IAM OIDC provider, which the role for the service accounts trusts. */
  readonly irsa?: { readonly oidcProviderArn: string; readonly oidcProviderUrl: string };
}

/** Metrics and alerting: who scrapes the members and how. */
export interface MonitoringSpec {
  /** Prometheus + Alertmanager beside a Docker stack; PodMonitor + PrometheusRule on Kubernetes. */
  readonly enabled: boolean;
  /** Kubernetes: namespace of the scraping Prometheus (admitted by the NetworkPolicy). */
  readonly namespace: string;
  /** Login role of the exporter: member of pg_monitor, nothing else, no password. */
  readonly role: string;
  /** OS user the exporter runs as; pg_ident maps it (and only it) to `role` over the socket. */
  readonly osUser: string;
  readonly osUid: number;
  /** Port of the exporter's /metrics beside each member. */
  readonly exporterPort: number;
  /** Label every series of this stack carries, set at scrape or push; the rules select on it. */
  readonly clusterLabel: string;
  /** Label naming the member a series comes from. */
  readonly memberLabel: string;
  /** Pinned images (digests): the exporter on both platforms; Prometheus and Alertmanager in dev. */
  readonly images: {
    readonly exporter: string;
    readonly prometheus: string;
    readonly alertmanager: string;
    readonly pushgateway: string;
  };
  /**
   * Base URL of the stack's Pushgateway (with pgstack:monitoring), where the backup runner's jobs
   * push their outcome with report-job.sh ($PGSTACK_PUSHGATEWAY).
   */
  readonly pushgatewayUrl: string;
}

/** Rendered monitoring files. */
export interface MonitoringFiles {
  /** Prometheus rule file: every alert, thresholds computed from the spec. */
  readonly "alerts.yaml": string;
  /** postgres_exporter custom queries (--extend.query-path) for what its collectors lack. */
  readonly "exporter-queries.yaml": string;
  /** Run by the backup runner after each job: pushes its outcome to the Pushgateway. */
  readonly "report-job.sh": string;
  /** Run by the backup runner after each backup: pushes the expiry of the stack's certificates. */
  readonly "report-certificates.sh": string;
  /** Grafana dashboard (import it) of the rules' series, with the alerts' thresholds. */
  readonly "grafana-dashboard.json": string;
}

/** File contents, rendered from the spec. Mounted read-only by the platforms. */
export interface RenderedFiles {
  readonly "postgresql.conf": string;
  readonly "pg_hba.conf": string;
  /** pgBackRest config of the database members (archive-push/get, restore). */
  readonly "pgbackrest.conf": string;
  /** pgBackRest config of the backup runner (repository host reaching the primary over TLS). */
  readonly "pgbackrest-runner.conf": string;
  /** POSIX sh script run before PostgreSQL starts; refuses to start on a damaged data dir. */
  readonly "check-data-dir.sh": string;
  /** POSIX sh script run by start-member.sh on every start of the primary: roles, passwords, database. */
  readonly "init-roles.sh": string;
  /** POSIX sh script that turns an empty replica volume into a streaming standby. */
  readonly "bootstrap-replica.sh": string;
  /**
   * POSIX sh script start-member.sh runs before PostgreSQL: a raised hot-standby setting starts the
   * primary after its replicas, a lowered one a replica after its primary.
   */
  readonly "hot-standby-order.sh": string;
  /** POSIX sh script every PostgreSQL container runs under tini: vet, initialise or clone, roles, exec postgres. */
  readonly "start-member.sh": string;
  /**
   * POSIX sh script run before a switchover changes anything: refuses, naming the lag, unless the
   * new primary streams from the old one and is caught up (only reports its position on a failover).
   */
  readonly "switchover-check.sh": string;
  /** POSIX sh script `pulumi up` runs before any member changes: orders a switchover or refuses it. */
  readonly "switchover-gate.sh": string;
  /** Maps OS users to roles for peer authentication on the local socket (the exporter only). */
  readonly "pg_ident.conf": string;
  /** POSIX sh script of the backup runner: pgbackrest verify that exits 1 naming damaged backups and files. */
  readonly "verify-repository.sh": string;
  /** pgBackRest config of the restore drill: the repository, read with the drill's own credentials; the scratch copy as pg1. */
  readonly "pgbackrest-drill.conf": string;
  /** POSIX sh script of the restore drill: restore, recover, pg_amcheck, report RTO and data age, remove the copy. */
  readonly "restore-drill.sh": string;
}

/** Commands as argv arrays (no shell unless the argv says so). */
export interface RenderedCommands {
  /** pg_isready over TCP on loopback and the rendered port, for the app database. */
  readonly healthcheck: readonly string[];
  /** Starts PostgreSQL with the rendered config. */
  readonly postgres: readonly string[];
  readonly integrityCheck: readonly string[];
  /** Fast shutdown (rolls back open transactions, then a clean checkpoint) before a pod or container stops. */
  readonly fastShutdown: readonly string[];
  readonly replicaBootstrap: readonly string[];
  readonly stanzaCreate: readonly string[];
  readonly check: readonly string[];
  readonly backupFull: readonly string[];
  readonly backupDiff: readonly string[];
  readonly verify: readonly string[];
  readonly info: readonly string[];
  readonly expire: readonly string[];
  /** The runner's backup commands (repository host), which the schedules run. */
  readonly runnerBackupFull: readonly string[];
  readonly runnerBackupDiff: readonly string[];
  readonly runnerCheck: readonly string[];
  /** The runner's stanza-create (idempotent): run once before the first check and backup. */
  readonly runnerStanzaCreate: readonly string[];
  readonly runnerVerify: readonly string[];
  /** verify-repository.sh: the runner's verify, failing (exit 1) when the repository has errors. */
  readonly verifyRepository: readonly string[];
  /** The runner's `info` (add `--output=json` to read `status.code` and the backup list). */
  readonly runnerInfo: readonly string[];
  /** restore-drill.sh: the scheduled restore drill, on the runner's schedule `archive.drillSchedule`. */
  readonly restoreDrill: readonly string[];
  /** pgBackRest TLS server on the primary, for the runner. */
  readonly pgbackrestServer: readonly string[];
}
