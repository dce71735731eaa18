import { describe, expect, it } from "vitest";
import { autoConf, CONTROL, type VariantRun } from "../../scripts/bench/attribution";
import { estimatePhases, PHASES } from "../../scripts/bench/progress";
import { type BenchResult, leverReading, renderReport } from "../../scripts/bench/report";
import type { LeverResult } from "../../scripts/bench/restore-levers";
import { parseAcks, rpoFigures } from "../../scripts/bench/rpo";
import type { ConfigName } from "../../scripts/bench/servers";
import { FULL } from "../../scripts/bench/settings";
import { extraCosts, type TargetInputs, targetVerdicts } from "../../scripts/bench/targets";
import { type RunRecord, voidRounds } from "../../scripts/bench/tpcb";

interface Figures {
  readonly tps: number;
  readonly p99?: number;
  readonly walMb?: number;
  readonly other?: number;
}

function run(config: ConfigName, round: number, figures: Figures): RunRecord {
  const other = figures.other ?? 2;
  return {
    round,
    position: 1,
    config,
    pgbench: {
      transactions: 10_000,
      failed: 0,
      tps: figures.tps,
      latencyMs: { p50: 1, p99: figures.p99 ?? 5, mean: 1.5 },
    },
    walBytes: ((figures.walMb ?? 1) * 1e6 * 10_000) / 1000,
    checkpoints: 0,
    durability: {},
    loadBefore: 0.2,
    loadAfter: 2,
    cpu: { busyPercent: 95, iowaitPercent: 1, stealPercent: 0, otherPercent: other },
    peakBytes: 300 * 2 ** 20,
    unreclaimablePeakBytes: 200 * 2 ** 20,
    limitBytes: 2 ** 31,
    void: other > 15,
  };
}

function variant(name: string, round: number, tps: number, walMb = 1): VariantRun {
  return { ...run("pgstack", round, { tps, walMb }), variant: name };
}

function lever(name: string, mbPerSecond: number, s3CpuPerSecond = 0.5): LeverResult {
  return {
    lever: name,
    why: "",
    compressType: "lz4",
    processMax: 2,
    databaseBytes: 1e9,
    repositoryBytes: 2e8,
    backupSeconds: 10,
    restoreSeconds: 1000 / mbPerSecond,
    mbPerSecond,
    cpu: { busyPercent: 90, iowaitPercent: 5, stealPercent: 0, otherPercent: 1 },
    s3CpuPerSecond,
  };
}

/** Three rounds where pgstack, stock and PGTune run at the given tps, p99 and WAL. */
function inputs(figures: Record<ConfigName, Figures>, overrides: Partial<TargetInputs> = {}): TargetInputs {
  const runs = [1, 2, 3].flatMap((round) =>
    (["pgstack", "stock", "pgtune"] as const).map((config) => run(config, round, figures[config])),
  );
  return {
    runs,
    attribution: [],
    fullLoad: { passed: true, figure: "50 sessions: peak 1500 MiB of 2048 MiB, 0 OOM kills" },
    diskMbPerSecond: 500,
    restores: [
      {
        databaseBytes: 4.2e9,
        seconds: 14,
        mbPerSecond: 300,
        drill: { restoreSeconds: 8, recoverySeconds: 1, databaseBytes: 4.2e9, rtoSecondsPerGb: 2.1 },
        rpo: { lostSeconds: 12, lost: 1200, archiveTimeoutSeconds: 30 },
      },
    ],
    levers: [lever("as rendered (lz4, process-max 2)", 300)],
    ...overrides,
  };
}

const byTarget = (verdicts: ReturnType<typeof targetVerdicts>, prefix: string) => {
  const found = verdicts.find((verdict) => verdict.target.startsWith(prefix));
  if (!found) throw new Error(`no target ${prefix}: ${verdicts.map((v) => v.target).join(", ")}`);
  return found;
};

