import type { MemoryBudget } from "./cluster-spec";
import { KiB, MiB } from "./units";

/**
 * The worst case of a PostgreSQL container under full load, term by term, against its memory
 * limit. The kernel OOM-kills a container at its cgroup limit, and everything below is charged
 * to that cgroup and cannot be reclaimed while in use (page cache can, so effective_cache_size
 * is not a term).
 */

/**
 * The smallest work_mem pgstack accepts. PostgreSQL allows 64kB, but then a hash join over a
 * table of ten thousand rows already spills to temp files on the volume that also holds the WAL.
 * 1MB keeps the sorts and hashes of ordinary OLTP queries in memory; a configuration that only
 * fits below it needs more memory or fewer connections (a pooler), and pgstack refuses it.
 */
export const MIN_WORK_MEM_BYTES = 1 * MiB;

/**
 * PostgreSQL's own default work_mem, and PGTune's floor. Between MIN_WORK_MEM_BYTES and this,
 * pgstack still plans the cluster but warns: the limit, not the workload, decided work_mem.
 */
export const DEFAULT_WORK_MEM_BYTES = 4 * MiB;

/**
 * Share of the limit pgstack's own sizing leaves unallocated: the worst case it plans is at most
 * 90% of the limit. The cgroup is also charged for the page cache of WAL and temp files being
 * written (reclaimable only once written back) and for memory the allocator keeps after a
 * query frees it; filling the budget to the byte would leave none for them. Overrides are
 * checked against the limit itself: the operator's explicit choice may spend the headroom.
 */
export const HEADROOM_SHARE = 0.1;

export function headroomBytes(limitBytes: number): number {
  return Math.ceil((limitBytes * HEADROOM_SHARE) / KiB) * KiB;
}

/**
 * Memory of the processes the settings do not cover: the postmaster, checkpointer, background
 * writer, WAL writer, autovacuum launcher, archiver and stats (about 32MiB together), and the
 * pgBackRest archive-push/archive-get processes the archiver and recovery start (about 32MiB
 * with their I/O buffers).
 */
export const FIXED_OVERHEAD_BYTES = 64 * MiB;

/**
 * Private memory of each backend beyond work_mem: catalog and relation caches, plan caches,
 * stack and its share of the lock and process tables. Calibrated by the full-load proof (proof
 * 13 on the dev stack: 2GiB limit, 50 connections, work_mem 9039kB): 46 sessions sorting and
 * hashing past work_mem peaked at 1656MiB in the member's cgroup, 0 OOM kills. Even if all of
 * shared_buffers (512MiB) and wal_buffers (16MiB) were charged and every session and parallel
 * worker held 2 × work_mem (847MiB), the 61 processes and the 64MiB fixed overhead held at most
 * 217MiB: 3.5MiB per process, of which 1MiB is page tables for shared memory. 2.5MiB private is
 * that upper bound; large schemas hold more (raise memoryLimit, or lower maxConnections).
 * Re-measured with it and the 10% headroom (work_mem 7853kB): peak 1566MiB of 2048MiB, 0 OOM
 * kills, where the budget plans 1843MiB; at the peak the cgroup held 917MiB of anonymous memory,
 * 111MiB of touched shared memory and 464MiB of reclaimable page cache.
 */
export const BACKEND_PRIVATE_BYTES = 2.5 * MiB;

/** One page-table entry (x86-64 and arm64). */
const PAGE_TABLE_ENTRY_BYTES = 8;
const SMALL_PAGE_BYTES = 4 * KiB;
const HUGE_PAGE_BYTES = 2 * MiB;

/** Settings that decide the worst case, as PostgreSQL will run them (after overrides). */
export interface MemoryTerms {
  readonly limitBytes: number;
  readonly sharedBuffersBytes: number;
  readonly walBuffersBytes: number;
  readonly workMemBytes: number;
  readonly hashMemMultiplier: number;
  readonly maxConnections: number;
  readonly maxWorkerProcesses: number;
  readonly maxParallelWorkers: number;
  readonly autovacuumWorkers: number;
  readonly autovacuumWorkMemBytes: number;
  readonly maintenanceWorkMemBytes: number;
  readonly maxWalSenders: number;
  /** huge_pages=on: shared memory is mapped with 2MiB pages (try may fall back to 4kB pages). */
  readonly hugePages: boolean;
}

/**
 * Page tables one process needs to map all of shared memory. Every backend that has touched
 * every shared buffer holds its own copy: with 4kB pages that is shared_buffers / 512 each,
 * 4MiB per backend for 2GiB of shared_buffers. The cgroup is charged for it; huge pages cut it
 * 512-fold, which is why PGTune turns them on for large memory.
 */
