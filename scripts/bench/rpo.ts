import { rm } from "node:fs/promises";
import { Client } from "pg";
import { type RestoreFigures, restoreInto, startRestored } from "./backup-restore";
import type { ProvingCluster } from "./local-harness/proving-cluster";
import { BENCH_DATABASE, memberSql } from "./servers";

const TABLE = "rpo_commits";

export interface RpoFigures {
  /** Commits the writer saw acknowledged before the primary was destroyed. */
  readonly acknowledged: number;
  /** Acknowledged commits the copy restored from S3 alone holds. */
  readonly restored: number;
  readonly lost: number;
  /** Seconds of acknowledged commits missing: from the last restored commit's acknowledgement to the last acknowledgement. */
  readonly lostSeconds: number;
  readonly writerRate: number;
  readonly writerSeconds: number;
  readonly archiveTimeoutSeconds: number;
  /** The restore that answered: `pgbackrest restore` alone. */
  readonly restore: RestoreFigures;
  /** Start of the restored copy until recovery replayed the archive and promoted it. */
  readonly recoverySeconds: number;
}

interface Ack {
  readonly id: number;
  readonly at: number;
}

/**
 * A writer that commits one row per transaction over TCP as the application role, paced at
 * `rate` per second, and records each commit the server acknowledged (id and time).
 */
class CommitWriter {
  readonly acks: Ack[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly rate: number,
  ) {}

  start(): void {
    const started = Date.now();
    this.done = (async () => {
      for (let id = 1; !this.stopped; id++) {
        const due = started + ((id - 1) * 1000) / this.rate;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.stopped) break;
        try {
          await this.client.query(`INSERT INTO ${TABLE} (id) VALUES ($1)`, [id]);
        } catch {
          // The server is gone: this commit was never acknowledged.
          break;
        }
        this.acks.push({ id, at: Date.now() });
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/**
 * RPO from S3 alone: a full backup exists; the writer commits for `writerSeconds`; then the
 * primary is killed (SIGKILL) and its whole volume (data directory, pg_wal, the pgBackRest spool)
 * deleted. A new member is restored from the repository (`latest`: the last backup and every
 * archived segment) and promoted; the acknowledged commits it lacks are the loss.
 */
export async function measureRpo(
  cluster: ProvingCluster,
  options: { readonly writerSeconds: number; readonly rate: number },
  log: (line: string) => void,
): Promise<RpoFigures> {
  const primary = cluster.primary;
  const spec = primary.spec;
  await memberSql(
    primary,
    `CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    BENCH_DATABASE,
  );
  await memberSql(primary, `GRANT SELECT, INSERT ON ${TABLE} TO ${spec.postgres.appUser}`, BENCH_DATABASE);

  const client = new Client({
    host: "127.0.0.1",
    port: primary.port,
    user: spec.postgres.appUser,
    password: cluster.local.secrets.appPassword,
    database: BENCH_DATABASE,
  });
  // A killed server resets the connection; the writer sees that as a failed query.
  client.on("error", () => undefined);
  await client.connect();
  const writer = new CommitWriter(client, options.rate);
  const started = Date.now();
  writer.start();
  await new Promise((resolve) => setTimeout(resolve, options.writerSeconds * 1000));
  await primary.crash();
  await writer.stop();
  await client.end().catch(() => undefined);
  const writerSeconds = (Date.now() - started) / 1000;
  await rm(spec.layout.volumeDir, { recursive: true, force: true });
  const acks = writer.acks;
  log(
    `rpo: ${acks.length} commits acknowledged in ${writerSeconds.toFixed(1)} s; primary killed and its volume deleted`,
  );

  const copy = await cluster.local.addMember("restored");
  const restore = await restoreInto(cluster, copy);
  const recoveryStarted = Date.now();
  await startRestored(copy);
  const recoverySeconds = (Date.now() - recoveryStarted) / 1000;
  const [maxText, countText] = (
    await memberSql(copy, `SELECT coalesce(max(id), 0), count(*) FROM ${TABLE}`, BENCH_DATABASE)
  ).split("|");
  const maxRestored = Number(maxText);
  if (Number(countText) !== maxRestored) {
    throw new Error(
      `restored copy holds ${countText} rows but ids up to ${maxRestored}: a commit in the middle is missing`,
    );
  }
  const restoredAcks = acks.filter((ack) => ack.id <= maxRestored);
  const lastRestored = restoredAcks.at(-1);
  const lastAck = acks.at(-1);
  const lostSeconds = lastAck === undefined ? 0 : (lastAck.at - (lastRestored?.at ?? started)) / 1000;
  await copy.stop();
  await rm(copy.spec.layout.volumeDir, { recursive: true, force: true });
  return {
    acknowledged: acks.length,
    restored: restoredAcks.length,
    lost: acks.length - restoredAcks.length,
    lostSeconds,
    writerRate: options.rate,
    writerSeconds,
    archiveTimeoutSeconds: spec.archive.archiveTimeoutSeconds,
    restore,
    recoverySeconds,
  };
}
