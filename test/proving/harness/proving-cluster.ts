import { type RestoreTarget, restoreCommand } from "../../../components/render/commands";
import { shellCommand } from "../../../components/render/shell-quote";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import { type CapturedStack, captureChanged, captureStack } from "./captured-stack";
import { dockerRuntime } from "./docker-platform";
import { kubernetesRuntime } from "./kubernetes-platform";
import { Member } from "./member";
import type { PlatformRuntime } from "./platform";
import { pollUntil } from "./poll";
import type { RunResult } from "./processes";
import { ProvingRun } from "./proving-run";

export type ProvingStackName = "dev" | "prod";

/** pg_stat_archiver, as the proofs read it. */
export interface ArchiverStats {
  readonly archivedCount: number;
  readonly failedCount: number;
  readonly lastArchivedWal: string | null;
  readonly lastFailedWal: string | null;
}

/** One backup set of `pgbackrest info --output=json`. */
export interface BackupInfo {
  readonly label: string;
  readonly type: "full" | "diff" | "incr";
  readonly error: boolean;
}

/**
 * A stack deployed the way its platform deploys it (see platform.ts), and what the proofs ask of
 * it: SQL, pgBackRest through the members' own commands, the archive's state, restored copies.
 */
export class ProvingCluster {
  readonly members: Readonly<Record<string, Member>>;

  private constructor(
    readonly runtime: PlatformRuntime,
    /** The program as captured for this run. */
    readonly captured: CapturedStack,
  ) {
    this.members = Object.fromEntries(
      Object.entries(runtime.members).map(([name, member]) => [
        name,
        new Member(member, runtime.spec, runtime),
      ]),
    );
  }

  /** Captures the stack's program under mocks and lays its platform's resources out, nothing started. */
  static async prepare(stack: ProvingStackName): Promise<ProvingCluster> {
    return ProvingCluster.lay(await captureStack(stack));
  }

  /**
   * The same stack with `config` changed (full keys, `pgstack:storageSize`), captured again and
   * laid out as a run of its own beside this one, nothing started: a proof of what a threshold
   * taken from the config does, without editing what the program renders.
   */
  static async prepareChanged(
    cluster: ProvingCluster,
    config: Readonly<Record<string, unknown>>,
  ): Promise<ProvingCluster> {
    return ProvingCluster.lay(await captureChanged(cluster.captured, config));
  }

  private static async lay(captured: CapturedStack): Promise<ProvingCluster> {
    const { stack } = captured;
    const { platform, network } = captured.spec;
    const podCidr =
      platform === "kubernetes" && network.clusterCidr !== "samenet" ? network.clusterCidr : undefined;
    const run = await ProvingRun.create(stack, podCidr);
    try {
      const runtime =
        captured.spec.platform === "docker"
          ? await dockerRuntime(captured, run)
          : await kubernetesRuntime(captured, run);
      return new ProvingCluster(runtime, captured);
    } catch (error) {
      await run.dispose();
      throw error;
    }
  }

  get spec(): ClusterSpec {
    return this.runtime.spec;
  }

  get primary(): Member {
    return this.members.primary;
  }

  get replicas(): Member[] {
    return Object.values(this.members).filter((member) => member !== this.primary);
  }

  get stanza(): string {
    return this.spec.archive.stanza;
  }

  /** The S3 stand-in, the primary from an empty volume, and the stack's archiving set-up. */
  async startPrimary(): Promise<void> {
    await this.runtime.deployPrimary();
  }

  /** A pgBackRest command of a member inside its container; throws with the output unless it exits 0. */
  async pgbackrest(member: Member, argv: readonly string[], timeoutMs = 180_000): Promise<RunResult> {
    return member.execOk(argv, { timeoutMs });
  }

  /** Backup sets in the repository (`info --output=json`), failing when the stanza reports an error. */
  async backups(): Promise<BackupInfo[]> {
    const result = await this.pgbackrest(this.primary, [...this.spec.commands.info, "--output=json"]);
    const stanzas = JSON.parse(result.stdout) as {
      name: string;
      status: { code: number; message: string };
      backup: { label: string; type: "full" | "diff" | "incr"; error?: boolean }[];
    }[];
    const stanza = stanzas.find((candidate) => candidate.name === this.stanza);
    if (!stanza) throw new Error(`stanza ${this.stanza} missing from info: ${result.stdout}`);
    // info exits 0 even when S3 is unreachable: the status code says whether it is healthy.
    if (stanza.status.code !== 0) throw new Error(`stanza ${this.stanza}: ${stanza.status.message}`);
    return stanza.backup.map((backup) => ({
      label: backup.label,
      type: backup.type,
      error: backup.error === true,
    }));
  }

