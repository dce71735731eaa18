import type { StorageMedium, Workload } from "../config/stack-config";
import type { TuningInput } from "./tuning";
import { formatPgMemory, formatQuantity, GiB, KiB, MiB } from "./units";

/**
 * The resource formulas: PGTune's (le0pard/pgtune, src/features/configuration/
 * configurationSlice.js, re-read at the version with the "database size vs RAM" question, io_method
 * and the 4MB work_mem floor; scripts/bench/pgtune.ts reproduces it line by line) for the same inputs, with the container's memory limit as "total
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

/** PGTune's random_page_cost (before the database-size rule) and effective_io_concurrency per medium. */
export const STORAGE_COSTS: Readonly<
  Record<StorageMedium, { readonly randomPageCost: number; readonly ioConcurrency: number }>
> = {
  ssd: { randomPageCost: 1.1, ioConcurrency: 200 },
  nvme: { randomPageCost: 1.1, ioConcurrency: 1000 },
  san: { randomPageCost: 1.1, ioConcurrency: 300 },
  hdd: { randomPageCost: 4, ioConcurrency: 2 },
};

/**
 * PGTune's "database size vs RAM" answer, which pgstack derives instead of asking: a data
 * volume no larger than the memory limit cannot hold a database that outgrows the page cache
 * (less_ram); otherwise PGTune's own default, mid_ram. pgstack never answers greater_ram: the
 * volume is sized for growth, not for today's data.
 */
export type DatabaseSize = "less_ram" | "mid_ram";

export function databaseSize(input: Pick<TuningInput, "storageBytes" | "memoryLimitBytes">): DatabaseSize {
  return input.storageBytes <= input.memoryLimitBytes ? "less_ram" : "mid_ram";
}

/**
 * PGTune: 1.1 when the database fits in memory (reads are served by the page cache), 4 on hdd
 * (a seek), 4 for dw (large scans must stay sequential rather than become index scans), else 1.1.
 */
export function randomPageCost(
  input: Pick<TuningInput, "storageBytes" | "memoryLimitBytes" | "storageMedium" | "workload">,
): number {
  if (databaseSize(input) === "less_ram") return 1.1;
  if (input.storageMedium === "hdd" || input.workload === "dw") return 4;
  return STORAGE_COSTS[input.storageMedium].randomPageCost;
}

/** What the resource formulas decide before overrides; all sizes in bytes (whole kB). */
export interface BaseTuning {
  readonly sharedBuffers: number;
  readonly effectiveCacheSize: number;
  readonly maintenanceWorkMem: number;
  readonly autovacuumWorkMem: number;
  readonly autovacuumWorkers: number;
  readonly walBuffers: number;
  readonly maxWorkerProcesses: number;
  readonly maxParallelWorkers: number;
  readonly maxParallelWorkersPerGather: number;
  readonly maxParallelMaintenanceWorkers: number;
  readonly maxWalSenders: number;
  readonly maxReplicationSlots: number;
}

export const HASH_MEM_MULTIPLIER = 2;

/** PGTune's work_mem floor (PostgreSQL's default): below it simple sorts spill to disk. */
export const PGTUNE_WORK_MEM_FLOOR = 4 * MiB;

/**
 * PGTune's work_mem: (RAM − shared_buffers) / ((connections + worker processes) × 3), halved for
 * mixed and dw, a sixth for desktop, × 1.3 when the database fits in memory, at least 4MB.
 */
export function pgtuneWorkMem(input: TuningInput, connections: number, maxWorkerProcesses: number): number {
  const { workload, memoryLimitBytes: limit } = input;
  const sharedBuffers = kb(workload === "desktop" ? limit / 16 : limit / 4);
  const perConnection = (limit - sharedBuffers) / ((connections + maxWorkerProcesses) * 3);
  const divisor = { web: 1, oltp: 1, dw: 2, mixed: 2, desktop: 6 }[workload];
  const boost = databaseSize(input) === "less_ram" ? 1.3 : 1;
  return Math.max(PGTUNE_WORK_MEM_FLOOR, kb((perConnection / divisor) * boost));
}
export const kb = (bytes: number) => Math.floor(bytes / KiB) * KiB;
/** A size for a reason line: `8GiB`, `512MiB`. */
export const size = (bytes: number) => `${formatQuantity(kb(bytes))}B`;

export function baseTuning(input: TuningInput): BaseTuning {
  const { workload, memoryLimitBytes: limit, version } = input;
  const desktop = workload === "desktop";
  const sharedBuffers = kb(desktop ? limit / 16 : limit / 4);
  const effectiveCacheSize = kb(desktop ? limit / 4 : (limit * 3) / 4);
  const maintenanceWorkMem = Math.min(
    kb(workload === "dw" ? limit / 8 : limit / 16),
    MAINTENANCE_WORK_MEM_CAP,
  );
  // PGTune leaves autovacuum_work_mem at -1 (maintenance_work_mem) below 2GB: each worker could
  // then hold 1/16 of the limit. pgstack gives each 1/64, PGTune's 2GB cap above; before 17,
  // VACUUM stores at most 1GB of dead-tuple identifiers: more is never used.
  const autovacuumCap = version < 17 ? 1 * GiB : AUTOVACUUM_WORK_MEM_CAP;
  const autovacuumWorkMem = Math.min(maintenanceWorkMem, kb(limit / 64), autovacuumCap);
  const cores = Math.floor(input.cpus);
  const parallel = parallelSettings(cores, workload);
  return {
    sharedBuffers,
    effectiveCacheSize,
    maintenanceWorkMem,
    autovacuumWorkMem,
    autovacuumWorkers: pgtuneAutovacuumWorkers(cores),
    walBuffers: pgtuneWalBuffers(sharedBuffers),
    ...parallel,
    // One sender per replica, two for a pg_basebackup streaming its WAL, one spare.
    maxWalSenders: input.replicas + 3,
    // One slot per replica, a pg_basebackup's temporary slot, one spare.
    maxReplicationSlots: input.replicas + 2,
  };
}

/** PGTune's cap of maintenance_work_mem (Linux): CREATE INDEX and manual VACUUM use up to it. */
export const MAINTENANCE_WORK_MEM_CAP = 8 * GiB;
/** PGTune's cap of autovacuum_work_mem, so that its workers do not each hold 8GB. */
export const AUTOVACUUM_WORK_MEM_CAP = 2 * GiB;

/** PGTune: PostgreSQL's 3 workers, 4 from 16 CPUs, 5 from 32. */
function pgtuneAutovacuumWorkers(cores: number): number {
  return cores >= 32 ? 5 : cores >= 16 ? 4 : 3;
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
