import { dirname } from "node:path";
import { restoreCommand } from "../../components/render/commands";
import { pollUntil } from "../../test/proving/harness/poll";
import { run } from "../../test/proving/harness/processes";
import { type CpuShare, withCpu } from "./cpu";
import type { Member } from "./local-harness/member";
import type { ProvingCluster } from "./local-harness/proving-cluster";

/** Where the time of a transfer went: the machine's CPU and the S3 server's share of it. */
export interface TransferCpu {
  readonly machine: CpuShare;
  /** CPU seconds s3rver (one Node process) used per wall-clock second of the transfer. */
  readonly s3rverCpuPerSecond: number;
}

export interface BackupFigures {
  readonly label: string;
  /** Bytes of the database cluster the backup holds (pgBackRest info: size). */
  readonly databaseBytes: number;
  /** Bytes the backup took in the repository (compressed, encrypted). */
  readonly repositoryBytes: number;
  /** Wall-clock seconds of the runner's `backup --type=full`, start-fast checkpoint to archived stop WAL. */
  readonly seconds: number;
  readonly cpu: TransferCpu;
}

interface InfoBackup {
  label: string;
  type: string;
  info: { size: number; delta: number; repository: { size: number; delta: number } };
}

/** PID of this run's S3 server (found by its unique directory), for its CPU time. */
export async function s3rverPid(cluster: ProvingCluster): Promise<number | undefined> {
  const directory = dirname(cluster.local.s3.objectDirectory());
  const found = await run(["pgrep", "-f", "--", `s3rver.js --directory ${directory}`]);
  const pid = Number(found.stdout.trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * A full backup as the schedule runs it: the backup runner (repository host, its own OS user)
 * through the primary's pgBackRest TLS server, to S3 over TLS.
 */
export async function fullBackup(cluster: ProvingCluster): Promise<BackupFigures> {
  const spec = cluster.primary.spec;
  const s3 = await s3rverPid(cluster);
  const measured = await withCpu(() => cluster.runnerOk(spec.commands.runnerBackupFull, 3_600_000), s3);
  const info = await cluster.pgbackrest(cluster.primary, [...spec.commands.info, "--output=json"]);
  const stanza = (JSON.parse(info.stdout) as { name: string; backup: InfoBackup[] }[]).find(
    (candidate) => candidate.name === spec.archive.stanza,
  );
  const last = stanza?.backup.at(-1);
  if (last?.type !== "full") throw new Error(`no full backup in pgbackrest info: ${info.stdout}`);
  return {
    label: last.label,
    databaseBytes: last.info.size,
    repositoryBytes: last.info.repository.delta,
    seconds: measured.wallSeconds,
    cpu: { machine: measured.cpu, s3rverCpuPerSecond: measured.processSeconds / measured.wallSeconds },
  };
}

export interface RestoreFigures {
  readonly seconds: number;
  readonly cpu: TransferCpu;
  readonly processMax?: number;
}

/**
 * The rendered restore command into a new member of the stack, archiving off (a copy must not
 * push into the stack's repository), timed on its own; `extraArgs` replace rendered options for a diagnostic variant.
 */
export async function restoreInto(
  cluster: ProvingCluster,
  copy: Member,
  extraArgs: readonly string[] = [],
): Promise<RestoreFigures> {
  const s3 = await s3rverPid(cluster);
  // pgBackRest refuses an option given twice: a diagnostic argument replaces the rendered one.
  const replaced = new Set(extraArgs.map((arg) => arg.split("=")[0]));
  const rendered = restoreCommand(copy.spec, { type: "latest" }, { archiveMode: "off" });
  const argv = [...rendered.filter((arg) => !replaced.has(arg.split("=")[0])), ...extraArgs];
  const measured = await withCpu(() => cluster.pgbackrest(copy, argv, 3_600_000), s3);
  return {
    seconds: measured.wallSeconds,
    cpu: { machine: measured.cpu, s3rverCpuPerSecond: measured.processSeconds / measured.wallSeconds },
  };
}

/** Starts a restored copy and waits until recovery has replayed the archive and promoted it. */
export async function startRestored(copy: Member): Promise<void> {
  await copy.start({ timeoutMs: 600_000 });
  await pollUntil(
    `${copy.name} to finish recovery`,
    async () => ((await copy.sql("SELECT pg_is_in_recovery()")) === "f" ? true : undefined),
    { timeoutMs: 600_000, intervalMs: 250 },
  );
}
