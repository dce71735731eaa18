import type { ProvingCluster } from "../../test/proving/harness/proving-cluster";
import { processCpuSeconds, type RunCpu, runCpu, sampleRunCpu } from "./cpu";
import { pgbenchInit } from "./pgbench";
import { type BenchServer, baselinePgbackrest, baselineServer } from "./servers";

/**
 * What bounds the restore: the same data restored with one lever moved at a time. A server of
 * its own (initdb's settings plus pgstack's archiving, in a container like the primary's, in its
 * own repository path) holds a pgbench database; each lever takes a full backup with its
 * compression (the rendered lz4 once, shared by the rows that only change the restore), then
 * `pgbackrest restore` of that backup into an empty directory of the server's volume, timed on
 * its own (no recovery). The restore runs inside the server's container, so under its memory
 * limit, as the rendered restore runs in a new member.
 */
export interface Lever {
  readonly name: string;
  /** Which backup it restores: the rendered compression, another one, bundled, or a posix copy. */
  readonly backup: "rendered" | "none" | "zst" | "gz" | "bundle" | "posix";
  /** process-max of the restore. */
  readonly processMax: number;
  readonly why: string;
}

/** The rendered backup options, as pgbackrest.conf sets them (components/render/pgbackrest-conf.ts). */
export const RENDERED_COMPRESS = "lz4";

export function levers(cpus: number): Lever[] {
  return [
    {
      name: `as rendered (lz4, process-max ${cpus})`,
      backup: "rendered",
      processMax: cpus,
      why: "the control: the rendered restore (one process per CPU) of a backup with the rendered compression",
    },
    {
      name: "process-max 1",
      backup: "rendered",
      processMax: 1,
      why: "one process: one S3 request in flight at a time",
    },
    {
      name: `process-max ${cpus * 2}`,
      backup: "rendered",
      processMax: cpus * 2,
      why: "twice the CPUs: more S3 requests in flight than CPUs, for when round trips set the pace",
    },
    {
      name: "compress-type none",
      backup: "none",
      processMax: cpus,
      why: "no decompression, more bytes to fetch and decrypt",
    },
    {
      name: "compress-type zst (level 3, pgBackRest's default)",
      backup: "zst",
      processMax: cpus,
      why: "a higher ratio than lz4 at more CPU",
    },
    {
      name: "compress-type gz (level 6, pgBackRest's default)",
      backup: "gz",
      processMax: cpus,
      why: "pgBackRest's default compression",
    },
    {
      name: "repo1-bundle=y (lz4)",
      backup: "bundle",
      processMax: cpus,
      why: "small files bundled into larger objects: fewer S3 requests",
    },
    {
      name: "posix repository (lz4, same cipher)",
      backup: "posix",
      processMax: cpus,
      why: "the control for the S3 stand-in: the same backup read from a directory instead of over TLS from s3rver",
    },
  ];
}

export interface LeverResult {
  readonly lever: string;
  readonly why: string;
  readonly compressType: string;
  readonly processMax: number;
  /** Database bytes the backup holds, and what it took in the repository. */
  readonly databaseBytes: number;
  readonly repositoryBytes: number;
  readonly backupSeconds: number;
  readonly restoreSeconds: number;
  readonly mbPerSecond: number;
  readonly cpu: RunCpu;
  /** CPU seconds the S3 stand-in used per second of the restore. */
  readonly s3CpuPerSecond: number;
}

interface InfoBackup {
  label: string;
  info: { size: number; repository: { size: number } };
}

const POSIX_REPO = "bench-levers-posix-repo";
const RESTORE_DIR = "bench-levers-restore";

/** The levers' data set: a pgbench database of `scale` in a server of its own. */
export async function leverServer(
  cluster: ProvingCluster,
  scale: number,
  log: (line: string) => void,
): Promise<BenchServer> {
  const server = await baselineServer(cluster, "stock", {}, "levers");
  const initMs = await pgbenchInit(server, scale);
  log(`restore levers: pgbench -i -s ${scale} took ${(initMs / 1000).toFixed(1)} s`);
  return server;
}

/**
 * Every lever against the same data set; the server's memory cgroup and the S3 stand-in are the
 * same for all rows. Backups with the same options are shared; each restore starts from an empty
 * directory, removed again afterwards.
 */