describe("target verdicts, from the measured figures", () => {
  it("passes every target the figures meet, with nothing to explain", () => {
    const verdicts = targetVerdicts(
      inputs({
        pgstack: { tps: 1300, p99: 4, walMb: 0.5 },
        stock: { tps: 1000, p99: 6, walMb: 4 },
        pgtune: { tps: 1250, p99: 4.5, walMb: 0.6 },
      }),
    );
    expect(verdicts.map((v) => [v.target, v.pass])).toEqual([
      ["pgstack ≥ 1.2× stock on median tps", true],
      ["pgstack ≥ 1× PGTune on median tps", true],
      ["p99 latency no worse than PGTune's", true],
      ["WAL per 1,000 transactions ≤ 0.25× stock", true],
      ["zero OOM kills at full load", true],
      ["restore ≥ 0.5× disk speed (4200 MB)", true],
      ["RPO from S3 alone ≤ archive_timeout (30 s), pgstack's own bound", true],
    ]);
    expect(verdicts.every((v) => v.by === "" && v.why === "")).toBe(true);
  });

  it("says by how much a throughput target is missed and what pgstack's extras cost", () => {
    const verdicts = targetVerdicts(
      inputs(
        {
          pgstack: { tps: 950 },
          stock: { tps: 1000 },
          pgtune: { tps: 1000 },
        },
        {
          attribution: [
            variant(CONTROL, 1, 950),
            variant("− archiving", 1, 1045),
            variant("− pg_stat_statements", 1, 988),
          ],
        },
      ),
    );
    const overStock = byTarget(verdicts, "pgstack ≥ 1.2× stock");
    expect(overStock.pass).toBe(false);
    expect(overStock.measured).toBe("0.95× (950 vs 1000 tps)");
    // 1.2 × 1000 − 950 tps; (1.2 − 0.95) / 1.2 of the goal.
    expect(overStock.by).toBe("short by 0.25× (250 tps, 21%)");
    expect(overStock.why).toContain("− archiving +10% tps, − pg_stat_statements +4% tps");
    // Stock archives too: only pg_stat_statements' 4% counts; 950 × 1.04 / 1000, short of 1.2.
    expect(overStock.why).toContain(
      "Without the ones stock lacks (pg_stat_statements), gains added, pgstack would reach 0.99× stock, still short of the target",
    );
    const overPgtune = byTarget(verdicts, "pgstack ≥ 1× PGTune");
    expect(overPgtune.by).toBe("short by 0.05× (50 tps, 5%)");
    // PGTune archives and loads pg_stat_statements as pgstack does.
    expect(overPgtune.why).toContain("pgtune has every one of them too.");
  });

  it("misses p99 and WAL by their differences", () => {
    const verdicts = targetVerdicts(
      inputs({
        pgstack: { tps: 1300, p99: 6, walMb: 1.5 },
        stock: { tps: 1000, p99: 6, walMb: 4 },
        pgtune: { tps: 1250, p99: 5, walMb: 1.4 },
      }),
    );
    const p99 = byTarget(verdicts, "p99");
    expect(p99.pass).toBe(false);
    expect(p99.by).toBe("1.00 ms worse (+20.0%)");
    expect(p99.why).toContain("Round by round, pgstack's p99 over PGTune's: 1.20, 1.20, 1.20 (median 1.20)");
    expect(p99.why).toContain("the runs ranged 6.00–6.00 ms (pgstack) and 5.00–5.00 ms (PGTune)");
    const wal = byTarget(verdicts, "WAL");
    expect(wal.pass).toBe(false);
    expect(wal.measured).toBe("0.38× (1.50 vs 4.00 MB)");
    expect(wal.by).toBe("0.13× over (0.50 MB per 1,000 tx too many)");
  });

  it("fails the full-load target when proof 13 failed, quoting it", () => {
    const verdict = byTarget(
      targetVerdicts(
        inputs(
          { pgstack: { tps: 1 }, stock: { tps: 1 }, pgtune: { tps: 1 } },
          { fullLoad: { passed: false, figure: "OOM kills in the primary's cgroup at full load: 1" } },
        ),
      ),
      "zero OOM",
    );
    expect(verdict.pass).toBe(false);
    expect(verdict.why).toContain("OOM kills in the primary's cgroup at full load: 1");
  });

  it("explains a slow restore with the levers and the posix control", () => {
    const verdict = byTarget(
      targetVerdicts(
        inputs(
          { pgstack: { tps: 1 }, stock: { tps: 1 }, pgtune: { tps: 1 } },
          {
            restores: [
              {
                databaseBytes: 4.2e9,
                seconds: 50,
                mbPerSecond: 84,
                // pgBackRest's restore alone: 4200 MB in 42 s, 100 MB/s.
                drill: {
                  restoreSeconds: 42,
                  recoverySeconds: 3,
                  databaseBytes: 4.2e9,
                  rtoSecondsPerGb: 10.7,
                },
                rpo: { lostSeconds: 31, lost: 3100, archiveTimeoutSeconds: 30 },
              },
            ],
            levers: [
              lever("as rendered (lz4, process-max 2)", 110),
              lever("process-max 4", 130),
              lever("posix repository (lz4, same cipher)", 200, 0),
            ],
          },
        ),
      ),
      "restore",
    );
    expect(verdict.pass).toBe(false);
    expect(verdict.measured).toBe(
      "100 MB/s = 0.20× the disk's 500 MB/s (restore + recovery: 50.0 s, 84 MB/s)",
    );
    expect(verdict.by).toBe("short by 0.30× (150 MB/s)");
    expect(verdict.why).toContain(
      "The fastest lever, posix repository (lz4, same cipher), reached 200 MB/s (0.40× disk)",
    );
    expect(verdict.why).toContain("1.82× the S3 restore: the S3 stand-in");
  });

  it("judges the RPO against archive_timeout", () => {
    const verdict = byTarget(
      targetVerdicts(
        inputs(
          { pgstack: { tps: 1 }, stock: { tps: 1 }, pgtune: { tps: 1 } },
          {
            restores: [
              {
                databaseBytes: 1e9,
                seconds: 5,
                mbPerSecond: 200,
                drill: { restoreSeconds: 3, recoverySeconds: 1, databaseBytes: 1e9, rtoSecondsPerGb: 4 },
                rpo: { lostSeconds: 34.5, lost: 3450, archiveTimeoutSeconds: 30 },
              },
            ],
          },
        ),
      ),
      "RPO",
    );
    expect(verdict.pass).toBe(false);
    expect(verdict.by).toBe("4.5 s over");
  });
});

