import { ConfigError, type ConfigProblem, displayValue } from "../config/config-error";
import type { PostgresVersion, StorageMedium, Workload } from "../config/stack-config";
import type { ArchiveSpec, ConfParameter, ConfSection, Layout, TuningResult } from "./cluster-spec";
import {
  computeMemoryBudget,
  DEFAULT_WORK_MEM_BYTES,
  HEADROOM_SHARE,
  largestFitting,
  largestFittingWorkMem,
  type MemoryTermName,
  type MemoryTerms,
  MIN_WORK_MEM_BYTES,
} from "./memory-budget";
import {
  applyOverrides,
  type OverrideRules,
  type ParameterOverride,
  parseOverrides,
  validateOverrides,
} from "./overrides";
import { formatTimeValue, parseBoolValue, parseMemoryValue } from "./parameter-values";
import { parameterInfo } from "./postgres-parameters";
import {
  type BaseTuning,
  baseTuning,
  databaseSize,
  defaultMaxConnections,
  HASH_MEM_MULTIPLIER,
  kb,
  MAINTENANCE_WORK_MEM_CAP,
  pgtuneWorkMem,
  randomPageCost,
  STORAGE_COSTS,
  size,
  walSizing,
} from "./resource-formulas";
import { formatPgMemory, formatQuantity, GiB, KiB, MiB, TiB } from "./units";

/**
 * postgresql.conf from the container's resources: PGTune's formulas (le0pard/pgtune) where they
 * hold, corrected where a container demands it (memory is the cgroup limit, and the worst case
 * under full load must stay under it), plus the WAL, archiving, replication, security and
 * logging settings the topology needs, and the parameters pgstack owns. Pure and deterministic.
 */
export interface TuningInput {
  version: PostgresVersion;
  workload: Workload;
  memoryLimitBytes: number;
  cpus: number;
  storageMedium: StorageMedium;
  storageBytes: number;
  /** pgstack:maxConnections; unset: derived from the workload and the limit (resolveConnections). */
  maxConnections?: number;
  replicas: number;
  archive: ArchiveSpec;
  tls: boolean;
  layout: Layout;
  overrides: readonly string[];
}

export { defaultMaxConnections };

/** The input once max_connections is decided. */
type ResolvedInput = TuningInput & { readonly maxConnections: number };

/** The fewest connections pgstack derives (pgstack:maxConnections accepts no fewer). */
const MIN_DERIVED_CONNECTIONS = 10;

/** Statement timeout per workload: interactive workloads fail fast, analytical ones may run long. */
const STATEMENT_TIMEOUT_MS: Readonly<Record<Workload, number>> = {
  web: 60_000,
  oltp: 60_000,
  mixed: 300_000,
  dw: 0,
  desktop: 0,
};

/** Fractions of the data volume: WAL a lagging slot may keep, and one session's temp files. */
const SLOT_WAL_SHARE = 0.2;
const TEMP_FILE_SHARE = 0.1;

/** A share of the data volume in whole MiB, at least 64MiB. */
const volumeShare = (storageBytes: number, share: number) =>
  Math.max(64 * MiB, Math.floor((storageBytes * share) / MiB) * MiB);

/** The budget's terms with the overrides that change them applied; work_mem as given. */
function memoryTerms(
  input: ResolvedInput,
  base: BaseTuning,
  overrides: readonly ParameterOverride[],
  workMem: number,
) {
  const value = (name: string) => overrides.find((override) => override.name === name)?.value;
  const memory = (name: string, fallback: number) => {
    const text = value(name);
    return text === undefined ? fallback : (parseMemoryValue(text) ?? fallback);
  };
  const integer = (name: string, fallback: number) => {
    const text = value(name);
    return text === undefined ? fallback : Number(text);
  };
  const sharedBuffersBytes = memory("shared_buffers", base.sharedBuffers);
  const maintenanceWorkMemBytes = memory("maintenance_work_mem", base.maintenanceWorkMem);
  const walBuffersText = value("wal_buffers");
  // wal_buffers=-1: PostgreSQL takes shared_buffers/32, between 64kB and one 16MB WAL segment.
  const walBuffersBytes =
    walBuffersText === "-1"
      ? Math.min(16 * MiB, Math.max(64 * KiB, kb(sharedBuffersBytes / 32)))
      : memory("wal_buffers", base.walBuffers);
  const autovacuumText = value("autovacuum_work_mem");
  const autovacuumWorkMemBytes =
    autovacuumText === "-1" ? maintenanceWorkMemBytes : memory("autovacuum_work_mem", base.autovacuumWorkMem);
  const terms: MemoryTerms = {
    limitBytes: input.memoryLimitBytes,
    sharedBuffersBytes,
    walBuffersBytes,
    workMemBytes: memory("work_mem", workMem),
    hashMemMultiplier: Number(value("hash_mem_multiplier") ?? HASH_MEM_MULTIPLIER),
    maxConnections: input.maxConnections,
    maxWorkerProcesses: integer("max_worker_processes", base.maxWorkerProcesses),
    maxParallelWorkers: integer("max_parallel_workers", base.maxParallelWorkers),
    autovacuumWorkers: integer("autovacuum_max_workers", base.autovacuumWorkers),
    autovacuumWorkMemBytes,
    maintenanceWorkMemBytes,
    maxWalSenders: integer("max_wal_senders", base.maxWalSenders),
    hugePages: value("huge_pages") !== undefined && parseBoolValue(value("huge_pages") ?? "") === true,
  };
  return terms;
}