export async function measureLevers(
  cluster: ProvingCluster,
  server: BenchServer,
  log: (line: string) => void,
): Promise<LeverResult[]> {
  const { layout } = cluster.spec;
  const s3 = baselinePgbackrest(cluster, "levers");
  // The posix rows replace the S3 repository's path (pgBackRest refuses an option given twice).
  const withoutPath = s3.filter((arg) => !arg.startsWith("--repo1-path="));
  const posixPath = `${layout.volumeDir}/${POSIX_REPO}`;
  // A lock path of its own: the server's async archive-push holds the stanza's archive lock in the
  // default one, and the posix repository is not where it pushes.
  const posix = [
    "--repo1-type=posix",
    `--repo1-path=${posixPath}`,
    "--lock-path=/tmp/pgbackrest-levers-posix",
  ];
  const target = `${layout.volumeDir}/${RESTORE_DIR}`;
  const backupOptions: Record<Lever["backup"], string[]> = {
    rendered: [],
    none: ["--compress-type=none"],
    zst: ["--compress-type=zst"],
    gz: ["--compress-type=gz"],
    bundle: ["--repo1-bundle"],
    // The server archives into the S3 repository only: the posix copy holds the files, not the WAL
    // a consistent start would need, which a timed restore does not start.
    posix: ["--no-archive-check"],
  };
  const compressOf = (backup: Lever["backup"]) =>
    backup === "none" || backup === "zst" || backup === "gz" ? backup : RENDERED_COMPRESS;

  await server.exec(["mkdir", "-p", "-m", "700", posixPath]);
  await server.exec([...withoutPath, ...posix, "stanza-create"], 300_000);
  const backups = new Map<Lever["backup"], { label: string; info: InfoBackup["info"]; seconds: number }>();
  const results: LeverResult[] = [];
  try {
    for (const lever of levers(cluster.spec.resources.cpus)) {
      const base = lever.backup === "posix" ? withoutPath : s3;
      const repo = lever.backup === "posix" ? posix : [];
      let backup = backups.get(lever.backup);
      if (!backup) {
        const started = Date.now();
        // Backups use the rendered process-max of the restore's CPUs, so a slow compression costs minutes, not tens.
        await server.exec(
          [
            ...base,
            ...repo,
            ...backupOptions[lever.backup],
            "backup",
            "--type=full",
            "--start-fast",
            `--process-max=${cluster.spec.resources.cpus}`,
          ],
          3_600_000,
        );
        const seconds = (Date.now() - started) / 1000;
        const info = JSON.parse((await server.exec([...base, ...repo, "info", "--output=json"])).stdout) as {
          backup: InfoBackup[];
        }[];
        const last = info[0]?.backup.at(-1);
        if (!last) throw new Error(`levers: no backup in the repository after ${lever.backup}`);
        backup = { label: last.label, info: last.info, seconds };
        backups.set(lever.backup, backup);
        log(
          `restore levers: ${lever.backup} backup ${backup.label}, ${(last.info.size / 1e6).toFixed(0)} MB in ${(last.info.repository.size / 1e6).toFixed(0)} MB, ${seconds.toFixed(1)} s`,
        );
      }
      await server.exec(["rm", "-rf", target]);
      await server.exec(["mkdir", "-m", "700", target]);
      const s3Pid = cluster.runtime.s3.pid;
      const s3Before = s3Pid === undefined ? 0 : processCpuSeconds(s3Pid);
      const cpuBefore = sampleRunCpu();
      const started = Date.now();
      await server.exec(
        [
          ...base,
          ...repo,
          "restore",
          `--pg1-path=${target}`,
          `--set=${backup.label}`,
          `--process-max=${lever.processMax}`,
          "--archive-mode=off",
        ],
        3_600_000,
      );
      const restoreSeconds = (Date.now() - started) / 1000;
      const cpu = runCpu(cpuBefore, sampleRunCpu());
      const s3Seconds = s3Pid === undefined ? 0 : processCpuSeconds(s3Pid) - s3Before;
      await server.exec(["rm", "-rf", target]);
      const result: LeverResult = {
        lever: lever.name,
        why: lever.why,
        compressType: compressOf(lever.backup),
        processMax: lever.processMax,
        databaseBytes: backup.info.size,
        repositoryBytes: backup.info.repository.size,
        backupSeconds: backup.seconds,
        restoreSeconds,
        mbPerSecond: backup.info.size / 1e6 / restoreSeconds,
        cpu,
        s3CpuPerSecond: s3Seconds / restoreSeconds,
      };
      results.push(result);
      log(
        `restore levers: ${lever.name}: ${restoreSeconds.toFixed(1)} s, ${result.mbPerSecond.toFixed(0)} MB/s, CPU ${cpu.busyPercent.toFixed(0)}% busy ${cpu.iowaitPercent.toFixed(0)}% iowait, s3rver ${result.s3CpuPerSecond.toFixed(2)} CPU-s/s`,
      );
    }
  } finally {
    await server.exec(["rm", "-rf", target, posixPath]).catch(() => undefined);
  }
  return results;
}
