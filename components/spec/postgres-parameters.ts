import type { PostgresVersion } from "../config/stack-config";
import type { ConfSection } from "./cluster-spec";

/**
 * The catalogue of PostgreSQL parameters a postgresql.conf may set, per supported major version.
 * An override naming anything else is refused before a deploy, not discovered by a server that
 * will not start.
 *
 * Derived from the real lists, not from memory:
 * - 15: `postgres --describe-config` and `pg_settings` of the PostgreSQL 15.20 binaries (Debian),
 *   less the Debian-only `extension_destdir` and the minor-release additions newer than the
 *   pinned images (`composite_type_mismatch`, `output_plugin_libraries`).
 * - 16: `src/backend/utils/misc/guc_tables.c` of a 16.2 source tree, checked against the
 *   REL_16 branch point (the only difference: `logical_replication_mode` renamed
 *   `debug_logical_replication_streaming` before 16.0), plus `restrict_nonsystem_relation_kind`
 *   (back-patched in 16.4).
 * - 17: `guc_tables.c` of two 17.4 source trees, checked against the REL_17 branch point
 *   (`standby_slot_names` renamed `synchronized_standby_slots` before 17.0;
 *   `restrict_nonsystem_relation_kind` added in 17.0).
 * Settable means: not PGC_INTERNAL (read-only, e.g. block_size), not GUC_DISALLOW_IN_FILE (e.g.
 * config_file, transaction_isolation), not GUC_NO_SHOW_ALL (legacy no-ops such as
 * default_with_oids), and compiled into standard builds (no LOCK_DEBUG/WAL_DEBUG options).
 *
 * Each entry: the kind of value (memory and time values carry units, see override validation)
 * and the postgresql.conf section an override of it is rendered under.
 */

/** Value kinds; `memory` and `time` are integers with a unit (kB, MB, ... / ms, s, min, ...). */
export type ParameterKind = "bool" | "integer" | "real" | "string" | "enum" | "memory" | "time";
type Entry = readonly [ParameterKind, ConfSection];