/** Overrides that change a budget term, with the term, its step and how to write a value of it. */
const BUDGET_OVERRIDES: Readonly<
  Record<string, { term: MemoryTermName; step: number; write: (v: number) => string }>
> = {
  shared_buffers: { term: "sharedBuffersBytes", step: MiB, write: formatPgMemory },
  wal_buffers: { term: "walBuffersBytes", step: 64 * KiB, write: formatPgMemory },
  work_mem: { term: "workMemBytes", step: 64 * KiB, write: formatPgMemory },
  maintenance_work_mem: { term: "maintenanceWorkMemBytes", step: MiB, write: formatPgMemory },
  autovacuum_work_mem: { term: "autovacuumWorkMemBytes", step: MiB, write: formatPgMemory },
  hash_mem_multiplier: { term: "hashMemMultiplier", step: 0.1, write: (v) => v.toFixed(1) },
  autovacuum_max_workers: { term: "autovacuumWorkers", step: 1, write: String },
  max_worker_processes: { term: "maxWorkerProcesses", step: 1, write: String },
  max_parallel_workers: { term: "maxParallelWorkers", step: 1, write: String },
  max_wal_senders: { term: "maxWalSenders", step: 1, write: String },
};

function budgetOverrideProblems(
  terms: MemoryTerms,
  overrides: readonly ParameterOverride[],
  total: number,
): ConfigProblem[] {
  return overrides
    .filter((override) => override.name in BUDGET_OVERRIDES || override.name === "huge_pages")
    .map((override) => {
      const rule = BUDGET_OVERRIDES[override.name];
      const largest = rule ? largestFitting(terms, rule.term, rule.step) : undefined;
      return {
        key: override.key,
        value: displayValue(override.entry),
        message: `with this override the worst case under full load is ${size(total)}, over the ${size(terms.limitBytes)} container limit (the container would be OOM-killed)`,
        fix:
          largest !== undefined
            ? `use at most "${override.name}=${rule.write(largest)}", raise pgstack:memoryLimit, or remove the entry`
            : `raise pgstack:memoryLimit, lower pgstack:maxConnections, or remove the entry`,
      };
    });
}

/** Steps a suggested memoryLimit is searched in: fine for small containers, whole GiB above 16GiB. */
function* limitCandidates(from: number): Generator<number> {
  const fine = 128 * MiB;
  for (let limit = Math.ceil(from / fine) * fine; limit <= 16 * GiB; limit += fine) yield limit;
  for (let limit = Math.max(17 * GiB, Math.ceil(from / GiB) * GiB); limit <= TiB; limit += GiB) yield limit;
}

/**
 * Refusal when even the minimum work_mem cannot fit: names both keys that decide it, each with
 * the value that would fit while the other stays as it is.
 */