describe("the benchmark's rounds", () => {
  it("voids a whole round when one of its runs saw other work, and no other round", () => {
    const records = voidRounds([
      run("pgstack", 1, { tps: 1 }),
      run("stock", 1, { tps: 1, other: 40 }),
      run("pgstack", 2, { tps: 1 }),
    ]);
    expect(records.map((record) => record.void)).toEqual([true, true, false]);
  });

  it("measures each extra against the control of its own round, leaving void rounds out", () => {
    const costs = extraCosts([
      variant(CONTROL, 1, 1000, 1),
      variant("− wal_compression", 1, 1100, 2),
      variant(CONTROL, 2, 500, 1),
      variant("− wal_compression", 2, 600, 2),
      { ...variant(CONTROL, 3, 100), void: true },
      { ...variant("− wal_compression", 3, 900), void: true },
    ]);
    // Round ratios 1.1 and 1.2: the median gain is 15%.
    expect(costs).toHaveLength(1);
    expect(costs[0].variant).toBe("− wal_compression");
    expect(costs[0].tpsGain).toBeCloseTo(0.15);
    expect(costs[0].walPer1000).toBe(2);
    expect(costs[0].controlWalPer1000).toBe(1);
  });

  it("writes the attribution's settings as ALTER SYSTEM does, quoted", () => {
    expect(autoConf({ shared_preload_libraries: "", archive_mode: "off" })).toBe(
      [
        "# Do not edit this file manually!",
        "# It will be overwritten by the ALTER SYSTEM command.",
        "shared_preload_libraries = ''",
        "archive_mode = 'off'",
        "",
      ].join("\n"),
    );
  });

  it("sizes the full run for under an hour (a quiet run took 40 min), with the issue's data set and rounds", () => {
    // Twice the 2 GiB limit at about 15.8 MB per scale unit (792 MB at scale 50); at least 5 rotated rounds.
    expect(FULL.scale * 15.8e6).toBeGreaterThanOrEqual(2 * 2 * 2 ** 30);
    expect(FULL.rounds).toBeGreaterThanOrEqual(5);
    const estimates = estimatePhases(FULL);
    const total = PHASES.reduce((sum, phase) => sum + estimates[phase], 0);
    expect(total / 60).toBeGreaterThan(35);
    expect(total / 60).toBeLessThan(60);
  });
});

describe("RPO from S3 alone", () => {
  it("reads acknowledgements from pgbench's per-transaction log", () => {
    expect(parseAcks("0 0 1520 0 1764567890 123456\n0 1 1400 0 1764567890 133456\n")).toEqual([
      { id: 1, atMs: 1764567890123.456 },
      { id: 2, atMs: 1764567890133.456 },
    ]);
  });

  it("counts the acknowledged commits the restored copy lacks, and their span in seconds", () => {
    const acks = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, atMs: 1_000 + i * 100 }));
    // Vanished after the 90th acknowledgement (at 9,900 ms); the copy holds ids up to 60.
    const figures = rpoFigures(acks, 9_950, 60, { rate: 10, seconds: 9, archiveTimeoutSeconds: 30 });
    expect(figures.acknowledged).toBe(90);
    expect(figures.restored).toBe(60);
    expect(figures.lost).toBe(30);
    // Ack 90 at 9,900 ms, ack 60 at 6,900 ms.
    expect(figures.lostSeconds).toBeCloseTo(3);
  });

  it("loses nothing when the copy holds every acknowledged commit", () => {
    const acks = [
      { id: 1, atMs: 100 },
      { id: 2, atMs: 200 },
    ];
    expect(rpoFigures(acks, 250, 3, { rate: 10, seconds: 1, archiveTimeoutSeconds: 30 })).toMatchObject({
      lost: 0,
      lostSeconds: 0,
    });
  });
});

