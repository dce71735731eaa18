import type { StorageMedium, Workload } from "../config/stack-config";
import type { TuningInput } from "./tuning";
import { formatPgMemory, formatQuantity, GiB, KiB, MiB } from "./units";

/**
 * The resource formulas: PGTune's (le0pard/pgtune, src/features/configuration/
 * configurationSlice.js) for the same inputs, with the container's memory limit as "total
 * memory", and pgstack's corrections where a container or its volume demands them (parallelism
 * on 1-3 CPUs, WAL bounded by the volume, autovacuum memory sized for the budget).
 */

/** Share of the data volume the WAL may occupy between checkpoints. */
const MAX_WAL_SHARE = 0.1;

/** PGTune's max_connections per workload. */
const DEFAULT_MAX_CONNECTIONS: Readonly<Record<Workload, number>> = {
  web: 200,
  oltp: 300,
  dw: 40,
  desktop: 20,
  mixed: 100,
};

export function defaultMaxConnections(workload: Workload): number {
  return DEFAULT_MAX_CONNECTIONS[workload];
}

/** PGTune's min_wal_size / max_wal_size per workload, before pgstack bounds them by the volume. */
const WAL_SIZES: Readonly<Record<Workload, { readonly min: number; readonly max: number }>> = {
  web: { min: 1 * GiB, max: 4 * GiB },
  oltp: { min: 2 * GiB, max: 8 * GiB },
  dw: { min: 4 * GiB, max: 16 * GiB },
  desktop: { min: 100 * MiB, max: 2 * GiB },
  mixed: { min: 1 * GiB, max: 4 * GiB },
};

/** PGTune's random_page_cost and effective_io_concurrency per medium. */
export const STORAGE_COSTS: Readonly<
  Record<StorageMedium, { readonly randomPageCost: number; readonly ioConcurrency: number }>
> = {
  ssd: { randomPageCost: 1.1, ioConcurrency: 200 },
  san: { randomPageCost: 1.1, ioConcurrency: 300 },
  hdd: { randomPageCost: 4, ioConcurrency: 2 },
};

/** What the resource formulas decide before overrides; all sizes in bytes (whole kB). */
export interface BaseTuning {
  readonly sharedBuffers: number;
  readonly effectiveCacheSize: number;
  readonly maintenanceWorkMem: number;
  readonly autovacuumWorkMem: number;
  readonly autovacuumWorkers: number;
  readonly walBuffers: number;
  readonly hugePages: "try" | "off";
  readonly maxWorkerProcesses: number;
  readonly maxParallelWorkers: number;
  readonly maxParallelWorkersPerGather: number;
  readonly maxParallelMaintenanceWorkers: number;
  /** PGTune's work_mem for these inputs, before the memory budget. */
  readonly pgtuneWorkMem: number;
  readonly maxWalSenders: number;
  readonly maxReplicationSlots: number;
}

export const HASH_MEM_MULTIPLIER = 2;
export const kb = (bytes: number) => Math.floor(bytes / KiB) * KiB;
/** A size for a reason line: `8GiB`, `512MiB`. */
export const size = (bytes: number) => `${formatQuantity(kb(bytes))}B`;