function doesNotFitError(
  input: ResolvedInput,
  overrides: readonly ParameterOverride[],
  derivedConnections: boolean,
): ConfigError {
  const fitsWith = (limit: number, connections: number) => {
    const candidate = { ...input, memoryLimitBytes: limit, maxConnections: connections };
    const terms = memoryTerms(candidate, baseTuning(candidate), overrides, 0);
    return largestFittingWorkMem(terms, true) >= MIN_WORK_MEM_BYTES;
  };
  let smallestLimit: number | undefined;
  for (const limit of limitCandidates(input.memoryLimitBytes)) {
    if (fitsWith(limit, input.maxConnections)) {
      smallestLimit = limit;
      break;
    }
  }
  let low = 0;
  let high = input.maxConnections;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fitsWith(input.memoryLimitBytes, middle)) low = middle;
    else high = middle;
  }
  const largestConnections = low >= 10 ? low : undefined;
  const terms = memoryTerms(input, baseTuning(input), overrides, MIN_WORK_MEM_BYTES);
  const budget = computeMemoryBudget(terms);
  const limitText = formatQuantity(input.memoryLimitBytes);
  const worstCase =
    `at full load shared_buffers ${size(budget.sharedBuffersBytes)} + ${budget.connections} connections and parallel workers × ` +
    `work_mem 1MB × ${budget.hashMemMultiplier} + autovacuum ${budget.autovacuumWorkers} × ${size(budget.autovacuumWorkMemBytes)} + ` +
    `maintenance_work_mem ${size(budget.maintenanceWorkMemBytes)} + overhead ${size(budget.overheadBytes)} = ${size(budget.totalBytes)}` +
    `, over ${Math.round((1 - HEADROOM_SHARE) * 100)}% of the limit (pgstack keeps ${size(budget.headroomBytes)} of headroom)`;
  const problems: ConfigProblem[] = [
    {
      key: "pgstack:memoryLimit",
      value: displayValue(limitText),
      message: `cannot hold ${input.maxConnections} connections with work_mem of at least 1MB: ${worstCase}`,
      fix:
        smallestLimit !== undefined
          ? `pulumi config set pgstack:memoryLimit ${formatQuantity(smallestLimit)} (the smallest limit that fits ${input.maxConnections} connections)`
          : `no memoryLimit up to 1Ti fits ${input.maxConnections} connections (each maps shared_buffers with 4kB pages); lower pgstack:maxConnections or set huge_pages=on in pgstack:parameters on nodes with huge pages`,
    },
    {
      key: "pgstack:maxConnections",
      value: displayValue(input.maxConnections),
      message: `${input.maxConnections} connections do not fit in memoryLimit ${limitText} with work_mem of at least 1MB`,
      fix:
        largestConnections !== undefined
          ? `pulumi config set pgstack:maxConnections ${largestConnections} (the most that fit in ${limitText}), and put a connection pooler in front if the application needs more`
          : `no maxConnections of 10 or more fits in ${limitText}; raise pgstack:memoryLimit`,
    },
  ];
  // A derived maxConnections is already the fewest pgstack would pick: only the limit is wrong.
  return new ConfigError(derivedConnections ? problems.slice(0, 1) : problems);
}

