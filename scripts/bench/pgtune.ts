/**
 * PGTune's postgresql.conf for given inputs, reproduced independently from le0pard/pgtune
 * (src/features/configuration/configurationSlice.js and src/common/components/configurationView,
 * at commit 830d3bb of 2026-06-09; re-read for issue 16 in the stored copy with the "database size
 * vs RAM" question, whose work_mem factors and io_workers are reproduced here) so the benchmark compares
 * pgstack with what PGTune itself prints today, not with pgstack's reading of it. Linux only (the
 * benchmark's platform); the inputs are the ones PGTune's form asks for.
 */

export type PgtuneWorkload = "web" | "oltp" | "dw" | "desktop" | "mixed";
export type PgtuneStorage = "ssd" | "hdd" | "san" | "nvme";
/** PGTune's "database size vs RAM" question (its default is mid_ram). */
export type PgtuneDbSize = "less_ram" | "mid_ram" | "greater_ram";

export interface PgtuneInput {
  readonly version: number;
  readonly workload: PgtuneWorkload;
  readonly memoryBytes: number;
  readonly cpus: number;
  /** Optional in PGTune's form; its per-workload default when absent. */
  readonly connections?: number;
  readonly storage: PgtuneStorage;
  readonly dbSize: PgtuneDbSize;
}

export interface PgtuneLine {
  readonly name: string;
  readonly value: string;
}

const KB_PER_MB = 1024;
const KB_PER_GB = 1024 * 1024;

/** PGTune's display: GB or MB when exact, kB otherwise. */
function formatKb(kb: number): string {
  if (kb % KB_PER_GB === 0) return `${kb / KB_PER_GB}GB`;
  if (kb % KB_PER_MB === 0) return `${kb / KB_PER_MB}MB`;
  return `${kb}kB`;
}

const DEFAULT_CONNECTIONS: Readonly<Record<PgtuneWorkload, number>> = {
  web: 200,
  oltp: 300,
  dw: 40,
  desktop: 20,
  mixed: 100,
};

/** min_wal_size / max_wal_size in MB per workload. */
const WAL_SIZES_MB: Readonly<Record<PgtuneWorkload, readonly [number, number]>> = {
  web: [1024, 4096],
  oltp: [2048, 8192],
  dw: [4096, 16384],
  desktop: [100, 2048],
  mixed: [1024, 4096],
};

const IO_CONCURRENCY: Readonly<Record<PgtuneStorage, number>> = { hdd: 2, ssd: 200, san: 300, nvme: 1000 };

