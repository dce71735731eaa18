import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import type { ConfParameter, Layout } from "../../components/spec/cluster-spec";

/**
 * A hand-written model: the renderers' input, independent of the tuning module. Values are
 * chosen to exercise quoting (paths, lists, commands with quotes, hyphenated words, units).
 */
const parameters: ConfParameter[] = [
  param("listen_addresses", "*", "Connections", "fixed", "Clients reach the member over its network."),
  param("port", "5432", "Connections", "fixed", "The platform's PostgreSQL port."),
  param("max_connections", "50", "Connections", "override", "Set by pgstack:maxConnections."),
  param(
    "unix_socket_directories",
    "/var/run/postgresql",
    "Connections",
    "fixed",
    "Local socket for admin and pgBackRest.",
  ),
  param("shared_buffers", "512MB", "Memory", "computed", "25% of the 2 GiB memory limit."),
  param("work_mem", "4MB", "Memory", "computed", "Fits the memory budget at 50 connections."),
  param(
    "random_page_cost",
    "1.1",
    "Planner",
    "computed",
    "SSD: random reads cost little more than sequential ones.",
  ),
  param("checkpoint_completion_target", "0.9", "WAL and checkpoints", "computed", "Spread checkpoint I/O."),
  param("wal_level", "replica", "WAL and checkpoints", "fixed", "Streaming replicas and archiving need it."),
  param("archive_mode", "on", "Archiving", "fixed", "WAL goes to the pgBackRest repository."),
  param(
    "archive_command",
    "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=pgstack-dev archive-push %p",
    "Archiving",
    "fixed",
    "Async push to the repository.",
  ),
  param("archive_timeout", "30s", "Archiving", "computed", "RPO bound from S3 alone."),
  param("password_encryption", "scram-sha-256", "Security", "fixed", "No md5 hashes."),
  param("ssl", "on", "Security", "fixed", "TLS for clients and replication."),
  param(
    "log_line_prefix",
    "%m [%p] %q%u@%d 'app' ",
    "Logging",
    "fixed",
    "Timestamp, PID, user and database.",
  ),
  param(
    "shared_preload_libraries",
    "pg_stat_statements",
    "Statistics and extensions",
    "fixed",
    "Query statistics.",
  ),
  param("hba_file", "/etc/pgstack/pg_hba.conf", "Files", "fixed", "The rendered, read-only pg_hba.conf."),
];

function param(
  name: string,
  value: string,
  section: ConfParameter["section"],
  source: ConfParameter["source"],
  reason: string,
): ConfParameter {
  return { name, value, section, source, reason };
}

export const FIXTURE_LAYOUT: Layout = {
  volumeDir: "/var/lib/postgresql/data",
  dataDir: "/var/lib/postgresql/data/pgdata",
  configDir: "/etc/pgstack",
  pgbackrestConfigDir: "/etc/pgbackrest",
  pgbackrestIncludeDir: "/etc/pgbackrest/conf.d",
  secretsDir: "/run/secrets/pgstack",
  tlsDir: "/etc/pgstack/tls",
  socketDir: "/var/run/postgresql",
  spoolPath: "/var/lib/postgresql/data/pgbackrest-spool",
  pgbackrestLogPath: "/var/lib/postgresql/data/pgbackrest-log",
  pgbackrestLockPath: "/tmp/pgbackrest",
  port: 5432,
  hosts: { primary: "pgstack-dev-primary", "replica-1": "pgstack-dev-replica-1" },
  pgbackrestServerPort: 8432,
  s3Endpoint: "pgstack-dev-s3",
  s3Port: 9000,
  s3CaFile: "/etc/pgstack/tls/ca.crt",
  runner: {
    configDir: "/etc/pgbackrest-runner",
    includeDir: "/etc/pgbackrest-runner/conf.d",
    tlsDir: "/etc/pgstack/runner-tls",
    logPath: "/var/log/pgbackrest",
    lockPath: "/tmp/pgbackrest-runner",
  },
  drill: {
    configDir: "/etc/pgbackrest-drill",
    includeDir: "/etc/pgbackrest-drill/conf.d",
    scratchDir: "/var/lib/postgresql/restore-drill",
  },
};