/** The parameters pgstack writes, before overrides. */
function computedParameters(
  input: ResolvedInput,
  base: BaseTuning,
  workMem: string,
  workMemReason: string,
  connectionsReason: string,
) {
  const { version, workload, archive, layout } = input;
  const limit = size(input.memoryLimitBytes);
  const storage = size(input.storageBytes);
  const costs = STORAGE_COSTS[input.storageMedium];
  const parameters: ConfParameter[] = [];
  const add = (
    section: ConfSection,
    name: string,
    value: string | number,
    reason: string,
    source: "computed" | "fixed" = "computed",
  ) => parameters.push({ name, value: String(value), reason, section, source });
  // config-include-path is honoured only on the command line (pgBackRest ignores it in a
  // config file): the include dir holds the cipher pass and S3 keys, mounted from a secret.
  const pgbackrest = `pgbackrest --config=${layout.pgbackrestConfigDir}/pgbackrest.conf --config-include-path=${layout.pgbackrestIncludeDir} --stanza=${archive.stanza}`;

  add(
    "Connections",
    "listen_addresses",
    "*",
    "every interface of the container; pg_hba.conf and the network policy decide who connects",
    "fixed",
  );
  add(
    "Connections",
    "port",
    layout.port,
    "the port of the platform layout, which services and probes use",
    "fixed",
  );
  add(
    "Connections",
    "unix_socket_directories",
    layout.socketDir,
    "the socket the healthcheck and local superuser use (layout.socketDir)",
    "fixed",
  );
  add("Connections", "max_connections", input.maxConnections, connectionsReason);
  add(
    "Connections",
    "superuser_reserved_connections",
    3,
    "slots kept for an administrator when the application exhausts the pool",
  );
  add(
    "Connections",
    "tcp_keepalives_idle",
    "60s",
    "finds clients that vanished behind NAT or a killed pod within minutes, not hours",
  );
  add(
    "Connections",
    "tcp_keepalives_interval",
    "10s",
    "probe interval once a connection is idle past tcp_keepalives_idle",
  );
  add("Connections", "tcp_keepalives_count", 6, "unanswered probes before the connection is dropped");

  add(
    "Memory",
    "shared_buffers",
    formatPgMemory(base.sharedBuffers),
    `${workload === "desktop" ? "1/16" : "25%"} of the ${limit} container limit (PGTune)`,
  );
  add(
    "Memory",
    "huge_pages",
    "off",
    base.sharedBuffers >= 2 * GiB
      ? "PGTune says try from 2GB of shared_buffers, but a container granted no huge pages (hugepages-2Mi) can map them and then die of SIGBUS on first touch (kubernetes/kubernetes#71233); set huge_pages=on in pgstack:parameters where the node reserves them and the pod requests them (the memory budget then counts 512× smaller page tables)"
      : "shared_buffers below 2GB: PGTune also leaves huge pages off",
  );
  add("Memory", "work_mem", workMem, workMemReason);
  add(
    "Memory",
    "hash_mem_multiplier",
    HASH_MEM_MULTIPLIER.toFixed(1),
    "PostgreSQL's default, counted in the memory budget (hashes may use 2 × work_mem)",
  );
  add(
    "Memory",
    "maintenance_work_mem",
    formatPgMemory(base.maintenanceWorkMem),
    `${workload === "dw" ? "1/8" : "1/16"} of the ${limit} limit, at most ${formatPgMemory(MAINTENANCE_WORK_MEM_CAP)} (PGTune)`,
  );
  add(
    "Memory",
    "autovacuum_work_mem",
    formatPgMemory(base.autovacuumWorkMem),
    `1/64 of the ${limit} limit, at most maintenance_work_mem${version < 17 ? " and 1GB (the most VACUUM uses before PostgreSQL 17)" : " and 2GB (PGTune's cap)"}: ` +
      `${base.autovacuumWorkers} workers hold it at once, and PGTune's -1 (maintenance_work_mem each) would take ${base.autovacuumWorkers}/${workload === "dw" ? 8 : 16} of the limit from work_mem`,
  );
  if (version >= 16) {
    add(
      "Memory",
      "vacuum_buffer_usage_limit",
      "2MB",
      "VACUUM's ring of shared buffers: 17's default, applied to 16 too (its 256kB ring makes VACUUM flush WAL every 32 pages)",
    );
  }
  add(
    "Memory",
    "dynamic_shared_memory_type",
    "posix",
    "parallel queries share memory through /dev/shm, which the platform sizes for them",
    "fixed",
  );

  add(
    "Planner",
    "effective_cache_size",
    formatPgMemory(base.effectiveCacheSize),
    `${workload === "desktop" ? "1/4" : "75%"} of the ${limit} limit: the planner's guess of cached data; allocates nothing (PGTune)`,
  );
  const pageCost = randomPageCost(input);
  add(
    "Planner",
    "random_page_cost",
    pageCost,
    databaseSize(input) === "less_ram"
      ? `the ${storage} volume fits in the ${limit} limit, so reads come from the page cache: random costs as much as sequential (PGTune)`
      : input.storageMedium === "hdd"
        ? "hdd: a random read costs 4× a sequential one, a seek (PGTune)"
        : workload === "dw"
          ? `dw on ${input.storageMedium}: PostgreSQL's 4 keeps large scans sequential instead of turning them into index scans (PGTune)`
          : `${input.storageMedium}: random reads cost about as much as sequential ones (PGTune)`,
  );
  add(
    "Planner",
    "effective_io_concurrency",
    costs.ioConcurrency,
    `${input.storageMedium}: concurrent reads the device serves (PGTune)`,
  );
  add(
    "Planner",
    "maintenance_io_concurrency",
    costs.ioConcurrency,
    `${input.storageMedium}: the same device depth for VACUUM and recovery prefetch`,
  );
  if (workload === "web" || workload === "oltp" || workload === "mixed") {
    add(
      "Planner",
      "jit",
      "off",
      `${workload}: compiling short queries costs more planning time and CPU than it saves (PGTune); dw and desktop keep it`,
    );
  }
  add(
    "Planner",
    "default_statistics_target",
    workload === "dw" ? 500 : 100,
    workload === "dw"
      ? "dw: finer histograms for large analytical queries (PGTune)"
      : "PostgreSQL's default, enough for OLTP plans (PGTune)",
  );

  const cores = Math.floor(input.cpus);
  add(
    "Parallelism",
    "max_worker_processes",
    base.maxWorkerProcesses,
    cores >= 4
      ? `one per CPU (${cores} CPUs, PGTune)`
      : "PostgreSQL's default (PGTune keeps it below 4 CPUs)",
  );
  add(
    "Parallelism",
    "max_parallel_workers",
    base.maxParallelWorkers,
    cores >= 2
      ? `one per CPU (${cores} CPUs)`
      : "1 CPU: a parallel worker would only compete with its leader",
  );
  add(
    "Parallelism",
    "max_parallel_workers_per_gather",
    base.maxParallelWorkersPerGather,
    cores >= 4
      ? `half the ${cores} CPUs${workload === "dw" ? "" : ", at most 4"} (PGTune)`
      : cores >= 2
        ? `${cores} CPUs: one worker beside the leader`
        : "1 CPU: no parallel query",
  );
  add(
    "Parallelism",
    "max_parallel_maintenance_workers",
    base.maxParallelMaintenanceWorkers,
    cores >= 4
      ? `half the ${cores} CPUs, at most 4 (PGTune)`
      : cores >= 2
        ? `${cores} CPUs: one worker for CREATE INDEX`
        : "1 CPU: no parallel maintenance",
  );

  const walSizes = walSizing(input);
  add(
    "WAL and checkpoints",
    "wal_level",
    "replica",
    `the WAL archive and streaming replicas both need replica${workload === "desktop" ? " (PGTune's minimal for desktop would disable both)" : ""}; logical is accepted as an override`,
  );
  add(
    "WAL and checkpoints",
    "wal_buffers",
    formatPgMemory(base.walBuffers),
    "3% of shared_buffers, at most 16MB (PGTune)",
  );
  add(
    "WAL and checkpoints",
    "wal_compression",
    "lz4",
    "compresses full-page images: less WAL to write, archive and stream, at little CPU (lz4 accepted since 15)",
  );
  add(
    "WAL and checkpoints",
    "wal_log_hints",
    "on",
    "keeps pg_rewind possible after a failover; implied when the cluster has data checksums",
  );
  add(
    "WAL and checkpoints",
    "checkpoint_timeout",
    "15min",
    "fewer checkpoints, so fewer full-page images; max_wal_size still bounds crash recovery",
  );
  add(
    "WAL and checkpoints",
    "checkpoint_completion_target",
    0.9,
    "spreads checkpoint writes over 90% of the interval (PGTune, PostgreSQL's default since 14)",
  );
  add("WAL and checkpoints", "min_wal_size", formatPgMemory(walSizes.min), walSizes.minReason);
  add("WAL and checkpoints", "max_wal_size", formatPgMemory(walSizes.max), walSizes.maxReason);

  add(
    "Archiving",
    "archive_mode",
    "on",
    "every WAL segment goes to the pgBackRest repository: backups and point-in-time recovery depend on it",
  );
  add(
    "Archiving",
    "archive_command",
    `${pgbackrest} archive-push %p`,
    "pgBackRest pushes each WAL segment to the repository",
    "fixed",
  );
  add(
    "Archiving",
    "archive_timeout",
    formatTimeValue(archive.archiveTimeoutSeconds * 1000),
    "pgstack:archiveTimeout: a partly filled segment is archived after this, bounding data loss when only the archive survives",
  );
  add(
    "Archiving",
    "restore_command",
    `${pgbackrest} archive-get %f "%p"`,
    "replicas and restores fetch WAL from the repository when streaming cannot serve it",
    "fixed",
  );

  add(
    "Replication",
    "max_wal_senders",
    base.maxWalSenders,
    `${input.replicas} replica(s) + 2 for a pg_basebackup streaming its WAL + 1 spare`,
  );
  add(
    "Replication",
    "max_replication_slots",
    base.maxReplicationSlots,
    `${input.replicas} replica slot(s) + a pg_basebackup's temporary slot + 1 spare`,
  );
  add(
    "Replication",
    "max_slot_wal_keep_size",
    formatPgMemory(volumeShare(input.storageBytes, SLOT_WAL_SHARE)),
    `20% of the ${storage} volume: a dead replica cannot fill the disk; one further behind catches up from the archive`,
  );
  add("Replication", "hot_standby", "on", "replicas serve read queries and answer healthchecks");
  add(
    "Replication",
    "hot_standby_feedback",
    "on",
    "replicas' queries are not cancelled by vacuum on the primary (bounded by max_slot_wal_keep_size and statement_timeout)",
  );

  add(
    "Security",
    "password_encryption",
    "scram-sha-256",
    "pg_hba.conf authenticates with scram-sha-256, which md5-hashed passwords cannot pass",
    "fixed",
  );
  if (input.tls) {
    add("Security", "ssl", "on", "pgstack:tls: clients, replicas and backups connect over TLS");
    add(
      "Security",
      "ssl_cert_file",
      `${layout.tlsDir}/server.crt`,
      "the member's certificate, signed by the stack's CA",
      "fixed",
    );
    add(
      "Security",
      "ssl_key_file",
      `${layout.tlsDir}/server.key`,
      "the member's private key, mounted from a secret",
      "fixed",
    );
    add(
      "Security",
      "ssl_ca_file",
      `${layout.tlsDir}/ca.crt`,
      "the stack's CA, to verify client certificates when pg_hba asks",
      "fixed",
    );
    add("Security", "ssl_min_protocol_version", "TLSv1.2", "refuses TLS 1.0 and 1.1");
  } else {
    add("Security", "ssl", "off", "pgstack:tls is false: connections are not encrypted");
  }
  if (version >= 17) {
    add(
      "Security",
      "allow_alter_system",
      "off",
      "postgresql.conf is declared by pgstack; ALTER SYSTEM would let a member drift from the reviewed config (17+)",
    );
  }

  const statementTimeout = STATEMENT_TIMEOUT_MS[workload];
  add(
    "Timeouts and locks",
    "statement_timeout",
    formatTimeValue(statementTimeout),
    statementTimeout > 0
      ? `${workload}: a runaway query is cancelled; raise it per role or session for migrations and reports`
      : `${workload}: long queries are the workload; set it per role where needed`,
  );
  add(
    "Timeouts and locks",
    "lock_timeout",
    formatTimeValue(statementTimeout / 6),
    statementTimeout > 0
      ? "a sixth of statement_timeout: a statement waiting this long for a lock fails instead of queueing everyone behind it"
      : "no server-wide limit for this workload",
  );
  add(
    "Timeouts and locks",
    "idle_in_transaction_session_timeout",
    "5min",
    "an abandoned open transaction holds locks and blocks vacuum; it is ended after 5 minutes",
  );
  add(
    "Timeouts and locks",
    "deadlock_timeout",
    "1s",
    "deadlock check delay; log_lock_waits reports waits longer than this",
  );

  add("Autovacuum", "autovacuum", "on", "required: prevents bloat and transaction ID wraparound");
  add(
    "Autovacuum",
    "autovacuum_max_workers",
    base.autovacuumWorkers,
    cores >= 32
      ? `${cores} CPUs: 5 (PGTune)`
      : cores >= 16
        ? `${cores} CPUs: 4 (PGTune)`
        : "PostgreSQL's default, kept by PGTune below 16 CPUs",
  );
  add(
    "Autovacuum",
    "autovacuum_vacuum_scale_factor",
    0.05,
    "vacuums a table after 5% of it changed (default 20% lets large tables bloat)",
  );
  add(
    "Autovacuum",
    "autovacuum_analyze_scale_factor",
    0.025,
    "analyzes after 2.5% changed, keeping plans current on large tables",
  );
  add(
    "Autovacuum",
    "autovacuum_vacuum_cost_limit",
    input.storageMedium === "hdd" ? 200 : 1000,
    input.storageMedium === "hdd"
      ? "hdd: PostgreSQL's default pace"
      : `${input.storageMedium}: the device absorbs a faster vacuum than the default 200`,
  );

  add(
    "Logging",
    "logging_collector",
    "off",
    "containers collect stderr (docker logs, kubectl logs); the collector would write files into the data volume instead",
    "fixed",
  );
  add("Logging", "log_destination", "stderr", "read by the container runtime and its log shipping", "fixed");
  add(
    "Logging",
    "log_line_prefix",
    "%m [%p] %quser=%u,db=%d,app=%a,client=%h ",
    "time, pid, and for sessions user, database, application and client",
  );
  add(
    "Logging",
    "log_min_duration_statement",
    workload === "dw" ? "10s" : "1s",
    "slow statements are logged with their duration",
  );
  add("Logging", "log_lock_waits", "on", "waits longer than deadlock_timeout are logged");
  add(
    "Logging",
    "log_checkpoints",
    "on",
    "checkpoint frequency and duration show whether max_wal_size fits the write load",
  );
  add("Logging", "log_connections", "on", "audit trail of who connected from where");
  add("Logging", "log_disconnections", "on", "session durations, to size the pool");
  add("Logging", "log_autovacuum_min_duration", "1s", "autovacuum runs that take noticeable time are logged");
  add(
    "Logging",
    "log_temp_files",
    "10MB",
    "sorts and hashes that spill past work_mem are logged: the sign work_mem is too small for a query",
  );

  add(
    "Statistics and extensions",
    "shared_preload_libraries",
    "pg_stat_statements",
    "pg_stat_statements records every statement's time and I/O",
  );
  add("Statistics and extensions", "pg_stat_statements.max", 10000, "distinct statements tracked");
  add("Statistics and extensions", "pg_stat_statements.track", "all", "includes statements inside functions");
  add(
    "Statistics and extensions",
    "track_io_timing",
    "on",
    "I/O time in pg_stat_statements and EXPLAIN; cheap on current kernels",
  );

  add(
    "Files",
    "hba_file",
    `${layout.configDir}/pg_hba.conf`,
    "the rendered pg_hba.conf, mounted read-only",
    "fixed",
  );
  add(
    "Files",
    "ident_file",
    `${layout.configDir}/pg_ident.conf`,
    "the rendered pg_ident.conf: maps the exporter's OS user to the monitoring role, nothing else",
    "fixed",
  );
  add(
    "Files",
    "temp_file_limit",
    formatPgMemory(volumeShare(input.storageBytes, TEMP_FILE_SHARE)),
    `10% of the ${storage} volume per session: a runaway query fails before its temp files fill the disk`,
  );
  return parameters;
}