/** Every parameter settable in a PostgreSQL 15 postgresql.conf. */
const POSTGRES_15: Readonly<Record<string, Entry>> = {
  DateStyle: ["string", "Connections"],
  IntervalStyle: ["enum", "Connections"],
  TimeZone: ["string", "Connections"],
  allow_in_place_tablespaces: ["bool", "Logging"],
  allow_system_table_mods: ["bool", "Logging"],
  application_name: ["string", "Logging"],
  archive_cleanup_command: ["string", "Archiving"],
  archive_command: ["string", "Archiving"],
  archive_library: ["string", "Archiving"],
  archive_mode: ["enum", "Archiving"],
  archive_timeout: ["time", "Archiving"],
  array_nulls: ["bool", "Connections"],
  authentication_timeout: ["time", "Security"],
  autovacuum: ["bool", "Autovacuum"],
  autovacuum_analyze_scale_factor: ["real", "Autovacuum"],
  autovacuum_analyze_threshold: ["integer", "Autovacuum"],
  autovacuum_freeze_max_age: ["integer", "Autovacuum"],
  autovacuum_max_workers: ["integer", "Autovacuum"],
  autovacuum_multixact_freeze_max_age: ["integer", "Autovacuum"],
  autovacuum_naptime: ["time", "Autovacuum"],
  autovacuum_vacuum_cost_delay: ["time", "Autovacuum"],
  autovacuum_vacuum_cost_limit: ["integer", "Autovacuum"],
  autovacuum_vacuum_insert_scale_factor: ["real", "Autovacuum"],
  autovacuum_vacuum_insert_threshold: ["integer", "Autovacuum"],
  autovacuum_vacuum_scale_factor: ["real", "Autovacuum"],
  autovacuum_vacuum_threshold: ["integer", "Autovacuum"],
  autovacuum_work_mem: ["memory", "Memory"],
  backend_flush_after: ["memory", "Parallelism"],
  backslash_quote: ["enum", "Connections"],
  backtrace_functions: ["string", "Logging"],
  bgwriter_delay: ["time", "WAL and checkpoints"],
  bgwriter_flush_after: ["memory", "WAL and checkpoints"],
  bgwriter_lru_maxpages: ["integer", "WAL and checkpoints"],
  bgwriter_lru_multiplier: ["real", "WAL and checkpoints"],
  bonjour: ["bool", "Connections"],
  bonjour_name: ["string", "Connections"],
  bytea_output: ["enum", "Timeouts and locks"],
  check_function_bodies: ["bool", "Timeouts and locks"],
  checkpoint_completion_target: ["real", "WAL and checkpoints"],
  checkpoint_flush_after: ["memory", "WAL and checkpoints"],
  checkpoint_timeout: ["time", "WAL and checkpoints"],
  checkpoint_warning: ["time", "WAL and checkpoints"],
  client_connection_check_interval: ["time", "Connections"],
  client_encoding: ["string", "Connections"],
  client_min_messages: ["enum", "Timeouts and locks"],
  cluster_name: ["string", "Logging"],
  commit_delay: ["integer", "WAL and checkpoints"],
  commit_siblings: ["integer", "WAL and checkpoints"],
  compute_query_id: ["enum", "Statistics and extensions"],
  constraint_exclusion: ["enum", "Planner"],
  cpu_index_tuple_cost: ["real", "Planner"],
  cpu_operator_cost: ["real", "Planner"],
  cpu_tuple_cost: ["real", "Planner"],
  cursor_tuple_fraction: ["real", "Planner"],
  data_directory: ["string", "Files"],
  data_sync_retry: ["bool", "Logging"],
  db_user_namespace: ["bool", "Security"],
  deadlock_timeout: ["time", "Timeouts and locks"],
  debug_discard_caches: ["integer", "Logging"],
  debug_pretty_print: ["bool", "Logging"],
  debug_print_parse: ["bool", "Logging"],
  debug_print_plan: ["bool", "Logging"],
  debug_print_rewritten: ["bool", "Logging"],
  default_statistics_target: ["integer", "Planner"],
  default_table_access_method: ["string", "Timeouts and locks"],
  default_tablespace: ["string", "Timeouts and locks"],
  default_text_search_config: ["string", "Connections"],
  default_toast_compression: ["enum", "Timeouts and locks"],
  default_transaction_deferrable: ["bool", "Timeouts and locks"],
  default_transaction_isolation: ["enum", "Timeouts and locks"],
  default_transaction_read_only: ["bool", "Timeouts and locks"],
  dynamic_library_path: ["string", "Connections"],
  dynamic_shared_memory_type: ["enum", "Memory"],
  effective_cache_size: ["memory", "Planner"],
  effective_io_concurrency: ["integer", "Parallelism"],
  enable_async_append: ["bool", "Planner"],
  enable_bitmapscan: ["bool", "Planner"],
  enable_gathermerge: ["bool", "Planner"],
  enable_hashagg: ["bool", "Planner"],
  enable_hashjoin: ["bool", "Planner"],
  enable_incremental_sort: ["bool", "Planner"],
  enable_indexonlyscan: ["bool", "Planner"],
  enable_indexscan: ["bool", "Planner"],
  enable_material: ["bool", "Planner"],
  enable_memoize: ["bool", "Planner"],
  enable_mergejoin: ["bool", "Planner"],
  enable_nestloop: ["bool", "Planner"],
  enable_parallel_append: ["bool", "Planner"],
  enable_parallel_hash: ["bool", "Planner"],
  enable_partition_pruning: ["bool", "Planner"],
  enable_partitionwise_aggregate: ["bool", "Planner"],
  enable_partitionwise_join: ["bool", "Planner"],
  enable_seqscan: ["bool", "Planner"],
  enable_sort: ["bool", "Planner"],
  enable_tidscan: ["bool", "Planner"],
  escape_string_warning: ["bool", "Connections"],
  event_source: ["string", "Logging"],
  exit_on_error: ["bool", "Logging"],
  external_pid_file: ["string", "Files"],
  extra_float_digits: ["integer", "Connections"],
  force_parallel_mode: ["enum", "Logging"],
  from_collapse_limit: ["integer", "Planner"],
  fsync: ["bool", "WAL and checkpoints"],
  full_page_writes: ["bool", "WAL and checkpoints"],
  geqo: ["bool", "Planner"],
  geqo_effort: ["integer", "Planner"],
  geqo_generations: ["integer", "Planner"],
  geqo_pool_size: ["integer", "Planner"],
  geqo_seed: ["real", "Planner"],
  geqo_selection_bias: ["real", "Planner"],
  geqo_threshold: ["integer", "Planner"],
  gin_fuzzy_search_limit: ["integer", "Connections"],
  gin_pending_list_limit: ["memory", "Timeouts and locks"],
  hash_mem_multiplier: ["real", "Memory"],
  hba_file: ["string", "Files"],
  hot_standby: ["bool", "Replication"],
  hot_standby_feedback: ["bool", "Replication"],
  huge_page_size: ["memory", "Memory"],
  huge_pages: ["enum", "Memory"],
  ident_file: ["string", "Files"],
  idle_in_transaction_session_timeout: ["time", "Timeouts and locks"],
  idle_session_timeout: ["time", "Timeouts and locks"],
  ignore_checksum_failure: ["bool", "Logging"],
  ignore_invalid_pages: ["bool", "Logging"],
  ignore_system_indexes: ["bool", "Logging"],
  jit: ["bool", "Planner"],
  jit_above_cost: ["real", "Planner"],
  jit_debugging_support: ["bool", "Logging"],
  jit_dump_bitcode: ["bool", "Logging"],
  jit_expressions: ["bool", "Logging"],
  jit_inline_above_cost: ["real", "Planner"],
  jit_optimize_above_cost: ["real", "Planner"],
  jit_profiling_support: ["bool", "Logging"],
  jit_provider: ["string", "Statistics and extensions"],
  jit_tuple_deforming: ["bool", "Logging"],
  join_collapse_limit: ["integer", "Planner"],
  krb_caseins_users: ["bool", "Security"],
  krb_server_keyfile: ["string", "Security"],
  lc_messages: ["string", "Connections"],
  lc_monetary: ["string", "Connections"],
  lc_numeric: ["string", "Connections"],
  lc_time: ["string", "Connections"],
  listen_addresses: ["string", "Connections"],
  lo_compat_privileges: ["bool", "Connections"],
  local_preload_libraries: ["string", "Statistics and extensions"],
  lock_timeout: ["time", "Timeouts and locks"],
  log_autovacuum_min_duration: ["time", "Logging"],
  log_checkpoints: ["bool", "Logging"],
  log_connections: ["bool", "Logging"],
  log_destination: ["string", "Logging"],
  log_directory: ["string", "Logging"],
  log_disconnections: ["bool", "Logging"],
  log_duration: ["bool", "Logging"],
  log_error_verbosity: ["enum", "Logging"],
  log_executor_stats: ["bool", "Statistics and extensions"],
  log_file_mode: ["integer", "Logging"],
  log_filename: ["string", "Logging"],
  log_hostname: ["bool", "Logging"],
  log_line_prefix: ["string", "Logging"],
  log_lock_waits: ["bool", "Logging"],
  log_min_duration_sample: ["time", "Logging"],
  log_min_duration_statement: ["time", "Logging"],
  log_min_error_statement: ["enum", "Logging"],
  log_min_messages: ["enum", "Logging"],
  log_parameter_max_length: ["memory", "Logging"],
  log_parameter_max_length_on_error: ["memory", "Logging"],
  log_parser_stats: ["bool", "Statistics and extensions"],
  log_planner_stats: ["bool", "Statistics and extensions"],
  log_recovery_conflict_waits: ["bool", "Logging"],
  log_replication_commands: ["bool", "Logging"],
  log_rotation_age: ["time", "Logging"],
  log_rotation_size: ["memory", "Logging"],
  log_startup_progress_interval: ["time", "Logging"],
  log_statement: ["enum", "Logging"],
  log_statement_sample_rate: ["real", "Logging"],
  log_statement_stats: ["bool", "Statistics and extensions"],
  log_temp_files: ["memory", "Logging"],
  log_timezone: ["string", "Logging"],
  log_transaction_sample_rate: ["real", "Logging"],
  log_truncate_on_rotation: ["bool", "Logging"],
  logging_collector: ["bool", "Logging"],
  logical_decoding_work_mem: ["memory", "Memory"],
  maintenance_io_concurrency: ["integer", "Parallelism"],
  maintenance_work_mem: ["memory", "Memory"],
  max_connections: ["integer", "Connections"],
  max_files_per_process: ["integer", "Files"],
  max_locks_per_transaction: ["integer", "Timeouts and locks"],
  max_logical_replication_workers: ["integer", "Replication"],
  max_parallel_maintenance_workers: ["integer", "Parallelism"],
  max_parallel_workers: ["integer", "Parallelism"],
  max_parallel_workers_per_gather: ["integer", "Parallelism"],
  max_pred_locks_per_page: ["integer", "Timeouts and locks"],
  max_pred_locks_per_relation: ["integer", "Timeouts and locks"],
  max_pred_locks_per_transaction: ["integer", "Timeouts and locks"],
  max_prepared_transactions: ["integer", "Memory"],
  max_replication_slots: ["integer", "Replication"],
  max_slot_wal_keep_size: ["memory", "Replication"],
  max_stack_depth: ["memory", "Memory"],
  max_standby_archive_delay: ["time", "Replication"],
  max_standby_streaming_delay: ["time", "Replication"],
  max_sync_workers_per_subscription: ["integer", "Replication"],
  max_wal_senders: ["integer", "Replication"],
  max_wal_size: ["memory", "WAL and checkpoints"],
  max_worker_processes: ["integer", "Parallelism"],
  min_dynamic_shared_memory: ["memory", "Memory"],
  min_parallel_index_scan_size: ["memory", "Planner"],
  min_parallel_table_scan_size: ["memory", "Planner"],
  min_wal_size: ["memory", "WAL and checkpoints"],
  old_snapshot_threshold: ["time", "Parallelism"],
  parallel_leader_participation: ["bool", "Parallelism"],
  parallel_setup_cost: ["real", "Planner"],
  parallel_tuple_cost: ["real", "Planner"],
  password_encryption: ["enum", "Security"],
  plan_cache_mode: ["enum", "Planner"],
  port: ["integer", "Connections"],
  post_auth_delay: ["time", "Logging"],
  pre_auth_delay: ["time", "Logging"],
  primary_conninfo: ["string", "Replication"],
  primary_slot_name: ["string", "Replication"],
  promote_trigger_file: ["string", "Replication"],
  quote_all_identifiers: ["bool", "Connections"],
  random_page_cost: ["real", "Planner"],
  recovery_end_command: ["string", "Archiving"],
  recovery_init_sync_method: ["enum", "Logging"],
  recovery_min_apply_delay: ["time", "Replication"],
  recovery_prefetch: ["enum", "WAL and checkpoints"],
  recovery_target: ["string", "Archiving"],
  recovery_target_action: ["enum", "Archiving"],
  recovery_target_inclusive: ["bool", "Archiving"],
  recovery_target_lsn: ["string", "Archiving"],
  recovery_target_name: ["string", "Archiving"],
  recovery_target_time: ["string", "Archiving"],
  recovery_target_timeline: ["string", "Archiving"],
  recovery_target_xid: ["string", "Archiving"],
  recursive_worktable_factor: ["real", "Planner"],
  remove_temp_files_after_crash: ["bool", "Logging"],
  restart_after_crash: ["bool", "Logging"],
  restore_command: ["string", "Archiving"],
  restrict_nonsystem_relation_kind: ["string", "Timeouts and locks"],
  row_security: ["bool", "Timeouts and locks"],
  search_path: ["string", "Timeouts and locks"],
  seq_page_cost: ["real", "Planner"],
  session_preload_libraries: ["string", "Statistics and extensions"],
  session_replication_role: ["enum", "Timeouts and locks"],
  shared_buffers: ["memory", "Memory"],
  shared_memory_type: ["enum", "Memory"],
  shared_preload_libraries: ["string", "Statistics and extensions"],
  ssl: ["bool", "Security"],
  ssl_ca_file: ["string", "Security"],
  ssl_cert_file: ["string", "Security"],
  ssl_ciphers: ["string", "Security"],
  ssl_crl_dir: ["string", "Security"],
  ssl_crl_file: ["string", "Security"],
  ssl_dh_params_file: ["string", "Security"],
  ssl_ecdh_curve: ["string", "Security"],
  ssl_key_file: ["string", "Security"],
  ssl_max_protocol_version: ["enum", "Security"],
  ssl_min_protocol_version: ["enum", "Security"],
  ssl_passphrase_command: ["string", "Security"],
  ssl_passphrase_command_supports_reload: ["bool", "Security"],
  ssl_prefer_server_ciphers: ["bool", "Security"],
  standard_conforming_strings: ["bool", "Connections"],
  statement_timeout: ["time", "Timeouts and locks"],
  stats_fetch_consistency: ["enum", "Statistics and extensions"],
  superuser_reserved_connections: ["integer", "Connections"],
  synchronize_seqscans: ["bool", "Connections"],
  synchronous_commit: ["enum", "WAL and checkpoints"],
  synchronous_standby_names: ["string", "Replication"],
  syslog_facility: ["enum", "Logging"],
  syslog_ident: ["string", "Logging"],
  syslog_sequence_numbers: ["bool", "Logging"],
  syslog_split_messages: ["bool", "Logging"],
  tcp_keepalives_count: ["integer", "Connections"],
  tcp_keepalives_idle: ["time", "Connections"],
  tcp_keepalives_interval: ["time", "Connections"],
  tcp_user_timeout: ["time", "Connections"],
  temp_buffers: ["memory", "Memory"],
  temp_file_limit: ["memory", "Files"],
  temp_tablespaces: ["string", "Timeouts and locks"],
  timezone_abbreviations: ["string", "Connections"],
  trace_notify: ["bool", "Logging"],
  trace_recovery_messages: ["enum", "Logging"],
  trace_sort: ["bool", "Logging"],
  track_activities: ["bool", "Statistics and extensions"],
  track_activity_query_size: ["memory", "Statistics and extensions"],
  track_commit_timestamp: ["bool", "Replication"],
  track_counts: ["bool", "Statistics and extensions"],
  track_functions: ["enum", "Statistics and extensions"],
  track_io_timing: ["bool", "Statistics and extensions"],
  track_wal_io_timing: ["bool", "Statistics and extensions"],
  transform_null_equals: ["bool", "Connections"],
  unix_socket_directories: ["string", "Connections"],
  unix_socket_group: ["string", "Connections"],
  unix_socket_permissions: ["integer", "Connections"],
  update_process_title: ["bool", "Logging"],
  vacuum_cost_delay: ["time", "Autovacuum"],
  vacuum_cost_limit: ["integer", "Autovacuum"],
  vacuum_cost_page_dirty: ["integer", "Autovacuum"],
  vacuum_cost_page_hit: ["integer", "Autovacuum"],
  vacuum_cost_page_miss: ["integer", "Autovacuum"],
  vacuum_defer_cleanup_age: ["integer", "Replication"],
  vacuum_failsafe_age: ["integer", "Timeouts and locks"],
  vacuum_freeze_min_age: ["integer", "Timeouts and locks"],
  vacuum_freeze_table_age: ["integer", "Timeouts and locks"],
  vacuum_multixact_failsafe_age: ["integer", "Timeouts and locks"],
  vacuum_multixact_freeze_min_age: ["integer", "Timeouts and locks"],
  vacuum_multixact_freeze_table_age: ["integer", "Timeouts and locks"],
  wal_buffers: ["memory", "WAL and checkpoints"],
  wal_compression: ["enum", "WAL and checkpoints"],
  wal_consistency_checking: ["string", "Logging"],
  wal_decode_buffer_size: ["memory", "WAL and checkpoints"],
  wal_init_zero: ["bool", "WAL and checkpoints"],
  wal_keep_size: ["memory", "Replication"],
  wal_level: ["enum", "WAL and checkpoints"],
  wal_log_hints: ["bool", "WAL and checkpoints"],
  wal_receiver_create_temp_slot: ["bool", "Replication"],
  wal_receiver_status_interval: ["time", "Replication"],
  wal_receiver_timeout: ["time", "Replication"],
  wal_recycle: ["bool", "WAL and checkpoints"],
  wal_retrieve_retry_interval: ["time", "Replication"],
  wal_sender_timeout: ["time", "Replication"],
  wal_skip_threshold: ["memory", "WAL and checkpoints"],
  wal_sync_method: ["enum", "WAL and checkpoints"],
  wal_writer_delay: ["time", "WAL and checkpoints"],
  wal_writer_flush_after: ["memory", "WAL and checkpoints"],
  work_mem: ["memory", "Memory"],
  xmlbinary: ["enum", "Timeouts and locks"],
  xmloption: ["enum", "Timeouts and locks"],
  zero_damaged_pages: ["bool", "Logging"],
};

