import { CONTROL, VARIANTS, type VariantRun } from "./attribution";
import type { LeverResult } from "./restore-levers";
import type { ConfigName } from "./servers";
import { median } from "./stats";
import type { RunRecord } from "./tpcb";

/** The issue's targets, with both baselines archiving, and pgstack's own RPO bound. */
export const TARGETS = {
  overStock: 1.2,
  overPgtune: 1.0,
  walShareOfStock: 0.25,
  restoreShareOfDisk: 0.5,
} as const;

/** What the verdicts are computed from: the measured figures of one run of the benchmark. */
export interface TargetInputs {
  readonly runs: readonly RunRecord[];
  readonly attribution: readonly VariantRun[];
  readonly fullLoad: { readonly passed: boolean; readonly figure: string };
  readonly diskMbPerSecond: number;
  readonly restores: readonly {
    readonly databaseBytes: number;
    readonly seconds: number;
    readonly mbPerSecond: number;
    /** The scheduled drill's pgBackRest restore of the same backup, timed on its own. */
    readonly drill: {
      readonly restoreSeconds: number;
      readonly recoverySeconds: number;
      readonly databaseBytes: number;
      readonly rtoSecondsPerGb: number;
    };
    readonly rpo: {
      readonly lostSeconds: number;
      readonly lost: number;
      readonly archiveTimeoutSeconds: number;
    };
  }[];
  readonly levers: readonly LeverResult[];
}

export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
  /** How far off a missed target is; empty when met. */
  readonly by: string;
  /** Why, from the measured figures; empty when met. */
  readonly why: string;
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const percent = (share: number, digits = 0) => `${share >= 0 ? "+" : ""}${fixed(share * 100, digits)}%`;
export const walPer1000 = (run: { walBytes: number; pgbench: { transactions: number } }) =>
  ((run.walBytes / run.pgbench.transactions) * 1000) / 1e6;

/** Runs that count: the valid ones, or all when every one is void (the report says so). */
export function validRuns<T extends { readonly void: boolean }>(runs: readonly T[]): T[] {
  return runs.some((run) => !run.void) ? runs.filter((run) => !run.void) : [...runs];
}

/** pgstack's tps (or another figure) over another configuration's within each valid round. */
export function roundRatios(
  runs: readonly RunRecord[],
  other: ConfigName,
  figure: (run: RunRecord) => number = (run) => run.pgbench.tps,
): number[] {
  const valid = validRuns(runs);
  const rounds = [...new Set(valid.map((run) => run.round))];
  return rounds.flatMap((round) => {
    const mine = valid.find((run) => run.round === round && run.config === "pgstack");
    const theirs = valid.find((run) => run.round === round && run.config === other);
    return mine && theirs ? [figure(mine) / figure(theirs)] : [];
  });
}

export interface ExtraCost {
  readonly variant: string;
  /** Median within-round tps of the variant over the control, minus 1: what turning the extra off gains. */
  readonly tpsGain: number;
  readonly walPer1000: number;
  readonly controlWalPer1000: number;
}

/** Each extra's cost: the attribution's within-round ratios to the control, median over valid rounds. */
export function extraCosts(runs: readonly VariantRun[]): ExtraCost[] {
  const valid = validRuns(runs);
  const control = (round: number) => valid.find((run) => run.round === round && run.variant === CONTROL);
  const variants = [...new Set(valid.map((run) => run.variant))].filter((name) => name !== CONTROL);
  return variants.map((variant) => {
    const mine = valid.filter((run) => run.variant === variant);
    const paired = mine.flatMap((run) => {
      const base = control(run.round);
      return base ? [{ run, base }] : [];
    });
    return {
      variant,
      tpsGain: median(paired.map(({ run, base }) => run.pgbench.tps / base.pgbench.tps)) - 1,
      walPer1000: median(mine.map(walPer1000)),
      controlWalPer1000: median(paired.map(({ base }) => walPer1000(base))),
    };
  });
}

