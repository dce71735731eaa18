import type { FullLoadFigures } from "../../test/proving/harness/proofs";
import { VARIANTS, type VariantRun } from "./attribution";
import type { DiskWrite, Machine, Versions } from "./machine";
import type { Phase } from "./progress";
import type { LeverResult } from "./restore-levers";
import type { RpoFigures } from "./rpo";
import { COMPARED_SETTINGS, CONFIG_TITLES, type ConfigName } from "./servers";
import { median } from "./stats";
import { extraCosts, targetVerdicts, validRuns, walPer1000 } from "./targets";
import { type RunRecord, VOID_OTHER_PERCENT } from "./tpcb";

/** The stack whose rendered configuration is measured: 2 GiB, 2 CPUs, SSD, web. */
export const BENCH_STACK = "dev";

export interface BenchSettings {
  readonly scale: number;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  readonly rounds: number;
  /** The attribution's rounds and seconds per run (clients and threads as above). */
  readonly attribution: { readonly rounds: number; readonly seconds: number };
  /** pgbench scale of the restore levers' data set. */
  readonly leverScale: number;
  /** The RPO writer: commits per second, and seconds before the primary vanishes. */
  readonly rpo: { readonly rate: number; readonly seconds: number };
}

export interface RestorePoint {
  readonly databaseBytes: number;
  /** Restore (pgBackRest) + recovery until the copy accepts writes, seconds. */
  readonly seconds: number;
  /** MB of database restored per second. */
  readonly mbPerSecond: number;
  /** The scheduled full backup before it (runner, through the primary's TLS server, to S3). */
  readonly backupSeconds: number;
  /** Commits lost when the primary vanished and only S3 was left. */
  readonly rpo: RpoFigures;
  /** The scheduled restore drill on the same repository, as it reports itself (its restore is pgBackRest's alone). */
  readonly drill: {
    readonly restoreSeconds: number;
    readonly recoverySeconds: number;
    readonly databaseBytes: number;
    readonly rtoSecondsPerGb: number;
  };
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
  /** pgstack with each extra off in turn (the --attribute diagnostic, part of every run). */
  readonly attribution: readonly VariantRun[];
  /** Proof 13 on the same proving ground: all connections past work_mem, pgstack and PGTune's values. */
  /** Proof 13 on the bench's proving ground: its figures when it passed, its error when not. */
  readonly fullLoad: {
    readonly passed: boolean;
    readonly figure: string;
    readonly figures?: FullLoadFigures;
  };
  readonly restores: readonly RestorePoint[];
  readonly levers: readonly LeverResult[];
  /** Seconds each phase took, and what it was expected to take. */
  readonly phases: readonly {
    readonly name: Phase;
    readonly seconds: number;
    readonly expectedSeconds: number;
  }[];
}

const CONFIGS: readonly ConfigName[] = ["pgstack", "stock", "pgtune"];
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const verdict = (pass: boolean) => (pass ? "**PASS**" : "**MISS**");
const minutes = (seconds: number) => {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
};

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
  const valid = validRuns(runs);
  const of = (config: ConfigName) => valid.filter((run) => run.config === config);
  const per = <T>(f: (config: ConfigName) => T) =>
    Object.fromEntries(CONFIGS.map((config) => [config, f(config)])) as Record<ConfigName, T>;
  return {
    allVoid: runs.length > 0 && runs.every((run) => run.void),
    voidRuns: runs.filter((run) => run.void).length,
    tps: per((c) => spread(of(c).map((run) => run.pgbench.tps))),
    p50: per((c) => spread(of(c).map((run) => run.pgbench.latencyMs.p50))),
    p99: per((c) => spread(of(c).map((run) => run.pgbench.latencyMs.p99))),
    wal: per((c) => spread(of(c).map(walPer1000))),
    checkpoints: per((c) => spread(of(c).map((run) => run.checkpoints))),
    peakMiB: per((c) => spread(of(c).map((run) => run.peakBytes / 2 ** 20))),
    unreclaimableMiB: per((c) => spread(of(c).map((run) => run.unreclaimablePeakBytes / 2 ** 20))),
  };
}