describe("BENCHMARKS.md", () => {
  it("writes the targets table from the figures, and a reason under it for each miss", () => {
    const figures = inputs(
      { pgstack: { tps: 950 }, stock: { tps: 1000, walMb: 4 }, pgtune: { tps: 900 } },
      { attribution: [variant(CONTROL, 1, 950), variant("− archiving", 1, 1000)] },
    );
    const result: BenchResult = {
      quick: false,
      startedAt: "2026-12-01T05:00:00Z",
      finishedAt: "2026-12-01T05:58:30Z",
      settings: FULL,
      machine: {
        cpus: 2,
        cpuModel: "test",
        memoryBytes: 2 ** 34,
        kernel: "6",
        disk: "/dev/vda ext4",
        loadAverage: [0, 0, 0],
      },
      versions: { postgres: "15", pgbench: "15", pgbackrest: "2.45", node: "v24", pgstackCommit: "abc" },
      disk: { method: "dd", attempts: [500], mbPerSecond: 500 },
      memoryLimitBytes: 2 ** 31,
      databaseBytes: 4.4e9,
      settingsReported: { pgstack: {}, stock: {}, pgtune: {} },
      pgtuneText: "max_connections = 50",
      runs: figures.runs,
      attribution: figures.attribution,
      fullLoad: figures.fullLoad,
      restores: figures.restores.map((restore) => ({
        ...restore,
        backupSeconds: 60,
        rpo: { ...restore.rpo, acknowledged: 6000, restored: 4800, writerRate: 100, writerSeconds: 60 },
      })),
      levers: figures.levers,
      phases: [
        { name: "TPC-B rounds", seconds: 1800, expectedSeconds: 1725 },
        { name: "full load", seconds: 59.6, expectedSeconds: 90 },
      ],
    };
    const report = renderReport(result, []);
    expect(report).toContain("(58 min 30 s)");
    expect(report).toContain(
      "| pgstack ≥ 1.2× stock on median tps | 0.95× (950 vs 1000 tps) | **MISS** | short by 0.25× (250 tps, 21%) |",
    );
    expect(report).toContain("| pgstack ≥ 1× PGTune on median tps | 1.06× (950 vs 900 tps) | **PASS** |  |");
    expect(report).toMatch(/- \*\*pgstack ≥ 1\.2× stock on median tps\*\*: Within-round ratios 0\.95–0\.95;/);
    expect(report).not.toContain("- **pgstack ≥ 1× PGTune");
    expect(report).toContain("| − archiving |");
    expect(report).toContain("| TPC-B rounds | 30 min 0 s | 28 min 45 s |");
    // Rounded to whole seconds before splitting: never "0 min 60 s".
    expect(report).toContain("| full load | 1 min 0 s | 1 min 30 s |");
  });
});

describe("the restore levers' reading", () => {
  it("names the fastest row, the S3 path's share of the time and the levers worth a quiet run", () => {
    const reading = leverReading([
      lever("as rendered (lz4, process-max 2)", 150),
      lever("process-max 1", 110),
      lever("compress-type zst", 200),
      lever("posix repository (lz4, same cipher)", 300, 0),
    ]);
    expect(reading).toContain(
      "The fastest row: posix repository (lz4, same cipher), 2.00× the rendered restore.",
    );
    // 1000 / 300 s against 1000 / 150 s: half the time is the S3 path's.
    expect(reading).toContain(
      "the S3 path (s3rver, TLS, one request per file) took 50% of the rendered restore's time",
    );
    expect(reading).toContain("more than 10% faster than rendered: compress-type zst (1.33×)");
  });

  it("says when other work shared the CPUs during the restores", () => {
    const busy = (name: string, mbPerSecond: number): LeverResult => ({
      ...lever(name, mbPerSecond),
      cpu: { busyPercent: 100, iowaitPercent: 0, stealPercent: 0, otherPercent: 60 },
    });
    expect(leverReading([busy("as rendered", 150), busy("process-max 4", 200)])).toContain(
      "Other work took a median 60% of the machine's CPU during these restores",
    );
    expect(leverReading([lever("as rendered", 150), lever("process-max 4", 200)])).not.toContain(
      "Other work",
    );
  });

  it("keeps the rendered choice when no lever beats it by more than 10%", () => {
    expect(leverReading([lever("as rendered", 150), lever("process-max 4", 160)])).toContain(
      "No lever of pgstack's own choice was more than 10% faster than rendered",
    );
  });
});