/**
 * /dev/shm for dynamic shared memory (dynamic_shared_memory_type=posix). Two users:
 * - Parallel queries put their shared hash tables there: each parallel query may use work_mem ×
 *   hash_mem_multiplier per participant (its workers and its leader), so all of them at once need
 *   (max_parallel_workers + leaders) × work_mem × hash_mem_multiplier, plus 1MiB per worker for
 *   tuple queues and state.
 * - A parallel VACUUM (a manual VACUUM of a table with two or more indexes, when
 *   max_parallel_maintenance_workers > 0) keeps its whole dead-tuple store there instead of in
 *   the leader's memory: up to maintenance_work_mem (before PostgreSQL 17 at most 1GB, the
 *   largest array it allocates). The memory budget counts one maintenance operation at a time
 *   (maintenance_work_mem once), and so does this.
 * Add 64MiB of headroom for the rest of dynamic shared memory (shared statistics, DSA areas),
 * which does not grow with shared_buffers: the main shared memory is an anonymous mapping, not
 * /dev/shm. At least 64MiB (Docker's default, under which both fail with "could not resize
 * shared memory segment"), at most the memory limit: tmpfs pages are charged to the same cgroup,
 * and the budget's work_mem and maintenance_work_mem terms already count them.
 */
function sharedMemoryDeviceBytes(
  terms: MemoryTerms,
  perGather: number,
  maintenanceWorkers: number,
  version: number,
): number {
  const workers = terms.maxParallelWorkers;
  const leaders = perGather > 0 ? Math.ceil(workers / perGather) : 0;
  const parallel = (workers + leaders) * terms.workMemBytes * terms.hashMemMultiplier + workers * MiB;
  const vacuum =
    maintenanceWorkers > 0 && workers > 0
      ? Math.min(terms.maintenanceWorkMemBytes, parallelVacuumCap(version))
      : 0;
  const bytes = Math.ceil((64 * MiB + parallel + vacuum) / MiB) * MiB;
  return Math.min(Math.max(64 * MiB, bytes), Math.floor(terms.limitBytes / MiB) * MiB);
}

