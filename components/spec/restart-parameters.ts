import type { PostgresVersion } from "../config/stack-config";
import type { ClusterSpec } from "./cluster-spec";
import { parameterInfo } from "./postgres-parameters";

/**
 * Parameters PostgreSQL reads only at server start (context `postmaster`): a new value needs a
 * restart; every other parameter takes effect with a reload (pg_reload_conf). From
 * `postgres --describe-config` of the PostgreSQL 15.20 binaries (Debian), and
 * pg_stat_statements.max (PGC_POSTMASTER in its module). A parameter PostgreSQL 15 does not
 * know (added in 16 or 17) is treated as needing a restart: a needless restart is safe, a
 * missed one leaves the old value running.
 */
const POSTMASTER_PARAMETERS_15: ReadonlySet<string> = new Set([
  "archive_mode",
  "autovacuum_freeze_max_age",
  "autovacuum_max_workers",
  "autovacuum_multixact_freeze_max_age",
  "bonjour",
  "bonjour_name",
  "cluster_name",
  "data_directory",
  "data_sync_retry",
  "dynamic_shared_memory_type",
  "event_source",
  "external_pid_file",
  "hba_file",
  "hot_standby",
  "huge_page_size",
  "huge_pages",
  "ident_file",
  "jit_provider",
  "listen_addresses",
  "logging_collector",
  "max_connections",
  "max_files_per_process",
  "max_locks_per_transaction",
  "max_logical_replication_workers",
  "max_pred_locks_per_transaction",
  "max_prepared_transactions",
  "max_replication_slots",
  "max_wal_senders",
  "max_worker_processes",
  "min_dynamic_shared_memory",
  "old_snapshot_threshold",
  "port",
  "recovery_target",
  "recovery_target_action",
  "recovery_target_inclusive",
  "recovery_target_lsn",
  "recovery_target_name",
  "recovery_target_time",
  "recovery_target_timeline",
  "recovery_target_xid",
  "shared_buffers",
  "shared_memory_type",
  "shared_preload_libraries",
  "superuser_reserved_connections",
  "track_activity_query_size",
  "track_commit_timestamp",
  "unix_socket_directories",
  "unix_socket_group",
  "unix_socket_permissions",
  "wal_buffers",
  "wal_decode_buffer_size",
  "wal_level",
  "wal_log_hints",
  "pg_stat_statements.max",
]);

/** True when a new value of `name` takes effect only after a server restart. */
export function requiresRestart(name: string, version: PostgresVersion): boolean {
  return POSTMASTER_PARAMETERS_15.has(name) || (version !== 15 && parameterInfo(name, 15) === undefined);
}

/**
 * The settings of the spec a running server cannot take with a reload, one `name=value` per
 * line in name order. A platform restarts a member when this changes, and only then; any other
 * change of postgresql.conf or pg_hba.conf reaches it with a reload.
 */
export function restartLevelSettings(spec: Pick<ClusterSpec, "postgres" | "tuning">): string {
  return spec.tuning.parameters
    .filter((parameter) => requiresRestart(parameter.name, spec.postgres.version))
    .map((parameter) => `${parameter.name}=${parameter.value}`)
    .sort()
    .join("\n");
}