export function renderReport(
  result: BenchResult,
  charts: readonly { file: string; title: string }[],
): string {
  const s = summarise(result.runs);
  const { settings } = result;
  const verdicts = targetVerdicts({
    runs: result.runs,
    attribution: result.attribution,
    fullLoad: result.fullLoad,
    diskMbPerSecond: result.disk.mbPerSecond,
    restores: result.restores,
    levers: result.levers,
  });
  const misses = verdicts.filter((v) => !v.pass);
  const totalSeconds = (new Date(result.finishedAt).getTime() - new Date(result.startedAt).getTime()) / 1000;
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  add(
    "# pgstack benchmark",
    "",
    `Written by \`npm run bench\`${result.quick ? " (--quick: a reduced smoke run; its figures prove the bench works, not the tuning)" : ""}, ` +
      `${new Date(result.startedAt).toISOString().slice(0, 16)}Z to ${new Date(result.finishedAt).toISOString().slice(0, 16)}Z (${minutes(totalSeconds)}).`,
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
    `- A round is void when, during one of its runs, other work than the benchmark's (machine busy time from /proc/stat minus the benchmark's own process tree) took more than ${VOID_OTHER_PERCENT}% of the machine's CPU: ` +
      `${s.voidRuns} of ${result.runs.length} runs were in void rounds${s.allVoid ? " (all: the summary uses them anyway, and says so)" : ""}.`,
    "",
    "## Targets",
    "",
    "| target | measured | verdict | off by |",
    "|---|---|---|---|",
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${verdict(v.pass)} | ${v.by} |`),
    "",
    ...(misses.length > 0
      ? [
          "Why the misses, from the figures of this run:",
          "",
          ...misses.map((v) => `- **${v.target}**: ${v.why}`),
          "",
        ]
      : []),
    `## Summary (median, min–max over ${s.allVoid ? "all runs, every round void" : "valid runs"})`,
    "",
    "| | tps | p50 ms | p99 ms | checkpoints | MB WAL / 1,000 tx | peak MiB not reclaimable | peak MiB with page cache |",
    "|---|---|---|---|---|---|---|---|",
    ...CONFIGS.map(
      (c) =>
        `| ${CONFIG_TITLES[c]} | ${showSpread(s.tps[c])} | ${showSpread(s.p50[c], 2)} | ${showSpread(s.p99[c], 2)} | ${showSpread(s.checkpoints[c], 0)} | ${showSpread(s.wal[c], 2)} | ${showSpread(s.unreclaimableMiB[c], 0)} | ${showSpread(s.peakMiB[c], 0)} |`,
    ),
    "",
    `Full load (proof 13 on the same proving ground${result.fullLoad.passed ? "" : ", FAILED"}): ${result.fullLoad.figure}`,
    "",
    ...charts.flatMap((chart) => [`![${chart.title}](${chart.file})`, ""]),
    ...attributionSection(result),
    "## Recovery time and RPO",
    "",
    `For each size: the runner's full backup as its schedule runs it (through the primary's pgBackRest TLS server, to S3; without the verify the schedule runs after it); then one client commits a row per transaction at ${settings.rpo.rate}/s for ${settings.rpo.seconds} s ` +
      "(pgbench -R, every acknowledgement logged with its time), and the primary vanishes for S3: every process of its container is stopped (SIGSTOP) at once, so nothing more " +
      "reaches the repository. A copy is restored from S3 alone with the rendered restore command (`latest`: the backup and every archived segment) in a new member and recovers until it " +
      "accepts writes; the acknowledged commits it lacks are the loss, their span in seconds the RPO. The second size adds a copy of the bench database beside it (twice the data). " +
      "Then the scheduled restore drill runs on the same repository as its schedule runs it (restore into its scratch space, recovery with archiving off, pg_amcheck) and reports the RTO a user plans with: restore + recovery seconds per GB.",
    "",
    "| database | full backup | pgBackRest restore (drill) | restore MB/s | × disk | drill: + recovery | drill RTO | restore + recovery from S3 alone (new member) | commits acknowledged | lost | RPO |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...result.restores.map((r) => {
      const restoreMb = r.drill.databaseBytes / 1e6 / r.drill.restoreSeconds;
      return (
        `| ${fixed(r.databaseBytes / 1e6, 0)} MB | ${fixed(r.backupSeconds, 1)} s | ${fixed(r.drill.restoreSeconds, 1)} s | ${fixed(restoreMb, 0)} | ${fixed(restoreMb / result.disk.mbPerSecond)} | ` +
        `${fixed(r.drill.recoverySeconds, 1)} s | ${fixed(r.drill.rtoSecondsPerGb, 1)} s/GB | ${fixed(r.seconds, 1)} s | ${r.rpo.acknowledged} | ${r.rpo.lost} | ${fixed(r.rpo.lostSeconds, 1)} s (archive_timeout ${r.rpo.archiveTimeoutSeconds} s) |`
      );
    }),
    "",
    "Restore MB/s is the drill's pgBackRest restore alone (the figure the target and the old bench's 0.17× are about); the new member's restore + recovery adds its container's start, WAL replay to the newest archived segment and the promotion: the RTO an operator sees.",
    "",
    ...leverSection(result),
    "## Every run",
    "",
    "| round | # | configuration | tps | p50 ms | p99 ms | checkpoints | MB WAL / 1,000 tx | peak MiB not reclaimable | peak MiB with cache | CPU busy % | iowait % | other work % | load before → after | void |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...result.runs.map(
      (run) =>
        `| ${run.round} | ${run.position} | ${run.config} | ${fixed(run.pgbench.tps, 1)} | ${fixed(run.pgbench.latencyMs.p50)} | ${fixed(run.pgbench.latencyMs.p99)} | ${run.checkpoints} | ${fixed(walPer1000(run))} | ${fixed(run.unreclaimablePeakBytes / 2 ** 20, 0)} | ${fixed(run.peakBytes / 2 ** 20, 0)} | ${fixed(run.cpu.busyPercent, 0)} | ${fixed(run.cpu.iowaitPercent, 0)} | ${fixed(run.cpu.otherPercent, 0)} | ${fixed(run.loadBefore, 1)} → ${fixed(run.loadAfter, 1)} | ${run.void ? "void" : ""} |`,
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
    "## How long each phase took",
    "",
    "| phase | took | expected |",
    "|---|---|---|",
    ...result.phases.map((p) => `| ${p.name} | ${minutes(p.seconds)} | ${minutes(p.expectedSeconds)} |`),
    "",
  );
  return lines.join("\n");
}

