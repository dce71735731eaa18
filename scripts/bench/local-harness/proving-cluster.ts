import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import {
  type RestoreTarget,
  replicaBootstrapCommand,
  restoreCommand,
} from "../../../components/render/commands";
import { SECRET_FILES } from "../../../components/render/secret-files";
import { pollUntil } from "../../../test/proving/harness/poll";
import {
  describeFailure,
  type RunResult,
  run,
  type Supervised,
} from "../../../test/proving/harness/processes";
import type { LocalStack } from "./local-stack";
import type { Member } from "./member";

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
 * A running local cluster of one stack: S3, the primary (initialised as the image does it), the
 * pgBackRest TLS server for the backup runner, replicas bootstrapped by the rendered script, and
 * restored copies. Every step runs the spec's rendered commands; failures carry their output.
 */
export class ProvingCluster {
  private backupServer: Supervised | undefined;

  constructor(readonly local: LocalStack) {}

  get primary(): Member {
    return this.local.primary;
  }

  get stanza(): string {
    return this.local.specs.primary.archive.stanza;
  }

  /** S3, then the primary: initdb, start (integrity check first), stanza, roles and database. */
  async startPrimary(): Promise<void> {
    await this.local.s3.start();
    await this.initdb(this.primary);
    await this.primary.start();
    await this.pgbackrest(this.primary, this.primary.spec.commands.stanzaCreate);
    const layout = this.primary.spec.layout;
    await this.primary.execOk(["sh", join(layout.configDir, "init-roles.sh")]);
  }

  /**
   * initdb as the official image runs it for a first start: the superuser's password from its
   * secret file, data checksums on. Configuration comes from the rendered files, not from here.
   */
  async initdb(member: Member): Promise<RunResult> {
    const layout = member.spec.layout;
    return member.execOk([
      "initdb",
      "-D",
      layout.dataDir,
      `--username=${member.spec.postgres.superuser}`,
      `--pwfile=${join(layout.secretsDir, SECRET_FILES.superuserPassword)}`,
      "--auth-local=peer",
      "--auth-host=scram-sha-256",
      "--data-checksums",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
    ]);
  }

  /** A pgBackRest command of a member, as its OS user; throws with the output unless it exits 0. */
  async pgbackrest(member: Member, argv: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
    return member.execOk(argv, timeoutMs);
  }

  /** The rendered pgBackRest TLS server on the primary, for the backup runner. */
  async startBackupServer(): Promise<void> {
    const spec = this.primary.spec;
    this.backupServer = this.local.supervisor.start("pgbackrest-server", spec.commands.pgbackrestServer, {
      user: this.local.postgresUser,
      env: this.local.archiveEnv,
    });
    const proc = this.backupServer;
    await pollUntil("the pgBackRest TLS server to listen", async () => {
      if (!proc.running()) throw new Error(`pgbackrest server exited: ${proc.log()}`);
      return (await tcpOpen(spec.layout.pgbackrestServerPort)) ? true : undefined;
    });
  }

  /** A command of the backup runner (the repository host), as its own OS user. */
  runner(argv: readonly string[], timeoutMs = 180_000): Promise<RunResult> {
    return run(argv, { user: this.local.runnerUser, env: this.local.archiveEnv, timeoutMs });
  }

  async runnerOk(argv: readonly string[], timeoutMs = 180_000): Promise<RunResult> {
    const result = await this.runner(argv, timeoutMs);
    if (result.code !== 0) throw new Error(describeFailure(result));
    return result;
  }

  /** Backup sets in the repository (`info --output=json`), failing when the stanza reports an error. */
  async backups(): Promise<BackupInfo[]> {
    const result = await this.pgbackrest(this.primary, [...this.primary.spec.commands.info, "--output=json"]);
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
      ...this.primary.spec.commands.info.slice(2).filter((arg) => !arg.startsWith("--stanza=")),
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
  async switchWal(member: Member = this.primary): Promise<string> {
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
  async waitArchived(
    segment: string,
    timeoutMs = 60_000,
    member: Member = this.primary,
  ): Promise<ArchiverStats> {
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

  /** WAL segments PostgreSQL still has to archive (archive_status/*.ready). */
  async pendingWal(member: Member = this.primary): Promise<string[]> {
    const status = join(member.dataDir, "pg_wal", "archive_status");
    return (await readdir(status)).filter((name) => name.endsWith(".ready")).map((name) => name.slice(0, -6));
  }

  /** The rendered bootstrap script of a replica (empty data dir → streaming standby), then its start. */
  async bootstrapReplica(replica: Member): Promise<RunResult> {
    const result = await replica.execOk(replicaBootstrapCommand(replica.spec, replica.name), 180_000);
    await replica.start();
    return result;
  }

  /**
   * A restored copy: a new member of the stack with its own port and data directory, restored by
   * the rendered restore command with archiving off (a copy must not push a new timeline into the
   * stack's repository), then started and awaited until recovery has finished.
   */
  async restoreCopy(name: string, target: RestoreTarget): Promise<{ copy: Member; restore: RunResult }> {
    const copy = await this.local.addMember(name);
    const restore = await this.pgbackrest(
      copy,
      restoreCommand(copy.spec, target, { archiveMode: "off" }),
      300_000,
    );
    await copy.start({ timeoutMs: 120_000 });
    if (target.type !== "standby") {
      await pollUntil(`${name} to finish recovery`, async () =>
        (await copy.sql("SELECT pg_is_in_recovery()")) === "f" ? true : undefined,
      );
    }
    return { copy, restore };
  }

  async stop(): Promise<void> {
    await this.local.dispose();
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
