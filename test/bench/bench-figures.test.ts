import { describe, expect, it } from "vitest";
import { latencySummary, percentile } from "../../scripts/bench/pgbench";
import { pgtuneConfig } from "../../scripts/bench/pgtune";
import { summarise } from "../../scripts/bench/report";
import type { ConfigName } from "../../scripts/bench/servers";
import { type RunRecord, roundOrder } from "../../scripts/bench/tpcb";

function run(config: ConfigName, round: number, tps: number, isVoid = false): RunRecord {
  return {
    round,
    position: 1,
    config,
    pgbench: { transactions: 1000, failed: 0, tps, latencyMs: { p50: 1, p99: 5, mean: 1.5 } },
    walBytes: 2_000_000,
    checkpoints: 0,
    durability: {},
    loadBefore: isVoid ? 5 : 0.2,
    loadAfter: 2,
    cpu: { busyPercent: 90, iowaitPercent: 1, stealPercent: 0, otherPercent: isVoid ? 40 : 2 },
    peakBytes: 300 * 2 ** 20,
    unreclaimablePeakBytes: 200 * 2 ** 20,
    limitBytes: 2 ** 31,
    void: isVoid,
  };
}

describe("the benchmark's figures", () => {
  it("rotates the order each round so every configuration takes every position", () => {
    const positions = [0, 1, 2].map((round) =>
      roundOrder(["pgstack", "stock", "pgtune"], round).indexOf("pgstack"),
    );
    expect(positions.sort()).toEqual([0, 1, 2]);
  });

  it("reads p50 and p99 by nearest rank", () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(latencies, 0.5)).toBe(50);
    expect(percentile(latencies, 0.99)).toBe(99);
    expect(latencySummary([3, 1, 2])).toEqual({ p50: 2, p99: 3, mean: 2 });
  });

  it("leaves void runs out of the medians while valid runs exist", () => {
    const runs = [run("pgstack", 1, 100), run("pgstack", 2, 900, true), run("pgstack", 3, 200)];
    const summary = summarise([...runs, run("stock", 1, 50), run("pgtune", 1, 60)]);
    expect(summary.tps.pgstack).toEqual({ median: 150, min: 100, max: 200 });
    expect(summary.voidRuns).toBe(1);
    expect(summary.wal.pgstack.median).toBe(2);
  });
});

describe("PGTune's output as its current source computes it", () => {
  it("dev stack inputs: 2GB, 2 CPUs, web, 50 connections, ssd, a database larger than memory", () => {
    const lines = Object.fromEntries(
      pgtuneConfig({
        version: 15,
        workload: "web",
        memoryBytes: 2 * 2 ** 30,
        cpus: 2,
        connections: 50,
        storage: "ssd",
        dbSize: "greater_ram",
      }).map((line) => [line.name, line.value]),
    );
    // (2097152 − 524288) / ((50 + 8) × 3) = 9039.4, × 0.9 for a database larger than RAM.
    expect(lines.work_mem).toBe("8135kB");
    expect(lines.jit).toBe("off");
    expect(lines.huge_pages).toBe("off");
    expect(lines.effective_io_concurrency).toBe("200");
    expect(lines.io_workers).toBeUndefined();
  });

  it("nvme and PostgreSQL 18's io_workers from 16 CPUs", () => {
    const lines = Object.fromEntries(
      pgtuneConfig({
        version: 18,
        workload: "oltp",
        memoryBytes: 64 * 2 ** 30,
        cpus: 16,
        storage: "nvme",
        dbSize: "mid_ram",
      }).map((line) => [line.name, line.value]),
    );
    expect(lines.effective_io_concurrency).toBe("1000");
    expect(lines.io_workers).toBe("4");
    expect(lines.huge_pages).toBe("try");
  });
});
