import type { DiskWrite, Machine, Versions } from "./machine";
import { COMPARED_SETTINGS, CONFIG_TITLES, type ConfigName } from "./servers";
import { median } from "./stats";
import type { RunRecord } from "./tpcb";

/** The stack whose rendered configuration is measured: 2 GiB, 2 CPUs, SSD, web. */
export const BENCH_STACK = "dev";

export interface BenchSettings {
  readonly scale: number;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  readonly rounds: number;
}

export interface RestorePoint {
  readonly databaseBytes: number;
  /** Restore (pgBackRest) + recovery until the copy accepts writes, seconds. */
  readonly seconds: number;
  /** MB of database restored per second. */
  readonly mbPerSecond: number;
}

export interface BenchResult {
  readonly quick: boolean;
  readonly startedAt: Date | string;
  readonly finishedAt: Date | string;
  readonly settings: BenchSettings;
  readonly machine: Machine;
  readonly versions: Versions;
  readonly disk: DiskWrite;
  readonly memoryLimitBytes: number;
  readonly databaseBytes: number;
  readonly settingsReported: Readonly<Record<ConfigName, Readonly<Record<string, string>>>>;
  readonly pgtuneText: string;
  readonly runs: readonly RunRecord[];
  /** Proof 13's figure on the same proving ground: all connections past work_mem, pgstack and PGTune's values. */
  readonly fullLoad: string;
  readonly restores: readonly RestorePoint[];
}

/** The targets, with both baselines archiving. */
export const TARGETS = {
  overStock: 1.2,
  overPgtune: 1.0,
  walShareOfStock: 0.25,
  restoreShareOfDisk: 0.5,
} as const;