/** The fixture model, with optional replacements (a local layout, TLS off, other networks...). */
export function fixtureModel(changes: Partial<ClusterModel> = {}): ClusterModel {
  return {
    project: "pgstack",
    stack: "dev",
    name: "pgstack-dev",
    platform: "docker",
    postgres: {
      version: 15,
      image: "pgstack/postgres:15.15-pgbackrest2.57.0",
      port: 5432,
      database: "app",
      superuser: "postgres",
      appUser: "app",
      replicationUser: "replicator",
      workload: "web",
      maxConnections: 50,
    },
    resources: {
      memoryLimitBytes: 2 * 1024 ** 3,
      memoryRequestBytes: 2 * 1024 ** 3,
      cpus: 2,
      storageBytes: 10 * 1024 ** 3,
      storageMedium: "ssd",
      shmBytes: 256 * 1024 ** 2,
      pgbackrestServer: { cpus: 1, memoryBytes: 1024 ** 3 },
      runner: { cpus: 1, memoryBytes: 1024 ** 3 },
      drill: { cpus: 2, memoryBytes: 1024 ** 3 },
      settingsReloader: { cpus: 0.05, memoryBytes: 32 * 1024 ** 2 },
    },
    members: [
      { name: "primary", role: "primary" },
      { name: "replica-1", role: "replica", slot: "replica_1" },
    ],
    switchover: { primary: "primary", failover: false },
    layout: FIXTURE_LAYOUT,
    network: {
      allowedCidrs: ["10.1.0.0/16", "192.168.10.0/24"],
      clusterCidr: "samenet",
      namespace: "pgstack-dev",
      clientNamespaces: [],
      awsEgressCidrs: [],
    },
    tuning: {
      parameters,
      memoryBudget: {
        limitBytes: 2 * 1024 ** 3,
        sharedBuffersBytes: 512 * 1024 ** 2,
        walBuffersBytes: 16 * 1024 ** 2,
        workMemBytes: 4 * 1024 ** 2,
        hashMemMultiplier: 2,
        connections: 50,
        autovacuumWorkers: 3,
        autovacuumWorkMemBytes: 64 * 1024 ** 2,
        maintenanceWorkMemBytes: 128 * 1024 ** 2,
        overheadBytes: 200 * 1024 ** 2,
        totalBytes: 1500 * 1024 ** 2,
        headroomBytes: 205 * 1024 ** 2,
        fits: true,
        keepsHeadroom: true,
      },
      warnings: [],
    },
    archive: {
      stanza: "pgstack-dev",
      store: "local",
      bucket: "pgstack-dev",
      region: "us-east-1",
      path: "/pgstack/dev",
      uriStyle: "path",
      retentionFull: { type: "count", fulls: 2 },
      retentionDiff: 3,
      archiveTimeoutSeconds: 30,
      schedules: { full: "0 3 * * 0", diff: "0 3 * * 1-6" },
      drillSchedule: "0 4 * * *",
      encrypted: true,
      keyType: "shared",
    },
    monitoring: {
      enabled: true,
      namespace: "monitoring",
      role: "pgstack_monitor",
      osUser: "nobody",
      osUid: 65534,
      exporterPort: 9187,
      clusterLabel: "pgstack_cluster",
      memberLabel: "pgstack_member",
      images: {
        exporter: "quay.io/prometheuscommunity/postgres-exporter:v0.20.1",
        prometheus: "prom/prometheus:v3.5.0",
        alertmanager: "prom/alertmanager:v0.28.1",
        pushgateway: "prom/pushgateway:v1.11.1",
      },
      pushgatewayUrl: "http://pgstack-dev-pushgateway:9091",
    },
    tls: true,
    protect: false,
    ...changes,
  };
}

/** The fixture's parameters with some values replaced (and new ones appended to their section). */
export function withParameters(
  model: ClusterModel,
  replacements: Readonly<Record<string, string>>,
  extra: readonly ConfParameter[] = [],
): ClusterModel {
  const parameters = model.tuning.parameters.map((parameter) =>
    parameter.name in replacements ? { ...parameter, value: replacements[parameter.name] } : parameter,
  );
  return { ...model, tuning: { ...model.tuning, parameters: [...parameters, ...extra] } };
}