/** Parameters that appeared in 16 (including `debug_parallel_query`, the new name of `force_parallel_mode`). */
const ADDED_IN_16: Readonly<Record<string, Entry>> = {
  createrole_self_grant: ["string", "Timeouts and locks"],
  debug_io_direct: ["string", "Logging"],
  debug_logical_replication_streaming: ["enum", "Logging"],
  debug_parallel_query: ["enum", "Logging"],
  enable_presorted_aggregate: ["bool", "Planner"],
  gss_accept_delegation: ["bool", "Security"],
  icu_validation_level: ["enum", "Connections"],
  max_parallel_apply_workers_per_subscription: ["integer", "Replication"],
  reserved_connections: ["integer", "Connections"],
  scram_iterations: ["integer", "Security"],
  send_abort_for_crash: ["bool", "Logging"],
  send_abort_for_kill: ["bool", "Logging"],
  vacuum_buffer_usage_limit: ["memory", "Memory"],
};

/** Parameters that appeared in 17. */
const ADDED_IN_17: Readonly<Record<string, Entry>> = {
  allow_alter_system: ["bool", "Connections"],
  commit_timestamp_buffers: ["memory", "Memory"],
  enable_group_by_reordering: ["bool", "Planner"],
  event_triggers: ["bool", "Timeouts and locks"],
  io_combine_limit: ["memory", "Parallelism"],
  max_notify_queue_pages: ["integer", "Files"],
  multixact_member_buffers: ["memory", "Memory"],
  multixact_offset_buffers: ["memory", "Memory"],
  notify_buffers: ["memory", "Memory"],
  serializable_buffers: ["memory", "Memory"],
  subtransaction_buffers: ["memory", "Memory"],
  summarize_wal: ["bool", "WAL and checkpoints"],
  sync_replication_slots: ["bool", "Replication"],
  synchronized_standby_slots: ["string", "Replication"],
  trace_connection_negotiation: ["bool", "Logging"],
  transaction_buffers: ["memory", "Memory"],
  transaction_timeout: ["time", "Timeouts and locks"],
  wal_summary_keep_time: ["time", "WAL and checkpoints"],
};

