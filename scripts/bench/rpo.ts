import { readFileSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ProvingCluster } from "../../test/proving/harness/proving-cluster";
import { BENCH_DATABASE, type BenchServer } from "./servers";

const TABLE = "rpo_commits";
const SCRIPT = "pgstack-rpo-writer.sql";
/** pgbench's log files: `<prefix>.<pid>`, a name the script's does not start with. */
const LOG_PREFIX = "pgstack-rpo-log";

/** One acknowledged commit: its row id and when the writer saw the acknowledgement (epoch ms). */
export interface Ack {
  readonly id: number;
  readonly atMs: number;
}

export interface RpoFigures {
  /** Commits the writer saw acknowledged before the primary vanished. */
  readonly acknowledged: number;
  /** Of those, the ones the copy restored from S3 alone holds. */
  readonly restored: number;
  readonly lost: number;
  /** Seconds of acknowledged commits lost: last acknowledgement minus the last restored one's. */
  readonly lostSeconds: number;
  readonly writerRate: number;
  readonly writerSeconds: number;
  readonly archiveTimeoutSeconds: number;
}

/**
 * The loss when only S3 survives: acknowledgements up to the moment the primary vanished, against
 * the highest row id the restored copy holds. Ids are given in commit order by one client, so
 * every acknowledged id up to that one is in the copy (checked by the caller with count = max).
 */
export function rpoFigures(
  acks: readonly Ack[],
  vanishedAtMs: number,
  restoredMaxId: number,
  writer: { readonly rate: number; readonly seconds: number; readonly archiveTimeoutSeconds: number },
): RpoFigures {
  const acknowledged = acks.filter((ack) => ack.atMs <= vanishedAtMs);
  const restored = acknowledged.filter((ack) => ack.id <= restoredMaxId);
  const lastAck = acknowledged.at(-1);
  const lastRestored = restored.at(-1);
  const lostSeconds =
    lastAck === undefined || lastRestored === lastAck
      ? 0
      : (lastAck.atMs - (lastRestored?.atMs ?? acknowledged[0].atMs)) / 1000;
  return {
    acknowledged: acknowledged.length,
    restored: restored.length,
    lost: acknowledged.length - restored.length,
    lostSeconds,
    writerRate: writer.rate,
    writerSeconds: writer.seconds,
    archiveTimeoutSeconds: writer.archiveTimeoutSeconds,
  };
}

/**
 * pgbench's per-transaction log with one client: `client transaction_no latency_us script
 * epoch_s epoch_us`, the transaction number counting from 0 in commit order, the time when the
 * client saw the commit's answer.
 */
export function parseAcks(text: string): Ack[] {
  return text
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 6)
    .map((fields) => ({
      id: Number(fields[1]) + 1,
      atMs: Number(fields[4]) * 1000 + Number(fields[5]) / 1000,
    }));
}

/**
 * A writer on the primary: one client committing one row per transaction at `rate` per second
 * (pgbench -R, each acknowledgement logged with its time), started now and running `seconds`
 * plus `graceSeconds` (so it is still committing when the primary vanishes). Resolves when
 * pgbench has exited, with the acknowledgements it logged.
 */
export async function startWriter(
  server: BenchServer,
  options: { readonly rate: number; readonly seconds: number; readonly graceSeconds: number },
): Promise<{ readonly done: Promise<Ack[]>; readonly failure: () => Error | undefined }> {
  const { layout, postgres } = server.member.spec;
  await server.sql(`DROP TABLE IF EXISTS ${TABLE}`);
  await server.sql(
    `CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
  const tmp = join(server.member.runtime.container.spec.root.path, "tmp");
  await writeFile(join(tmp, SCRIPT), `INSERT INTO ${TABLE} DEFAULT VALUES;\n`, { mode: 0o644 });
  await removeLogs(tmp);
  const run = server.exec(
    [
      "pgbench",
      "-n",
      "-c",
      "1",
      "-j",
      "1",
      "-R",
      String(options.rate),
      "-T",
      String(options.seconds + options.graceSeconds),
      "-f",
      `/tmp/${SCRIPT}`,
      "-l",
      `--log-prefix=/tmp/${LOG_PREFIX}`,
      "-h",
      layout.socketDir,
      "-p",
      String(layout.port),
      "-U",
      postgres.superuser,
      BENCH_DATABASE,
    ],
    3_600_000,
  );
  const done = run.then(async () => {
    const acks: Ack[] = [];
    for (const file of await logFiles(tmp)) acks.push(...parseAcks(await readFile(file, "utf8")));
    await removeLogs(tmp);
    await rm(join(tmp, SCRIPT), { force: true });
    return acks.sort((a, b) => a.id - b.id);
  });
  // Awaited only after the primary vanished: a writer that failed early is reported by failure().
  let failed: Error | undefined;
  done.catch((error: Error) => {
    failed = error;
  });
  return { done, failure: () => failed };
}

async function logFiles(tmp: string): Promise<string[]> {
  return (await readdir(tmp))
    .filter((name) => name.startsWith(`${LOG_PREFIX}.`))
    .map((name) => join(tmp, name));
}

async function removeLogs(tmp: string): Promise<void> {
  for (const file of await logFiles(tmp)) await rm(file, { force: true });
}

/**
 * The primary vanishes for S3: every process of its container is stopped (SIGSTOP, repeated until
 * no new process appears), so nothing more reaches the repository: not a WAL segment, not the
 * rest of an upload. Returns the moment it vanished and a function that lets it run again.
 */
export async function vanish(server: BenchServer): Promise<{ atMs: number; resume: () => Promise<void> }> {
  const container = server.member.runtime.container;
  const stopped = new Set<number>();
  const atMs = Date.now();
  for (let pass = 0; pass < 5; pass++) {
    const fresh = (await container.processes()).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0 && pass > 0) break;
    for (const pid of fresh) {
      try {
        process.kill(pid, "SIGSTOP");
        stopped.add(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  return {
    atMs,
    // The exec wrapper of a command in the container (nsenter, outside its PID namespace) stops
    // itself when it sees its child stopped, and continues the child only once continued itself:
    // whatever is still stopped after a first SIGCONT is continued again, until none is.
    resume: async () => {
      for (let pass = 0; pass < 50; pass++) {
        const still = [...stopped].filter((pid) => processState(pid) === "T");
        if (pass > 0 && still.length === 0) return;
        for (const pid of pass === 0 ? stopped : still) {
          try {
            process.kill(pid, "SIGCONT");
          } catch {
            // exited meanwhile
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`processes of ${server.member.name} stay stopped after SIGCONT`);
    },
  };
}

/** A process's state letter from /proc/<pid>/stat (T: stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** The restored copy's rows: highest id and count (equal unless a commit in the middle is missing). */
export async function restoredRows(copy: ProvingCluster["primary"]): Promise<number> {
  const [maxText, countText] = (
    await copy.sql(`SELECT coalesce(max(id), 0), count(*) FROM ${TABLE}`, { database: BENCH_DATABASE })
  ).split("|");
  if (Number(countText) !== Number(maxText)) {
    throw new Error(
      `the restored copy holds ${countText} rows but ids up to ${maxText}: a commit in the middle is missing`,
    );
  }
  return Number(maxText);
}