export function baseTuning(input: TuningInput): BaseTuning {
  const { workload, memoryLimitBytes: limit, version } = input;
  const desktop = workload === "desktop";
  const sharedBuffers = kb(desktop ? limit / 16 : limit / 4);
  const effectiveCacheSize = kb(desktop ? limit / 4 : (limit * 3) / 4);
  const maintenanceWorkMem = Math.min(kb(workload === "dw" ? limit / 8 : limit / 16), 2 * GiB);
  // Before 17, VACUUM stores at most 1GB of dead-tuple identifiers: more is never used.
  const autovacuumCap = version < 17 ? 1 * GiB : Number.POSITIVE_INFINITY;
  const autovacuumWorkMem = Math.min(maintenanceWorkMem, kb(limit / 64), autovacuumCap);
  const cores = Math.floor(input.cpus);
  const parallel = parallelSettings(cores, workload);
  // PGTune: (RAM − shared_buffers) / ((connections + worker processes) × 3), halved for mixed and
  // dw, a sixth for desktop, at least 64kB.
  const perConnection = (limit - sharedBuffers) / ((input.maxConnections + parallel.maxWorkerProcesses) * 3);
  const divisor = { web: 1, oltp: 1, dw: 2, mixed: 2, desktop: 6 }[workload];
  const pgtuneWorkMem = Math.max(64 * KiB, kb(perConnection / divisor));
  return {
    sharedBuffers,
    effectiveCacheSize,
    maintenanceWorkMem,
    autovacuumWorkMem,
    autovacuumWorkers: Math.min(6, Math.max(3, Math.floor(cores / 4))),
    walBuffers: pgtuneWalBuffers(sharedBuffers),
    hugePages: limit >= 32 * GiB ? "try" : "off",
    ...parallel,
    pgtuneWorkMem,
    // One sender per replica, two for a pg_basebackup streaming its WAL, one spare.
    maxWalSenders: input.replicas + 3,
    // One slot per replica, a pg_basebackup's temporary slot, one spare.
    maxReplicationSlots: input.replicas + 2,
  };
}

/** PGTune: 3% of shared_buffers, at most 16MB (rounded up from 14MB), at least 32kB. */
function pgtuneWalBuffers(sharedBuffers: number): number {
  let walBuffers = kb((3 * sharedBuffers) / 100);
  if (walBuffers > 14 * MiB) walBuffers = 16 * MiB;
  return Math.max(32 * KiB, walBuffers);
}

/**
 * PGTune from 4 CPUs: a worker per CPU, half of them (at most 4, except dw) per query. Below 4
 * PGTune keeps PostgreSQL's defaults (8 workers, 2 per query), which on 1–3 CPUs oversubscribe
 * them; pgstack gives 2–3 CPUs one worker per query, and a single CPU none (a worker would only
 * compete with its leader).
 */
function parallelSettings(cores: number, workload: Workload) {
  if (cores >= 4) {
    const perGather = Math.ceil(cores / 2);
    return {
      maxWorkerProcesses: cores,
      maxParallelWorkers: cores,
      maxParallelWorkersPerGather: workload === "dw" ? perGather : Math.min(perGather, 4),
      maxParallelMaintenanceWorkers: Math.min(perGather, 4),
    };
  }
  const some = cores >= 2;
  return {
    maxWorkerProcesses: 8,
    maxParallelWorkers: some ? cores : 0,
    maxParallelWorkersPerGather: some ? 1 : 0,
    maxParallelMaintenanceWorkers: some ? 1 : 0,
  };
}

/** PGTune's WAL sizes, bounded by the data volume (which also holds the WAL). */
export function walSizing(input: TuningInput) {
  const pgtune = WAL_SIZES[input.workload];
  const storage = size(input.storageBytes);
  const volumeBound = Math.max(128 * MiB, Math.floor((input.storageBytes * MAX_WAL_SHARE) / MiB) * MiB);
  const max = Math.min(pgtune.max, volumeBound);
  const min = Math.max(32 * MiB, Math.min(pgtune.min, Math.floor(max / 4 / MiB) * MiB));
  return {
    max,
    min,
    maxReason:
      max === pgtune.max
        ? `PGTune for ${input.workload}; within 10% of the ${storage} volume`
        : `10% of the ${storage} volume (PGTune's ${formatPgMemory(pgtune.max)} would crowd the data)`,
    minReason:
      min === pgtune.min
        ? `PGTune for ${input.workload}: WAL segments recycled rather than recreated`
        : `a quarter of max_wal_size (PGTune's ${formatPgMemory(pgtune.min)} exceeds the volume's share)`,
  };
}