function configFigures(runs: readonly RunRecord[], config: ConfigName) {
  const mine = validRuns(runs).filter((run) => run.config === config);
  const tps = mine.map((run) => run.pgbench.tps);
  const tpsMedian = median(tps);
  return {
    tps: tpsMedian,
    spread: tps.length > 1 ? (Math.max(...tps) - Math.min(...tps)) / 2 / tpsMedian : 0,
    p99: median(mine.map((run) => run.pgbench.latencyMs.p99)),
    p99s: mine.map((run) => run.pgbench.latencyMs.p99),
    wal: median(mine.map(walPer1000)),
    checkpoints: median(mine.map((run) => run.checkpoints)),
    busy: median(mine.map((run) => run.cpu.busyPercent)),
    iowait: median(mine.map((run) => run.cpu.iowaitPercent)),
  };
}

/** What bounded pgstack's runs, from the machine's CPU shares during them. */
function bound(busy: number, iowait: number): string {
  if (iowait >= 10)
    return `CPU ${fixed(busy, 0)}% busy and ${fixed(iowait, 0)}% waiting for the disk: reads and writes set the pace`;
  if (busy >= 85)
    return `CPU ${fixed(busy, 0)}% busy, ${fixed(iowait, 0)}% iowait: the two CPUs set the pace, not the disk`;
  return `CPU ${fixed(busy, 0)}% busy, ${fixed(iowait, 0)}% iowait: neither CPU nor disk saturated`;
}

function throughputWhy(inputs: TargetInputs, other: ConfigName, goal: number): string {
  const mine = configFigures(inputs.runs, "pgstack");
  const theirs = configFigures(inputs.runs, other);
  const ratios = roundRatios(inputs.runs, other);
  const costs = extraCosts(inputs.attribution).filter((cost) => Number.isFinite(cost.tpsGain));
  const parts = [
    `Within-round ratios ${ratios.length ? `${fixed(Math.min(...ratios))}–${fixed(Math.max(...ratios))}` : "n/a"}; ` +
      `one configuration's runs spread by ±${fixed(mine.spread * 100, 0)}% (pgstack) and ±${fixed(theirs.spread * 100, 0)}% (${other}) of their median, ` +
      `so ratios within that are noise.`,
    `Under pgstack: ${bound(mine.busy, mine.iowait)}.`,
    `Checkpoints per run: pgstack ${fixed(mine.checkpoints, 0)}, ${other} ${fixed(theirs.checkpoints, 0)}; ` +
      `WAL per 1,000 tx: ${fixed(mine.wal)} against ${fixed(theirs.wal)} MB.`,
  ];
  if (costs.length > 0) {
    const ranked = [...costs].sort((a, b) => b.tpsGain - a.tpsGain);
    // Only what the baseline lacks is a difference against it (PGTune archives and loads pg_stat_statements too).
    const lacked = costs.filter(
      (cost) => !VARIANTS.find((variant) => variant.name === cost.variant)?.alsoIn.includes(other),
    );
    const total = lacked.reduce((sum, cost) => sum + Math.max(0, cost.tpsGain), 0);
    const withoutExtras = (mine.tps * (1 + total)) / theirs.tps;
    parts.push(
      `pgstack's extras (attribution, turning each off): ${ranked.map((cost) => `${cost.variant} ${percent(cost.tpsGain)} tps`).join(", ")}. ` +
        (lacked.length > 0
          ? `Without the ones ${other} lacks (${lacked.map((cost) => cost.variant.replace(/^− /, "")).join(", ")}), gains added, pgstack would reach ${fixed(withoutExtras)}× ${other}${withoutExtras >= goal ? ", the target" : ", still short of the target"}.`
          : `${other} has every one of them too.`),
    );
  }
  if (other === "stock" && mine.busy >= 85 && mine.iowait < 10)
    parts.push(
      "With the CPUs the bound, pgstack's less WAL and fewer checkpoints save disk work that was not the limit.",
    );
  return parts.join(" ");
}