const CONFIGS: readonly ConfigName[] = ["pgstack", "stock", "pgtune"];
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const verdict = (pass: boolean) => (pass ? "**met**" : "**missed**");
const walPer1000 = (run: RunRecord) => ((run.walBytes / run.pgbench.transactions) * 1000) / 1e6;

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const showSpread = (s: Spread, digits = 1) =>
  `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;

/** Figures per configuration over the valid (not void) runs; all runs when every one is void. */
export function summarise(runs: readonly RunRecord[]) {
  const valid = runs.some((run) => !run.void) ? runs.filter((run) => !run.void) : runs;
  const of = (config: ConfigName) => valid.filter((run) => run.config === config);
  const per = <T>(f: (config: ConfigName) => T) =>
    Object.fromEntries(CONFIGS.map((config) => [config, f(config)])) as Record<ConfigName, T>;
  return {
    allVoid: valid === runs && runs.every((run) => run.void),
    voidRuns: runs.filter((run) => run.void).length,
    tps: per((c) => spread(of(c).map((run) => run.pgbench.tps))),
    p50: per((c) => spread(of(c).map((run) => run.pgbench.latencyMs.p50))),
    p99: per((c) => spread(of(c).map((run) => run.pgbench.latencyMs.p99))),
    wal: per((c) => spread(of(c).map(walPer1000))),
    checkpoints: per((c) => spread(of(c).map((run) => run.checkpoints))),
    peakMiB: per((c) => spread(of(c).map((run) => run.peakBytes / 2 ** 20))),
  };
}

export function renderReport(
  result: BenchResult,
  charts: readonly { file: string; title: string }[],
): string {
  const s = summarise(result.runs);
  const { settings } = result;
  const overStock = s.tps.pgstack.median / s.tps.stock.median;
  const overPgtune = s.tps.pgstack.median / s.tps.pgtune.median;
  const walShare = s.wal.pgstack.median / s.wal.stock.median;
  const p99Ok = s.p99.pgstack.median <= s.p99.pgtune.median;
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  add(
    "# pgstack benchmark",
    "",
    `Written by \`npm run bench\`${result.quick ? " (--quick: a reduced smoke run; its figures prove the bench works, not the tuning)" : ""}, ` +
      `${new Date(result.startedAt).toISOString().slice(0, 16)}Z to ${new Date(result.finishedAt).toISOString().slice(0, 16)}Z.`,
    "",
    "Every server runs on the container-true proving ground (test/proving/harness): its own container as PID 1 of its own",
    `namespaces, in its own memory cgroup with the dev stack's ${(result.memoryLimitBytes / 2 ** 30).toFixed(0)} GiB limit. pgstack is the dev stack's primary as`,
    "rendered; the baselines run in containers like it with initdb's postgresql.conf (stock) or PGTune's lines on top, and",
    "archive every WAL segment through the same pgBackRest command into a repository path of their own; PGTune also loads",
    "pg_stat_statements as pgstack does. pgbench runs inside each server's container over its socket.",
    "",
    "## Set-up",
    "",
    `- Machine: ${result.machine.cpus} CPUs (${result.machine.cpuModel}), ${(result.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${result.machine.kernel}; disk ${result.machine.disk}.`,
    `- Disk sequential write: ${fixed(result.disk.mbPerSecond, 0)} MB/s (${result.disk.method}).`,
    `- ${result.versions.postgres}; ${result.versions.pgbackrest}; ${result.versions.node}; pgstack ${result.versions.pgstackCommit}.`,
    `- pgbench TPC-B, scale ${settings.scale} (database ${fixed(result.databaseBytes / 1e6, 0)} MB, ${fixed(result.databaseBytes / result.memoryLimitBytes, 2)}× the memory limit), ` +
      `${settings.clients} clients, ${settings.threads} threads, ${settings.seconds} s per run, ${settings.rounds} rounds, the order rotated each round.`,
    `- A run is void when the machine's 1-minute load average exceeded 0.5 per CPU as it started (other work): ${s.voidRuns} of ${result.runs.length} were${s.allVoid ? " (all: the summary uses them anyway, and says so)" : ""}.`,
    "",
    "## Summary (median, min–max over valid runs)",
    "",
    "| | tps | p50 ms | p99 ms | checkpoints | MB WAL / 1,000 tx | peak memory MiB |",
    "|---|---|---|---|---|---|---|",
    ...CONFIGS.map(
      (c) =>
        `| ${CONFIG_TITLES[c]} | ${showSpread(s.tps[c])} | ${showSpread(s.p50[c], 2)} | ${showSpread(s.p99[c], 2)} | ${showSpread(s.checkpoints[c], 0)} | ${showSpread(s.wal[c], 2)} | ${showSpread(s.peakMiB[c], 0)} |`,
    ),
    "",
    "| target | figure | verdict |",
    "|---|---|---|",
    `| pgstack ≥ ${TARGETS.overStock}× stock on median tps | ${fixed(overStock)}× | ${verdict(overStock >= TARGETS.overStock)} |`,
    `| pgstack ≥ ${TARGETS.overPgtune}× PGTune on median tps | ${fixed(overPgtune)}× | ${verdict(overPgtune >= TARGETS.overPgtune)} |`,
    `| p99 no worse than PGTune's | ${fixed(s.p99.pgstack.median)} vs ${fixed(s.p99.pgtune.median)} ms | ${verdict(p99Ok)} |`,
    `| WAL per 1,000 tx ≤ ${TARGETS.walShareOfStock}× stock | ${fixed(walShare)}× | ${verdict(walShare <= TARGETS.walShareOfStock)} |`,
    ...result.restores.map(
      (r) =>
        `| restore ≥ ${TARGETS.restoreShareOfDisk}× disk speed (${fixed(r.databaseBytes / 1e6, 0)} MB) | ${fixed(r.mbPerSecond, 0)} MB/s, ${fixed(r.mbPerSecond / result.disk.mbPerSecond)}× | ${verdict(r.mbPerSecond >= TARGETS.restoreShareOfDisk * result.disk.mbPerSecond)} |`,
    ),
    "",
    `Full load (proof 13 on the same proving ground): ${result.fullLoad}`,
    "",
    ...charts.flatMap((chart) => [`![${chart.title}](${chart.file})`, ""]),
    "## Recovery time",
    "",
    "| database | restore + recovery | MB/s |",
    "|---|---|---|",
    ...result.restores.map(
      (r) =>
        `| ${fixed(r.databaseBytes / 1e6, 0)} MB | ${fixed(r.seconds, 1)} s | ${fixed(r.mbPerSecond, 0)} |`,
    ),
    "",
    "## Every run",
    "",
    "| round | # | configuration | tps | p50 ms | p99 ms | checkpoints | MB WAL / 1,000 tx | peak MiB | CPU busy % | iowait % | load before → after | void |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...result.runs.map(
      (run) =>
        `| ${run.round} | ${run.position} | ${run.config} | ${fixed(run.pgbench.tps, 1)} | ${fixed(run.pgbench.latencyMs.p50)} | ${fixed(run.pgbench.latencyMs.p99)} | ${run.checkpoints} | ${fixed(walPer1000(run))} | ${fixed(run.peakBytes / 2 ** 20, 0)} | ${fixed(run.cpu.busyPercent, 0)} | ${fixed(run.cpu.iowaitPercent, 0)} | ${fixed(run.loadBefore, 1)} → ${fixed(run.loadAfter, 1)} | ${run.void ? "void" : ""} |`,
    ),
    "",
    "## Settings as each server reports them",
    "",
    `| setting | ${CONFIGS.map((c) => c).join(" | ")} |`,
    `|---|${CONFIGS.map(() => "---").join("|")}|`,
    ...COMPARED_SETTINGS.map(
      (name) => `| ${name} | ${CONFIGS.map((c) => result.settingsReported[c]?.[name] ?? "").join(" | ")} |`,
    ),
    "",
    "PGTune's output for the same inputs (scripts/bench/pgtune.ts):",
    "",
    "```",
    result.pgtuneText.trim(),
    "```",
    "",
  );
  return lines.join("\n");
}