  /** Names under a repository path (`pgbackrest repo-ls`). */
  async repoList(path: string): Promise<string[]> {
    const result = await this.pgbackrest(this.primary, [
      "pgbackrest",
      "repo-ls",
      ...this.spec.commands.info.slice(2).filter((arg) => !arg.startsWith("--stanza=")),
      path,
    ]);
    return result.stdout.split("\n").filter(Boolean);
  }

  /** The archive's WAL segments and history files of this stanza, across archive ids and timelines. */
  async archivedWal(): Promise<string[]> {
    const names: string[] = [];
    for (const archiveId of (await this.repoList(`archive/${this.stanza}`)).filter((name) =>
      /^\d+-\d+$/.test(name),
    )) {
      for (const entry of await this.repoList(`archive/${this.stanza}/${archiveId}`)) {
        if (entry.endsWith(".history")) names.push(entry);
        else if (/^[0-9A-F]{16}$/.test(entry)) {
          for (const file of await this.repoList(`archive/${this.stanza}/${archiveId}/${entry}`)) {
            names.push(file.slice(0, 24));
          }
        }
      }
    }
    return names.sort();
  }

  /** Ends the current WAL segment (its own statement: in one transaction with an insert it would switch first). */
  switchWal(member: Member = this.primary): Promise<string> {
    return member.sql("SELECT pg_walfile_name(pg_switch_wal())");
  }

  async archiver(member: Member = this.primary): Promise<ArchiverStats> {
    const row = await member.sql(
      "SELECT archived_count, failed_count, coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') FROM pg_stat_archiver",
    );
    const [archived, failed, lastArchived, lastFailed] = row.split("|");
    return {
      archivedCount: Number(archived),
      failedCount: Number(failed),
      lastArchivedWal: lastArchived || null,
      lastFailedWal: lastFailed || null,
    };
  }

  /** Polls until pg_stat_archiver reports `segment` (or a later one) archived. */
  waitArchived(segment: string, timeoutMs = 60_000, member: Member = this.primary): Promise<ArchiverStats> {
    return pollUntil(
      `WAL segment ${segment} to be archived`,
      async () => {
        const stats = await this.archiver(member);
        return stats.lastArchivedWal !== null && stats.lastArchivedWal.slice(8) >= segment.slice(8)
          ? stats
          : undefined;
      },
      { timeoutMs, intervalMs: 200, describe: async () => JSON.stringify(await this.archiver(member)) },
    );
  }

  /** A replica deployed by its platform: its own start command clones the primary into its empty volume. */
  async deployReplica(replica: Member): Promise<void> {
    await this.runtime.deployReplica(replica.name);
  }

  /** A scheduled backup and its verify, as the platform runs them; throws with the output on failure. */
  async scheduledBackup(kind: "full" | "diff"): Promise<RunResult> {
    const result = await this.runtime.scheduledBackup(kind);
    if (result.code !== 0)
      throw new Error(
        `scheduled ${kind} backup failed (exit ${result.code}):\n${result.stdout}${result.stderr}`,
      );
    return result;
  }

  /**
   * A restored copy, as an operator makes one: a container like the primary's with a fresh
   * volume and a host name of its own, running the rendered restore command (archiving off: a
   * copy must not push a new timeline into the stack's repository), then PostgreSQL; awaited
   * until recovery has finished.
   */
  async restoreCopy(name: string, target: RestoreTarget): Promise<{ copy: Member; restoreMs: number }> {
    const restore = restoreCommand(this.spec, target, { archiveMode: "off" });
    const runtime = await this.runtime.scratchMember(name, [
      "sh",
      "-c",
      `set -eu\n${shellCommand(restore)}\nexec ${shellCommand(this.spec.commands.postgres)}`,
    ]);
    const copy = new Member(runtime, this.spec, this.runtime);
    const started = Date.now();
    await copy.start({ timeoutMs: 300_000 });
    if (target.type !== "standby") await copy.waitFor("SELECT pg_is_in_recovery()", "f", 120_000);
    return { copy, restoreMs: Date.now() - started };
  }

  async dispose(options: { readonly keepFiles?: boolean } = {}): Promise<void> {
    await this.runtime.dispose(options);
  }
}
