import { rm } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { run, runOk } from "../../test/proving/harness/processes";
import { median } from "./stats";

const PROJECT_DIR = resolve(__dirname, "../..");

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly kernel: string;
  /** Device, filesystem and size of the filesystem holding the benchmark's data directories. */
  readonly disk: string;
  readonly loadAverage: readonly number[];
}

export interface Versions {
  readonly postgres: string;
  readonly pgbench: string;
  readonly pgbackrest: string;
  readonly node: string;
  readonly pgstackCommit: string;
}

export async function describeMachine(dataRoot: string): Promise<Machine> {
  const mount = await run(["findmnt", "-n", "-o", "SOURCE,FSTYPE,SIZE,OPTIONS", "-T", dataRoot]);
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryBytes: totalmem(),
    kernel: release(),
    disk: mount.code === 0 ? mount.stdout.trim().replace(/\s+/g, " ") : "unknown (findmnt failed)",
    loadAverage: loadavg(),
  };
}

const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";

export async function versions(): Promise<Versions> {
  const postgres = await runOk(["postgres", "--version"]);
  const pgbench = await runOk(["pgbench", "--version"]);
  const pgbackrest = await runOk(["pgbackrest", "version"]);
  const head = await runOk(["git", "-C", PROJECT_DIR, "rev-parse", "--short=12", "HEAD"]);
  // The bench's own outputs (a previous run's report and charts) are not changes to what it measures.
  const status = await runOk([
    "git",
    "-C",
    PROJECT_DIR,
    "status",
    "--porcelain",
    "--",
    ".",
    ":(exclude)BENCHMARKS.md",
    ":(exclude)docs/bench",
  ]);
  return {
    postgres: firstLine(postgres.stdout),
    pgbench: firstLine(pgbench.stdout),
    pgbackrest: firstLine(pgbackrest.stdout),
    node: process.version,
    pgstackCommit: `${head.stdout.trim()}${status.stdout.trim() ? " + uncommitted changes in the working tree" : ""}`,
  };
}

export interface DiskWrite {
  readonly method: string;
  /** MB/s (10^6 bytes per second) of each attempt and their median. */
  readonly attempts: readonly number[];
  readonly mbPerSecond: number;
}

/**
 * The disk's sequential write speed where the data directories live: dd of 1 GiB in 1 MiB blocks
 * with conv=fdatasync, so the figure includes getting the data onto the device, not into the page
 * cache (fio is not installed here). Median of three.
 */
export async function diskSequentialWrite(dir: string, attempts = 3, mebibytes = 1024): Promise<DiskWrite> {
  const file = join(dir, "dd-sequential-write.tmp");
  const speeds: number[] = [];
  try {
    for (let i = 0; i < attempts; i++) {
      const started = process.hrtime.bigint();
      await runOk(
        ["dd", "if=/dev/zero", `of=${file}`, "bs=1M", `count=${mebibytes}`, "conv=fdatasync", "status=none"],
        { timeoutMs: 600_000 },
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      speeds.push((mebibytes * 1024 * 1024) / 1e6 / seconds);
      await rm(file, { force: true });
    }
  } finally {
    await rm(file, { force: true });
  }
  return {
    method: `dd if=/dev/zero bs=1M count=${mebibytes} conv=fdatasync (fio not installed), median of ${attempts}`,
    attempts: speeds,
    mbPerSecond: median(speeds),
  };
}