/** Every target of the issue with its verdict, how far a miss is off, and why, from the figures alone. */
export function targetVerdicts(inputs: TargetInputs): TargetVerdict[] {
  const pgstack = configFigures(inputs.runs, "pgstack");
  const stock = configFigures(inputs.runs, "stock");
  const pgtune = configFigures(inputs.runs, "pgtune");
  const verdicts: TargetVerdict[] = [];

  for (const [other, goal, figures] of [
    ["stock", TARGETS.overStock, stock],
    ["pgtune", TARGETS.overPgtune, pgtune],
  ] as const) {
    const ratio = pgstack.tps / figures.tps;
    const pass = ratio >= goal;
    verdicts.push({
      target: `pgstack ≥ ${goal}× ${other === "stock" ? "stock" : "PGTune"} on median tps`,
      measured: `${fixed(ratio)}× (${fixed(pgstack.tps, 0)} vs ${fixed(figures.tps, 0)} tps)`,
      pass,
      by: pass
        ? ""
        : `short by ${fixed(goal - ratio)}× (${fixed(goal * figures.tps - pgstack.tps, 0)} tps, ${fixed(((goal - ratio) / goal) * 100, 0)}%)`,
      why: pass ? "" : throughputWhy(inputs, other, goal),
    });
  }

  const p99Pass = pgstack.p99 <= pgtune.p99;
  const p99Ratios = roundRatios(inputs.runs, "pgtune", (run) => run.pgbench.latencyMs.p99);
  const range = (values: readonly number[]) => `${fixed(Math.min(...values))}–${fixed(Math.max(...values))}`;
  verdicts.push({
    target: "p99 latency no worse than PGTune's",
    measured: `${fixed(pgstack.p99)} vs ${fixed(pgtune.p99)} ms`,
    pass: p99Pass,
    by: p99Pass
      ? ""
      : `${fixed(pgstack.p99 - pgtune.p99)} ms worse (${percent(pgstack.p99 / pgtune.p99 - 1, 1)})`,
    why: p99Pass
      ? ""
      : `Round by round, pgstack's p99 over PGTune's: ${p99Ratios.map((ratio) => fixed(ratio)).join(", ")} (median ${fixed(median(p99Ratios))}); ` +
        `the runs ranged ${range(pgstack.p99s)} ms (pgstack) and ${range(pgtune.p99s)} ms (PGTune), so a difference inside that range is noise. ` +
        `Checkpoints per run: pgstack ${fixed(pgstack.checkpoints, 0)}, PGTune ${fixed(pgtune.checkpoints, 0)}; ` +
        `pgstack's tps ${fixed(pgstack.tps, 0)} against ${fixed(pgtune.tps, 0)}${pgstack.tps > pgtune.tps ? " (more transactions queue for the same two CPUs)" : ""}; ` +
        `${bound(pgstack.busy, pgstack.iowait)}.`,
  });

  const walShare = pgstack.wal / stock.wal;
  const walPass = walShare <= TARGETS.walShareOfStock;
  const compression = extraCosts(inputs.attribution).find((cost) => cost.variant.includes("wal_compression"));
  verdicts.push({
    target: `WAL per 1,000 transactions ≤ ${TARGETS.walShareOfStock}× stock`,
    measured: `${fixed(walShare)}× (${fixed(pgstack.wal)} vs ${fixed(stock.wal)} MB)`,
    pass: walPass,
    by: walPass
      ? ""
      : `${fixed(walShare - TARGETS.walShareOfStock)}× over (${fixed(pgstack.wal - TARGETS.walShareOfStock * stock.wal)} MB per 1,000 tx too many)`,
    why: walPass
      ? ""
      : `Each run starts right after a checkpoint, so every first change to a page writes a full-page image in all three configurations. ` +
        (compression
          ? `lz4 wal_compression takes pgstack from ${fixed(compression.walPer1000)} to ${fixed(compression.controlWalPer1000)} MB per 1,000 tx (attribution); `
          : "") +
        `what remains is the row changes themselves, which no setting shrinks without weakening durability. Checkpoints per run: pgstack ${fixed(pgstack.checkpoints, 0)}, stock ${fixed(stock.checkpoints, 0)}.`,
  });

  verdicts.push({
    target: "zero OOM kills at full load",
    measured: inputs.fullLoad.figure,
    pass: inputs.fullLoad.passed,
    by: inputs.fullLoad.passed ? "" : "proof 13 failed",
    why: inputs.fullLoad.passed ? "" : `Proof 13: ${inputs.fullLoad.figure}`,
  });

  const goalMb = TARGETS.restoreShareOfDisk * inputs.diskMbPerSecond;
  const control = inputs.levers[0];
  const best = [...inputs.levers].sort((a, b) => b.mbPerSecond - a.mbPerSecond)[0];
  const posix = inputs.levers.find((lever) => lever.lever.startsWith("posix"));
  // Restore throughput is pgBackRest's restore alone (as the old bench's 0.17× was): the drill
  // times it on the same backup with the same process count. Restore + recovery, which adds the
  // server's start-up and WAL replay, is the RTO and is reported beside it, not judged here.
  for (const restore of inputs.restores) {
    const restoreMb = restore.drill.databaseBytes / 1e6 / restore.drill.restoreSeconds;
    const share = restoreMb / inputs.diskMbPerSecond;
    const pass = share >= TARGETS.restoreShareOfDisk;
    const why = [
      `pgBackRest restored ${fixed(restore.drill.databaseBytes / 1e6, 0)} MB in ${fixed(restore.drill.restoreSeconds, 1)} s; the target needs ${fixed(goalMb, 0)} MB/s.`,
      control
        ? `The rendered restore at ${fixed(control.databaseBytes / 1e6, 0)} MB (levers): ${fixed(control.mbPerSecond, 0)} MB/s with the CPUs ${fixed(control.cpu.busyPercent, 0)}% busy, ${fixed(control.cpu.iowaitPercent, 0)}% iowait, s3rver ${fixed(control.s3CpuPerSecond)} CPU-s/s.`
        : "",
      best && control && best !== control
        ? `The fastest lever, ${best.lever}, reached ${fixed(best.mbPerSecond, 0)} MB/s (${fixed(best.mbPerSecond / inputs.diskMbPerSecond)}× disk).`
        : "",
      posix && control
        ? `From a posix repository instead of S3: ${fixed(posix.mbPerSecond, 0)} MB/s, ${fixed(posix.mbPerSecond / control.mbPerSecond)}× the S3 restore: ${posix.mbPerSecond / control.mbPerSecond >= 1.2 ? "the S3 stand-in (s3rver, one Node process on the same two CPUs) costs a share" : "the S3 stand-in is not what bounds it"}.`
        : "",
    ]
      .filter(Boolean)
      .join(" ");
    verdicts.push({
      target: `restore ≥ ${TARGETS.restoreShareOfDisk}× disk speed (${fixed(restore.drill.databaseBytes / 1e6, 0)} MB)`,
      measured: `${fixed(restoreMb, 0)} MB/s = ${fixed(share)}× the disk's ${fixed(inputs.diskMbPerSecond, 0)} MB/s (restore + recovery: ${fixed(restore.seconds, 1)} s, ${fixed(restore.mbPerSecond, 0)} MB/s)`,
      pass,
      by: pass
        ? ""
        : `short by ${fixed(TARGETS.restoreShareOfDisk - share)}× (${fixed(goalMb - restoreMb, 0)} MB/s)`,
      why: pass ? "" : why,
    });
  }

  // Not an issue target: pgstack's own bound (archive_timeout), measured as the old bench did.
  for (const restore of inputs.restores) {
    const { lostSeconds, lost, archiveTimeoutSeconds } = restore.rpo;
    const pass = lostSeconds <= archiveTimeoutSeconds;
    verdicts.push({
      target: `RPO from S3 alone ≤ archive_timeout (${archiveTimeoutSeconds} s), pgstack's own bound`,
      measured: `${fixed(lostSeconds, 1)} s (${lost} acknowledged commits lost)`,
      pass,
      by: pass ? "" : `${fixed(lostSeconds - archiveTimeoutSeconds, 1)} s over`,
      why: pass
        ? ""
        : "The last segment reached S3 later than archive_timeout after its first commit: the push (async pgBackRest, one process) queued behind earlier segments.",
    });
  }
  return verdicts;
}
