import { describeFailure, run, runOk } from "../../test/proving/harness/processes";
import { BENCH_DATABASE, type BenchServer } from "./servers";

/** The pgbench binary of the PostgreSQL under test (first on the harness's PATH). */
export const PGBENCH = "/usr/lib/postgresql/15/bin/pgbench";

function connection(server: BenchServer): string[] {
  return ["-h", server.socketDir, "-p", String(server.port), "-U", "postgres"];
}

/**
 * `pgbench -i -s <scale>` into the bench database (created here). statement_timeout is lifted for
 * this session only: the load and its index builds are one long statement each, and pgstack's
 * web workload cancels statements after a minute (its reason line says to raise it per session
 * for migrations; a data load is one).
 */
export async function pgbenchInit(server: BenchServer, scale: number): Promise<number> {
  await server.sql(`CREATE DATABASE ${BENCH_DATABASE}`, "postgres");
  const started = Date.now();
  await runOk([PGBENCH, "-i", "-s", String(scale), "-q", ...connection(server), BENCH_DATABASE], {
    user: server.user,
    env: { PGOPTIONS: "-c statement_timeout=0" },
    timeoutMs: 3_600_000,
  });
  return Date.now() - started;
}

/**
 * What pgbench does before a run unless told -n, done here so it stays out of the measured WAL:
 * vacuum the small tables, empty the history table. Then a checkpoint, so every configuration
 * starts its run at the same point of the checkpoint cycle.
 */
export async function prepareRun(server: BenchServer): Promise<void> {
  await server.sql("VACUUM pgbench_branches");
  await server.sql("VACUUM pgbench_tellers");
  await server.sql("TRUNCATE pgbench_history");
  await server.sql("CHECKPOINT");
}

export interface PgbenchResult {
  readonly transactions: number;
  readonly failed: number;
  /** tps without the initial connection time, as pgbench reports it. */
  readonly tps: number;
  readonly latencyMs: number;
}

/** The built-in TPC-B-like script, simple query protocol, over the local socket. */
export async function pgbenchRun(
  server: BenchServer,
  options: { readonly clients: number; readonly threads: number; readonly seconds: number },
): Promise<PgbenchResult> {
  const argv = [
    PGBENCH,
    "-n",
    "-c",
    String(options.clients),
    "-j",
    String(options.threads),
    "-T",
    String(options.seconds),
    ...connection(server),
    BENCH_DATABASE,
  ];
  const result = await run(argv, { user: server.user, timeoutMs: options.seconds * 1000 + 300_000 });
  if (result.code !== 0) throw new Error(describeFailure(result));
  return parsePgbench(result.stdout);
}

export function parsePgbench(stdout: string): PgbenchResult {
  const number = (pattern: RegExp, what: string) => {
    const match = pattern.exec(stdout);
    if (!match) throw new Error(`pgbench output has no ${what}:\n${stdout}`);
    return Number(match[1]);
  };
  const failedMatch = /number of failed transactions: (\d+)/.exec(stdout);
  return {
    transactions: number(/number of transactions actually processed: (\d+)/, "transaction count"),
    failed: failedMatch ? Number(failedMatch[1]) : 0,
    tps: number(/tps = ([\d.]+) \(without initial connection time\)/, "tps"),
    latencyMs: number(/latency average = ([\d.]+) ms/, "average latency"),
  };
}
