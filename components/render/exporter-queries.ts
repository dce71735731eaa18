import { stringify } from "yaml";
import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";

/**
 * postgres_exporter's own query mechanism (`--extend.query-path`) for what its collectors lack or
 * name differently across releases: WAL directory size, WAL waiting for the archiver, settings
 * pending a restart, archive ages, slot retention, the longest query and idle transaction. Each
 * query yields `<query>_<column>` series; the alert rules read only these names and `pg_up`, so
 * they hold for the pinned image (0.20) and Debian's exporter (0.11) alike. Every query runs as
 * the pg_monitor role over the socket, and the functions it calls (pg_ls_waldir,
 * pg_ls_archive_statusdir, pg_database_size) are granted to pg_monitor by PostgreSQL itself.
 *
 * The feature is marked deprecated upstream in favour of sql_exporter, but is present and
 * documented in every release to date (cmd/postgres_exporter/main.go, v0.20.1); sql_exporter
 * would be a second process holding a second connection for the same queries.
 */

type Usage = "LABEL" | "GAUGE" | "COUNTER";
interface QueryColumn {
  readonly usage: Usage;
  readonly description: string;
}
interface ExporterQuery {
  readonly query: string;
  /** Run against the DSN's database only (pgstack does not auto-discover databases). */
  readonly master: true;
  readonly metrics: readonly Record<string, QueryColumn>[];
}

/** Names of the series the custom queries produce (`<query>_<column>`), as the rules use them. */
export const EXPORTER_METRICS = {
  up: "pg_up",
  inRecovery: "pgstack_server_in_recovery",
  connections: "pgstack_server_connections",
  streamingReplicas: "pgstack_server_streaming_replicas",
  longestQuerySeconds: "pgstack_server_longest_query_seconds",
  longestIdleInTransactionSeconds: "pgstack_server_longest_idle_in_transaction_seconds",
  oldestXidAge: "pgstack_server_oldest_xid_age",
  databaseBytes: "pgstack_server_database_bytes",
  settingsPendingRestart: "pgstack_server_settings_pending_restart",
  walDirBytes: "pgstack_wal_dir_bytes",
  walPositionBytes: "pgstack_wal_position_bytes",
  walReadyForArchive: "pgstack_wal_ready_for_archive",
  archivedCount: "pgstack_archiver_archived_count",
  archiveFailedCount: "pgstack_archiver_failed_count",
  lastArchivedAgeSeconds: "pgstack_archiver_last_archived_age_seconds",
  replicaStreaming: "pgstack_replica_streaming",
  replicaReplayLagSeconds: "pgstack_replica_replay_lag_seconds",
  replicaReplayLagBytes: "pgstack_replica_replay_lag_bytes",
  slotActive: "pgstack_slot_active",
  slotLost: "pgstack_slot_lost",
  slotRetainedBytes: "pgstack_slot_retained_bytes",
} as const;

/** The current WAL position of a primary, or the replayed one of a standby (which cannot call the former). */
const WAL_POSITION =
  "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END";

const gauge = (description: string): QueryColumn => ({ usage: "GAUGE", description });
const counter = (description: string): QueryColumn => ({ usage: "COUNTER", description });
const label = (description: string): QueryColumn => ({ usage: "LABEL", description });

