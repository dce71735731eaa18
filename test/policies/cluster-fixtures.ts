import type { PolicedSpec } from "../../policies/rules/cluster-view";
import { DOCKER_CONTAINER, DOCKER_VOLUME } from "../../policies/rules/docker";
import type { AnalyzedResource } from "../../scripts/plan/evaluate-policies";
import { resource } from "./harness";

/**
 * A hand-written dev cluster as the policies see it: the component carrying the spec, a member
 * container carrying the rendered files as uploads, its volume, and the backup runner with its
 * crontab. Settings are chosen so the memory budget fits 2Gi with room to spare.
 */

const MiB = 1024 ** 2;
export const POSTGRES_ARGV = ["postgres", "-c", "config_file=/etc/pgstack/postgresql.conf"];

export const GOOD_CONF = `# pgstack: computed for 2Gi, 2 CPUs, web
max_connections = 50
shared_buffers = 512MB                  # 25% of the limit
wal_buffers = 16MB
work_mem = 4MB
hash_mem_multiplier = 2.0
maintenance_work_mem = 128MB
autovacuum_max_workers = 3
autovacuum_work_mem = -1
max_parallel_workers = 2
wal_level = replica
fsync = on
full_page_writes = on
synchronous_commit = on
archive_mode = on
archive_command = 'pgbackrest --stanza=pgstack-dev archive-push %p'
archive_timeout = 30
max_wal_senders = 4
max_replication_slots = 4
max_slot_wal_keep_size = 4GB
`;

export const GOOD_HBA = `# TYPE  DATABASE  USER        ADDRESS   METHOD
local   all       postgres              peer
hostssl replication replicator samenet  scram-sha-256
hostssl app       app         samenet   scram-sha-256
`;

export function devSpec(overrides: Partial<PolicedSpec> = {}): PolicedSpec {
  return {
    project: "pgstack",
    stack: "dev",
    name: "pgstack-dev",
    platform: "docker",
    protect: false,
    postgres: { image: "pgstack/postgres:15.15-pgbackrest2.57.0", maxConnections: 50 },
    resources: { memoryLimitBytes: 2048 * MiB, storageBytes: 10 * 1024 * MiB },
    members: [
      { name: "primary", role: "primary" },
      { name: "replica-1", role: "replica", slot: "replica_1" },
    ],
    network: { namespace: "pgstack-dev" },
    tuning: { memoryBudget: { overheadBytes: 200 * MiB, limitBytes: 2048 * MiB } },
    archive: {
      bucket: "pgstack-dev",
      path: "/pgstack/dev",
      schedules: { full: "0 3 * * 0", diff: "0 3 * * 1-6" },
    },
    files: { "postgresql.conf": GOOD_CONF, "pg_hba.conf": GOOD_HBA },
    commands: { postgres: POSTGRES_ARGV },
    ...overrides,
  };
}

export interface ClusterOptions {
  readonly spec?: PolicedSpec;
  readonly conf?: string;
  readonly hba?: string;
  readonly protect?: boolean;
  readonly crontab?: string;
  readonly memoryMb?: number;
}

export function devCluster(options: ClusterOptions = {}): AnalyzedResource[] {
  const spec = options.spec ?? devSpec();
  const component = resource("pgstack:docker:PostgresCluster", "pgstack-dev", { spec }, { stack: "dev" });
  const member = resource(
    DOCKER_CONTAINER,
    "pgstack-dev-primary",
    {
      name: "pgstack-dev-primary",
      command: POSTGRES_ARGV,
      memory: options.memoryMb ?? 2048,
      uploads: [
        { file: "/etc/pgstack/postgresql.conf", content: options.conf ?? GOOD_CONF },
        { file: "/etc/pgstack/pg_hba.conf", content: options.hba ?? GOOD_HBA },
        {
          file: "/etc/pgbackrest/pgbackrest.conf",
          content: "[global]\nrepo1-s3-bucket=pgstack-dev\nrepo1-path=/pgstack/dev\n",
        },
      ],
    },
    { stack: "dev", parent: component.urn },
  );
  const volume = resource(
    DOCKER_VOLUME,
    "pgstack-dev-primary-data",
    { name: "pgstack-dev-primary-data" },
    { stack: "dev", protect: options.protect ?? false },
  );
  const runner = resource(
    DOCKER_CONTAINER,
    "pgstack-dev-backup",
    {
      name: "pgstack-dev-backup",
      uploads: [
        {
          file: "/etc/pgbackrest/backup.crontab",
          content:
            options.crontab ??
            "0 3 * * 0 pgbackrest --type=full backup\n0 3 * * 1-6 pgbackrest --type=diff backup\n",
        },
      ],
    },
    { stack: "dev", parent: component.urn },
  );
  return [component, member, volume, runner];
}