/** Largest dead-tuple store of one VACUUM: 1GB (MaxAllocSize) before 17's TidStore. */
function parallelVacuumCap(version: number): number {
  return version < 17 ? 1 * GiB : Number.POSITIVE_INFINITY;
}

/**
 * max_connections and why. Set: the operator's value. Unset: PGTune's default for the workload,
 * lowered when the limit cannot give that many connections PostgreSQL's 4MB work_mem beside the
 * rest of the budget and its headroom: to the most that can, at least 10. A default never makes
 * pgstack refuse a config; only a limit too small for 10 connections at 1MB does.
 */
function resolveConnections(
  input: TuningInput,
  overrides: readonly ParameterOverride[],
): { connections: number; derived: boolean; reason: string } {
  const pgtune = defaultMaxConnections(input.workload);
  if (input.maxConnections !== undefined) {
    return {
      connections: input.maxConnections,
      derived: false,
      reason: `pgstack:maxConnections (PGTune's default for ${input.workload} is ${pgtune})`,
    };
  }
  const others = overrides.filter((override) => override.name !== "work_mem");
  const workMemWith = (connections: number) => {
    const candidate = { ...input, maxConnections: connections };
    return largestFittingWorkMem(memoryTerms(candidate, baseTuning(candidate), others, 0), true);
  };
  const most = (floor: number) => {
    if (workMemWith(pgtune) >= floor) return pgtune;
    if (workMemWith(MIN_DERIVED_CONNECTIONS) < floor) return undefined;
    let low = MIN_DERIVED_CONNECTIONS;
    let high = pgtune;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (workMemWith(middle) >= floor) low = middle;
      else high = middle;
    }
    return low;
  };
  const limit = size(input.memoryLimitBytes);
  const unset = `pgstack:maxConnections unset: PGTune's default for ${input.workload} (${pgtune})`;
  const atDefault = most(DEFAULT_WORK_MEM_BYTES);
  if (atDefault === pgtune)
    return { connections: pgtune, derived: true, reason: `${unset}, which the ${limit} limit holds` };
  const pool = "set pgstack:maxConnections to choose, and put a connection pooler in front for more clients";
  if (atDefault !== undefined) {
    return {
      connections: atDefault,
      derived: true,
      reason: `${unset} lowered to ${atDefault}, the most that keep work_mem at PostgreSQL's 4MB default within the ${limit} limit; ${pool}`,
    };
  }
  const atMinimum = most(MIN_WORK_MEM_BYTES) ?? MIN_DERIVED_CONNECTIONS;
  return {
    connections: atMinimum,
    derived: true,
    reason: `${unset} lowered to ${atMinimum}: even ${MIN_DERIVED_CONNECTIONS} connections cannot have 4MB of work_mem in the ${limit} limit; ${pool}`,
  };
}