const REMOVED_IN_16: readonly string[] = [
  "force_parallel_mode",
  "promote_trigger_file",
  "vacuum_defer_cleanup_age",
];
const REMOVED_IN_17: readonly string[] = [
  "db_user_namespace",
  "old_snapshot_threshold",
  "trace_recovery_messages",
];

/** Renamed parameters: an override of the old name is told the new one. */
const RENAMED: Readonly<Record<string, string>> = {
  force_parallel_mode: "debug_parallel_query",
};

/**
 * Parameters of pg_stat_statements (contrib, preloaded by pgstack), the same in 15, 16 and 17.
 * Placeholders of other libraries are accepted only when the library is preloaded (it then
 * validates them at start).
 */
const PG_STAT_STATEMENTS: Readonly<Record<string, Entry>> = {
  "pg_stat_statements.max": ["integer", "Statistics and extensions"],
  "pg_stat_statements.track": ["enum", "Statistics and extensions"],
  "pg_stat_statements.track_utility": ["bool", "Statistics and extensions"],
  "pg_stat_statements.track_planning": ["bool", "Statistics and extensions"],
  "pg_stat_statements.save": ["bool", "Statistics and extensions"],
};

export interface ParameterInfo {
  readonly name: string;
  readonly kind: ParameterKind;
  readonly section: ConfSection;
}