export function pageTableBytes(sharedMemoryBytes: number, hugePages: boolean): number {
  const page = hugePages ? HUGE_PAGE_BYTES : SMALL_PAGE_BYTES;
  return Math.ceil(sharedMemoryBytes / page) * PAGE_TABLE_ENTRY_BYTES;
}

/** Processes that each map shared memory and hold backend-private memory. */
export function processCount(terms: MemoryTerms): number {
  return terms.maxConnections + terms.maxWorkerProcesses + terms.autovacuumWorkers + terms.maxWalSenders;
}

/**
 * Backends that can each hold work_mem × hash_mem_multiplier at once: every connection and
 * every parallel worker (a parallel hash or sort gives each worker its own work_mem).
 */
export function workMemHolders(terms: MemoryTerms): number {
  return terms.maxConnections + terms.maxParallelWorkers;
}

export function overheadBytes(terms: MemoryTerms): number {
  const perProcess =
    BACKEND_PRIVATE_BYTES + pageTableBytes(terms.sharedBuffersBytes + terms.walBuffersBytes, terms.hugePages);
  return FIXED_OVERHEAD_BYTES + processCount(terms) * perProcess;
}

/**
 * total = shared_buffers + wal_buffers + (connections + parallel workers) × work_mem ×
 * hash_mem_multiplier + autovacuum workers × autovacuum_work_mem + maintenance_work_mem +
 * overhead. One maintenance operation (CREATE INDEX, manual VACUUM) runs beside the autovacuum
 * workers; more concurrent ones are the operator's explicit choice.
 */
export function computeMemoryBudget(terms: MemoryTerms): MemoryBudget {
  const headroom = headroomBytes(terms.limitBytes);
  const connections = workMemHolders(terms);
  const overhead = overheadBytes(terms);
  const totalBytes = Math.ceil(
    terms.sharedBuffersBytes +
      terms.walBuffersBytes +
      connections * terms.workMemBytes * terms.hashMemMultiplier +
      terms.autovacuumWorkers * terms.autovacuumWorkMemBytes +
      terms.maintenanceWorkMemBytes +
      overhead,
  );
  return {
    limitBytes: terms.limitBytes,
    sharedBuffersBytes: terms.sharedBuffersBytes,
    walBuffersBytes: terms.walBuffersBytes,
    workMemBytes: terms.workMemBytes,
    hashMemMultiplier: terms.hashMemMultiplier,
    connections,
    autovacuumWorkers: terms.autovacuumWorkers,
    autovacuumWorkMemBytes: terms.autovacuumWorkMemBytes,
    maintenanceWorkMemBytes: terms.maintenanceWorkMemBytes,
    overheadBytes: overhead,
    totalBytes,
    headroomBytes: headroom,
    fits: totalBytes <= terms.limitBytes,
    keepsHeadroom: totalBytes + headroom <= terms.limitBytes,
  };
}

/**
 * The largest work_mem (whole kB) that keeps the budget under the limit, less the headroom when
 * `keepHeadroom` (pgstack's own sizing); may be below the minimum or negative.
 */
export function largestFittingWorkMem(terms: MemoryTerms, keepHeadroom = false): number {
  const rest = computeMemoryBudget({ ...terms, workMemBytes: 0 }).totalBytes;
  const available = terms.limitBytes - (keepHeadroom ? headroomBytes(terms.limitBytes) : 0);
  const perKiB = workMemHolders(terms) * terms.hashMemMultiplier * KiB;
  return Math.floor((available - rest) / perKiB) * KiB;
}

/** Integer-valued terms a fix can name; the budget grows with each of them. */
export type MemoryTermName = {
  [K in keyof MemoryTerms]: MemoryTerms[K] extends number ? K : never;
}[Exclude<keyof MemoryTerms, "limitBytes">];

/**
 * The largest value of one term, in steps of `step`, that keeps everything else as it is and
 * the budget under the limit; undefined when even the smallest step does not fit.
 */
export function largestFitting(terms: MemoryTerms, term: MemoryTermName, step: number): number | undefined {
  const fits = (steps: number) => computeMemoryBudget({ ...terms, [term]: steps * step }).fits;
  let low = 0;
  let high = Math.max(1, Math.ceil(terms[term] / step));
  if (fits(high)) return high * step;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle;
  }
  return low > 0 ? low * step : undefined;
}
