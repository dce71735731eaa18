import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { BENCH_DATABASE, type BenchServer } from "./servers";

/** pgbench's connection to a server: its own socket, inside its container, as the superuser. */
function connection(server: BenchServer): string[] {
  const { layout, postgres } = server.member.spec;
  return ["-h", layout.socketDir, "-p", String(layout.port), "-U", postgres.superuser];
}

/**
 * `pgbench -i -s <scale>` into the bench database, inside the server's container. statement_timeout
 * is lifted for this session only: the load and its index builds are one long statement each,
 * and pgstack's web workload cancels statements after a minute.
 */
export async function pgbenchInit(server: BenchServer, scale: number): Promise<number> {
  const started = Date.now();
  await server.exec([
    "env",
    "PGOPTIONS=-c statement_timeout=0",
    "pgbench",
    "-i",
    "-s",
    String(scale),
    "-q",
    ...connection(server),
    BENCH_DATABASE,
  ]);
  return Date.now() - started;
}

/**
 * What pgbench does before a run unless told -n, done here so it stays out of the measured WAL:
 * vacuum the small tables, empty the history table. Then a checkpoint, so every configuration
 * starts its run at the same point of the checkpoint cycle.
 */
export async function prepareRun(server: BenchServer): Promise<void> {
  await server.longSql("VACUUM pgbench_branches");
  await server.longSql("VACUUM pgbench_tellers");
  await server.longSql("TRUNCATE pgbench_history");
  await server.longSql("CHECKPOINT");
}

export interface PgbenchResult {
  readonly transactions: number;
  readonly failed: number;
  /** tps without the initial connection time, as pgbench reports it. */
  readonly tps: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly mean: number };
}

const LOG_PREFIX = "/tmp/pgstack-bench";

/** The built-in TPC-B-like script inside the server's container, every transaction's latency logged. */
export async function pgbenchRun(
  server: BenchServer,
  options: { readonly clients: number; readonly threads: number; readonly seconds: number },
): Promise<PgbenchResult> {
  const tmp = join(server.member.runtime.container.spec.root.path, "tmp");
  await removeLogs(tmp);
  const result = await server.exec(
    [
      "pgbench",
      "-n",
      "-c",
      String(options.clients),
      "-j",
      String(options.threads),
      "-T",
      String(options.seconds),
      "-l",
      `--log-prefix=${LOG_PREFIX}`,
      ...connection(server),
      BENCH_DATABASE,
    ],
    options.seconds * 1000 + 300_000,
  );
  const latencies = await readLatencies(tmp);
  await removeLogs(tmp);
  return { ...parsePgbench(result.stdout), latencyMs: latencySummary(latencies) };
}

async function logFiles(tmp: string): Promise<string[]> {
  const base = LOG_PREFIX.slice("/tmp/".length);
  return (await readdir(tmp)).filter((name) => name.startsWith(`${base}.`)).map((name) => join(tmp, name));
}

async function removeLogs(tmp: string): Promise<void> {
  for (const file of await logFiles(tmp)) await rm(file, { force: true });
}

/** Per-transaction log lines: `client transaction latency_us script epoch_s epoch_us`. */
async function readLatencies(tmp: string): Promise<number[]> {
  const latencies: number[] = [];
  for (const file of await logFiles(tmp)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      const fields = line.split(" ");
      if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
    }
  }
  return latencies;
}

/** Percentile by the nearest-rank method. */
export function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))];
}

export function latencySummary(latencies: readonly number[]): PgbenchResult["latencyMs"] {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean };
}

export function parsePgbench(stdout: string): Omit<PgbenchResult, "latencyMs"> {
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
  };
}