function catalogue(entries: readonly Readonly<Record<string, Entry>>[], removed: readonly string[]) {
  const map = new Map<string, ParameterInfo>();
  for (const record of entries) {
    for (const [name, [kind, section]] of Object.entries(record)) map.set(name, { name, kind, section });
  }
  for (const name of removed) map.delete(name);
  return map;
}

const CATALOGUES: Readonly<Record<PostgresVersion, ReadonlyMap<string, ParameterInfo>>> = {
  15: catalogue([POSTGRES_15, PG_STAT_STATEMENTS], []),
  16: catalogue([POSTGRES_15, ADDED_IN_16, PG_STAT_STATEMENTS], REMOVED_IN_16),
  17: catalogue(
    [POSTGRES_15, ADDED_IN_16, ADDED_IN_17, PG_STAT_STATEMENTS],
    [...REMOVED_IN_16, ...REMOVED_IN_17],
  ),
};

/** The parameter as PostgreSQL `version` knows it; undefined when that major has no such name. */
export function parameterInfo(name: string, version: PostgresVersion): ParameterInfo | undefined {
  return CATALOGUES[version].get(name);
}

/** Every parameter name settable in postgresql.conf of `version`, sorted. */
export function parameterNames(version: PostgresVersion): readonly string[] {
  return [...CATALOGUES[version].keys()].sort();
}

/** Where a name exists: the majors that accept it, and its new name when it was renamed. */
export function parameterHistory(name: string): {
  readonly validIn: readonly PostgresVersion[];
  readonly renamedTo?: string;
} {
  const validIn = ([15, 16, 17] as const).filter((version) => CATALOGUES[version].has(name));
  return { validIn, renamedTo: RENAMED[name] };
}