export function tune(input: TuningInput): TuningResult & { shmBytes: number; maxConnections: number } {
  const parsed = parseOverrides(input.overrides);
  const validationInput: ResolvedInput = { ...input, maxConnections: input.maxConnections ?? 0 };
  const provisionalBase = baseTuning(validationInput);
  const provisional = computedParameters(validationInput, provisionalBase, "4MB", "", "");
  const rules: OverrideRules = {
    version: input.version,
    replicas: input.replicas,
    storageBytes: input.storageBytes,
    fixed: provisional.filter((parameter) => parameter.source === "fixed"),
    requiredWalSenders: input.replicas + 2,
    requiredReplicationSlots: input.replicas + 1,
  };
  const problems = [...parsed.problems, ...validateOverrides(parsed.overrides, rules)];
  if (problems.length > 0) throw new ConfigError(problems);
  const overrides = parsed.overrides;

  const connections = resolveConnections(input, overrides);
  const resolved: ResolvedInput = { ...input, maxConnections: connections.connections };
  const base = baseTuning(resolved);
  const warnings: string[] = [];

  // work_mem is PGTune's, lowered to what is left under the limit less pgstack's headroom once
  // every other term (overrides included) is counted; an explicit work_mem override is checked
  // against the limit itself below. Overrides of other terms may spend the headroom.
  const others = overrides.filter((override) => override.name !== "work_mem");
  const othersTerms = memoryTerms(resolved, base, others, 0);
  const spendsHeadroom = others.some((override) => override.name in BUDGET_OVERRIDES);
  let fitting = largestFittingWorkMem(othersTerms, true);
  if (fitting < MIN_WORK_MEM_BYTES && spendsHeadroom) fitting = largestFittingWorkMem(othersTerms, false);
  if (fitting < MIN_WORK_MEM_BYTES) {
    const baseFits = largestFittingWorkMem(memoryTerms(resolved, base, [], 0), true) >= MIN_WORK_MEM_BYTES;
    if (!baseFits) throw doesNotFitError(resolved, others, connections.derived);
    const terms = memoryTerms(resolved, base, overrides, MIN_WORK_MEM_BYTES);
    throw new ConfigError(budgetOverrideProblems(terms, overrides, computeMemoryBudget(terms).totalBytes));
  }
  const pgtuneValue = pgtuneWorkMem(resolved, resolved.maxConnections, base.maxWorkerProcesses);
  const workMem = Math.min(pgtuneValue, fitting);
  const pgtune = formatPgMemory(pgtuneValue);
  const divided =
    input.workload === "web" || input.workload === "oltp"
      ? ""
      : `, divided by ${input.workload === "desktop" ? 6 : 2} for ${input.workload}`;
  const boosted = databaseSize(input) === "less_ram" ? ", × 1.3 as the database fits in memory" : "";
  const formula = `(${size(input.memoryLimitBytes)} − shared_buffers) / ((${resolved.maxConnections} connections + ${base.maxWorkerProcesses} workers) × 3)${divided}${boosted}, at least 4MB`;
  const headroom = `${Math.round(HEADROOM_SHARE * 100)}% of the ${size(input.memoryLimitBytes)} limit left as headroom`;
  let workMemReason =
    workMem < pgtuneValue
      ? `largest that keeps the worst case at full load under the limit with ${headroom} (PGTune's ${formula} gives ${pgtune})`
      : `PGTune: ${formula}; the worst case at full load fits with ${headroom}`;
  if (workMem < DEFAULT_WORK_MEM_BYTES) {
    const fix = `lower pgstack:maxConnections (a pooler such as PgBouncer serves more clients over fewer connections) or raise pgstack:memoryLimit`;
    workMemReason += `; below PostgreSQL's 4MB default, so sorts and hashes spill to disk sooner: ${fix}`;
    warnings.push(
      `work_mem is ${formatPgMemory(workMem)}, below PostgreSQL's 4MB default: the ${size(input.memoryLimitBytes)} memory limit cannot give ${resolved.maxConnections} connections more at full load; ${fix}`,
    );
  }

  const terms = memoryTerms(resolved, base, overrides, workMem);
  const memoryBudget = computeMemoryBudget(terms);
  if (!memoryBudget.fits)
    throw new ConfigError(budgetOverrideProblems(terms, overrides, memoryBudget.totalBytes));
  if (!memoryBudget.keepsHeadroom) {
    warnings.push(
      `the overrides in pgstack:parameters leave ${size(Math.max(0, input.memoryLimitBytes - memoryBudget.totalBytes))} of the ${size(input.memoryLimitBytes)} limit unplanned, less than pgstack's ${size(memoryBudget.headroomBytes)} headroom for page cache and allocator slack`,
    );
  }

  const computed = computedParameters(
    resolved,
    base,
    formatPgMemory(workMem),
    workMemReason,
    connections.reason,
  );
  for (const parameter of computed) {
    if (!parameterInfo(parameter.name, input.version)) {
      throw new Error(`pgstack bug: ${parameter.name} is not a parameter of PostgreSQL ${input.version}`);
    }
  }
  const parameters = applyOverrides(computed, overrides, input.version);
  const perGather = Number(
    overrides.find((override) => override.name === "max_parallel_workers_per_gather")?.value ??
      base.maxParallelWorkersPerGather,
  );
  const maintenanceWorkers = Number(
    overrides.find((override) => override.name === "max_parallel_maintenance_workers")?.value ??
      base.maxParallelMaintenanceWorkers,
  );
  return {
    parameters,
    memoryBudget,
    warnings,
    maxConnections: resolved.maxConnections,
    shmBytes: sharedMemoryDeviceBytes(terms, perGather, maintenanceWorkers, input.version),
  };
}