/** The lines PGTune prints, in its order, without the ones it leaves out for these inputs. */
export function pgtuneConfig(input: PgtuneInput): PgtuneLine[] {
  const { workload, version, cpus } = input;
  const memoryKb = Math.floor(input.memoryBytes / 1024);
  const connections = input.connections ?? DEFAULT_CONNECTIONS[workload];
  const desktop = workload === "desktop";

  const sharedBuffers = Math.floor(desktop ? memoryKb / 16 : memoryKb / 4);
  const effectiveCacheSize = Math.floor(desktop ? memoryKb / 4 : (memoryKb * 3) / 4);
  const maintenanceWorkMem = Math.min(
    Math.floor(workload === "dw" ? memoryKb / 8 : memoryKb / 16),
    8 * KB_PER_GB,
  );

  // 3% of shared_buffers, at most 16MB; rounded up to 16MB from above 14MB; at least 32kB.
  let walBuffers = Math.min(Math.floor((3 * sharedBuffers) / 100), 16 * KB_PER_MB);
  if (walBuffers > 14 * KB_PER_MB && walBuffers < 16 * KB_PER_MB) walBuffers = 16 * KB_PER_MB;
  walBuffers = Math.max(walBuffers, 32);

  // A database that fits in RAM is read from the page cache: seeks do not matter. Otherwise HDD
  // pays for seeks, and a data warehouse keeps the default so large scans stay sequential.
  const randomPageCost =
    input.dbSize === "less_ram" ? 1.1 : input.storage === "hdd" || workload === "dw" ? 4 : 1.1;

  // Parallel settings only from 4 CPUs; PostgreSQL's defaults below.
  const parallel: PgtuneLine[] = [];
  let workersForWorkMem = 8;
  if (cpus >= 4) {
    const perGather = workload === "dw" ? Math.ceil(cpus / 2) : Math.min(Math.ceil(cpus / 2), 4);
    parallel.push({ name: "max_worker_processes", value: String(cpus) });
    parallel.push({ name: "max_parallel_workers_per_gather", value: String(perGather) });
    if (version >= 10) parallel.push({ name: "max_parallel_workers", value: String(cpus) });
    if (version >= 11) {
      parallel.push({
        name: "max_parallel_maintenance_workers",
        value: String(Math.min(Math.ceil(cpus / 2), 4)),
      });
    }
    workersForWorkMem = cpus;
  }

  // (RAM − shared_buffers) / ((connections + worker processes) × 3), divided for mixed, dw and
  // desktop, × 1.3 when the database fits in RAM, × 0.9 when it is much larger, at least 4MB.
  const perConnection = (memoryKb - sharedBuffers) / ((connections + workersForWorkMem) * 3);
  const divisor = { web: 1, oltp: 1, dw: 2, mixed: 2, desktop: 6 }[workload];
  let workMem = Math.floor(perConnection / divisor);
  if (input.dbSize === "less_ram") workMem = Math.floor(workMem * 1.3);
  else if (input.dbSize === "greater_ram") workMem = Math.floor(workMem * 0.9);
  workMem = Math.max(workMem, 4 * KB_PER_MB);

  const hugePages = sharedBuffers >= 2 * KB_PER_GB ? "try" : "off";
  const jit =
    version >= 12 && (workload === "web" || workload === "oltp" || workload === "mixed") ? "off" : null;
  const walCompression = version >= 15 ? "lz4" : version >= 10 ? "on" : null;
  const autovacuumMaxWorkers = cpus >= 32 ? 5 : cpus >= 16 ? 4 : null;
  const autovacuumWorkMem = maintenanceWorkMem >= 2 * KB_PER_GB ? 2 * KB_PER_GB : null;
  const ioMethod = version >= 18 ? "io_uring" : null;
  // PostgreSQL 18's asynchronous I/O workers: a quarter of the CPUs, written only above the default 3.
  const ioWorkers =
    version >= 18 && Math.min(32, Math.floor(cpus / 4)) > 3 ? Math.min(32, Math.floor(cpus / 4)) : null;
  const [minWal, maxWal] = WAL_SIZES_MB[workload];

  const lines: [string, string | number | null][] = [
    ["max_connections", connections],
    ["shared_buffers", formatKb(sharedBuffers)],
    ["effective_cache_size", formatKb(effectiveCacheSize)],
    ["maintenance_work_mem", formatKb(maintenanceWorkMem)],
    ["checkpoint_completion_target", 0.9],
    ["wal_buffers", formatKb(walBuffers)],
    ["default_statistics_target", workload === "dw" ? 500 : 100],
    ["random_page_cost", randomPageCost],
    ["effective_io_concurrency", IO_CONCURRENCY[input.storage]],
    ["work_mem", formatKb(workMem)],
    ["huge_pages", hugePages],
    ["jit", jit],
    ["wal_compression", walCompression],
    ["autovacuum_max_workers", autovacuumMaxWorkers],
    ["autovacuum_work_mem", autovacuumWorkMem === null ? null : formatKb(autovacuumWorkMem)],
    ["io_method", ioMethod],
    ["io_workers", ioWorkers],
    ["min_wal_size", formatKb(minWal * KB_PER_MB)],
    ["max_wal_size", formatKb(maxWal * KB_PER_MB)],
  ];
  const out: PgtuneLine[] = lines
    .filter((line): line is [string, string | number] => line[1] !== null)
    .map(([name, value]) => ({ name, value: String(value) }));
  out.push(...parallel);
  if (desktop) out.push({ name: "wal_level", value: "minimal" }, { name: "max_wal_senders", value: "0" });
  return out;
}

/** The block as PGTune prints it (its header comments, then `name = value` lines). */
export function renderPgtune(input: PgtuneInput, lines: readonly PgtuneLine[]): string {
  const gib = input.memoryBytes / (1024 * KB_PER_MB * 1024);
  const header = [
    `# DB Version: ${input.version}`,
    "# OS Type: linux",
    `# DB Type: ${input.workload}`,
    `# Total Memory (RAM): ${gib} GB`,
    `# CPUs num: ${input.cpus}`,
    ...(input.connections === undefined ? [] : [`# Connections num: ${input.connections}`]),
    `# Data Storage: ${input.storage}`,
  ];
  return [...header, "", ...lines.map((line) => `${line.name} = ${line.value}`), ""].join("\n");
}