/** The queries, keyed by the prefix of their series. */
export function exporterQueries(model: ClusterModel): Record<string, ExporterQuery> {
  const { role } = model.monitoring;
  const sql = (...lines: string[]) => lines.join(" ");
  return {
    pgstack_server: {
      master: true,
      query: sql(
        "SELECT pg_is_in_recovery()::int AS in_recovery,",
        "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,",
        "(SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming') AS streaming_replicas,",
        "(SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) FROM pg_stat_activity",
        `WHERE state = 'active' AND backend_type = 'client backend' AND usename <> '${role}') AS longest_query_seconds,`,
        "(SELECT coalesce(max(extract(epoch FROM now() - state_change)), 0) FROM pg_stat_activity",
        "WHERE state LIKE 'idle in transaction%') AS longest_idle_in_transaction_seconds,",
        "(SELECT max(age(datfrozenxid)) FROM pg_database) AS oldest_xid_age,",
        "(SELECT sum(pg_database_size(oid)) FROM pg_database) AS database_bytes,",
        "(SELECT count(*) FROM pg_settings WHERE pending_restart) AS settings_pending_restart",
      ),
      metrics: [
        { in_recovery: gauge("1 on a standby, 0 on the primary") },
        { connections: gauge("Client backends connected, every role") },
        { streaming_replicas: gauge("Standbys streaming from this server") },
        { longest_query_seconds: gauge("Age of the oldest running statement of a client") },
        {
          longest_idle_in_transaction_seconds: gauge(
            "Longest time a session has sat idle inside an open transaction",
          ),
        },
        { oldest_xid_age: gauge("Transactions since the oldest database was last frozen") },
        { database_bytes: gauge("Size of every database in the cluster") },
        {
          settings_pending_restart: gauge(
            "Settings changed in the config file that take effect only after a restart",
          ),
        },
      ],
    },
    pgstack_wal: {
      master: true,
      query: sql(
        "SELECT (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()) AS dir_bytes,",
        `pg_wal_lsn_diff(${WAL_POSITION}, '0/0') AS position_bytes,`,
        "(SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready_for_archive",
      ),
      metrics: [
        { dir_bytes: gauge("Bytes in pg_wal") },
        { position_bytes: gauge("WAL position (written on a primary, replayed on a standby)") },
        { ready_for_archive: gauge("WAL segments waiting for the archiver") },
      ],
    },
    pgstack_archiver: {
      master: true,
      query: sql(
        "SELECT archived_count, failed_count,",
        // Never archived since the statistics began: count from the server's start.
        "extract(epoch FROM now() - coalesce(last_archived_time, pg_postmaster_start_time())) AS last_archived_age_seconds",
        "FROM pg_stat_archiver",
      ),
      metrics: [
        { archived_count: counter("WAL files archived") },
        { failed_count: counter("Failed attempts to archive a WAL file") },
        { last_archived_age_seconds: gauge("Seconds since the last WAL file was archived") },
      ],
    },
    pgstack_replica: {
      master: true,
      query: sql(
        "SELECT application_name, (state = 'streaming')::int AS streaming,",
        "coalesce(extract(epoch FROM replay_lag), 0) AS replay_lag_seconds,",
        `coalesce(pg_wal_lsn_diff(${WAL_POSITION}, replay_lsn), 0) AS replay_lag_bytes`,
        "FROM pg_stat_replication",
      ),
      metrics: [
        { application_name: label("The standby's application_name (its member name)") },
        { streaming: gauge("1 while the standby streams") },
        { replay_lag_seconds: gauge("How long ago the standby's replayed WAL was written here") },
        { replay_lag_bytes: gauge("WAL written here and not yet replayed by the standby") },
      ],
    },
    pgstack_slot: {
      master: true,
      query: sql(
        "SELECT slot_name, active::int AS active, (wal_status = 'lost')::int AS lost,",
        `coalesce(pg_wal_lsn_diff(${WAL_POSITION}, restart_lsn), 0) AS retained_bytes`,
        "FROM pg_replication_slots WHERE slot_type = 'physical'",
      ),
      metrics: [
        { slot_name: label("Replication slot") },
        { active: gauge("1 while a standby uses the slot") },
        { lost: gauge("1 once the slot's WAL was removed (max_slot_wal_keep_size exceeded)") },
        { retained_bytes: gauge("WAL the slot keeps in pg_wal") },
      ],
    },
  };
}

/** The queries file the exporter reads, with the header every rendered file carries. */
export function renderExporterQueries(model: ClusterModel): string {
  const header = commentLines([
    ...generatedHeader(model, "postgres_exporter custom queries (--extend.query-path)"),
    "",
    `Each query runs as ${model.monitoring.role} (pg_monitor) on the member's own socket.`,
  ]);
  return `${header.join("\n")}\n${stringify(exporterQueries(model), { lineWidth: 0 })}`;
}