function attributionSection(result: BenchResult): string[] {
  return renderAttribution(result.attribution, result.settings.attribution.seconds);
}

/** pgstack's extras' own cost: the --attribute diagnostic's figures. */
export function renderAttribution(runs: readonly VariantRun[], seconds: number): string[] {
  if (runs.length === 0) return [];
  const valid = validRuns(runs);
  const costs = new Map(extraCosts(runs).map((cost) => [cost.variant, cost]));
  const rounds = new Set(runs.map((run) => run.round)).size;
  return [
    "## pgstack's extras' own cost (attribution)",
    "",
    `pgstack's primary with one extra turned off at a time (in postgresql.auto.conf, checked with SHOW before each run), ${rounds} round(s) of ${seconds} s per variant, ` +
      "the order rotated each round; the gain is the median within-round tps ratio to the control (as rendered) minus 1. Data checksums are not among the extras: the baselines are made by the same initdb.",
    "",
    "| variant | what it turns off | median tps | tps vs as rendered | MB WAL / 1,000 tx | valid runs |",
    "|---|---|---|---|---|---|",
    ...VARIANTS.map((variant) => {
      const mine = valid.filter((run) => run.variant === variant.name);
      const cost = costs.get(variant.name);
      return `| ${variant.name} | ${variant.what} | ${fixed(median(mine.map((run) => run.pgbench.tps)), 1)} | ${cost ? `${cost.tpsGain >= 0 ? "+" : ""}${fixed(cost.tpsGain * 100, 1)}%` : "(control)"} | ${fixed(median(mine.map(walPer1000)))} | ${mine.length} |`;
    }),
    "",
  ];
}

function leverSection(result: BenchResult): string[] {
  return renderLevers(result.levers, result.settings.leverScale, result.disk.mbPerSecond);
}

/** What bounds the restore: one lever moved at a time, each row one measured restore. */
export function renderLevers(
  levers: readonly LeverResult[],
  leverScale: number,
  diskMbPerSecond: number,
): string[] {
  if (levers.length === 0) return [];
  const control = levers[0];
  return [
    "## What bounds the restore (levers)",
    "",
    `A server of its own (pgbench scale ${leverScale}, ${fixed(control.databaseBytes / 1e6, 0)} MB) backed up once per compression (at pgBackRest's default level for each, as pgstack renders no compress-level: lz4 1, zst 3, gz 6) and restored with one lever moved at a time: ` +
      "`pgbackrest restore` of that backup into an empty directory of the server's volume, inside its container (under its memory limit), timed on its own without recovery. " +
      "S3 request parallelism is process-max: each process keeps one request in flight. CPU is the whole machine's during the restore; s3rver is the S3 stand-in's own CPU time per second.",
    "",
    "| lever | compress | process-max | repository MB | restore s | MB/s | × as rendered | × disk | CPU busy % | iowait % | s3rver CPU-s/s |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...levers.map(
      (l) =>
        `| ${l.lever} | ${l.compressType} | ${l.processMax} | ${fixed(l.repositoryBytes / 1e6, 0)} | ${fixed(l.restoreSeconds, 1)} | ${fixed(l.mbPerSecond, 0)} | ${fixed(l.mbPerSecond / control.mbPerSecond)} | ${fixed(l.mbPerSecond / diskMbPerSecond)} | ${fixed(l.cpu.busyPercent, 0)} | ${fixed(l.cpu.iowaitPercent, 0)} | ${fixed(l.s3CpuPerSecond)} |`,
    ),
    "",
    leverReading(levers),
    "",
  ];
}

/**
 * What the lever table says, from its rows: the fastest restore against the rendered one, and the
 * S3 path's own share of the rendered restore's time (the posix control reads the same backup
 * without s3rver and TLS).
 */
export function leverReading(levers: readonly LeverResult[]): string {
  const control = levers[0];
  const fastest = [...levers].sort((a, b) => b.mbPerSecond - a.mbPerSecond)[0];
  const posix = levers.find((lever) => lever.lever.startsWith("posix"));
  const contended = median(levers.map((lever) => lever.cpu.otherPercent));
  const faster = levers.filter(
    (lever) =>
      lever !== control && !lever.lever.startsWith("posix") && lever.mbPerSecond > control.mbPerSecond * 1.1,
  );
  return [
    fastest === control
      ? "The rendered restore was the fastest row."
      : `The fastest row: ${fastest.lever}, ${fixed(fastest.mbPerSecond / control.mbPerSecond)}× the rendered restore.`,
    posix
      ? `Reading the same backup from a posix repository took ${fixed(posix.restoreSeconds, 1)} s against ${fixed(control.restoreSeconds, 1)} s: the S3 path (s3rver, TLS, one request per file) took ${fixed(Math.max(0, 1 - posix.restoreSeconds / control.restoreSeconds) * 100, 0)}% of the rendered restore's time.`
      : "",
    contended > VOID_OTHER_PERCENT
      ? `Other work took a median ${fixed(contended, 0)}% of the machine's CPU during these restores: more processes win a larger share of contended CPUs, so the process-max rows say little here.`
      : "",
    faster.length > 0
      ? `Levers of pgstack's own choice more than 10% faster than rendered: ${faster.map((lever) => `${lever.lever} (${fixed(lever.mbPerSecond / control.mbPerSecond)}×)`).join(", ")}; the rendered pgBackRest options change only when a run on a quiet machine shows the same.`
      : "No lever of pgstack's own choice was more than 10% faster than rendered: the rendered compress-type and process-max stand.",
  ]
    .filter(Boolean)
    .join(" ");
}
