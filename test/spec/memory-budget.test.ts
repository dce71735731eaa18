import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import {
  computeMemoryBudget,
  largestFittingWorkMem,
  type MemoryTerms,
  MIN_WORK_MEM_BYTES,
  pageTableBytes,
} from "../../components/spec/memory-budget";
import { parseMemoryValue } from "../../components/spec/parameter-values";
import { type TuningInput, tune } from "../../components/spec/tuning";
import { GiB, KiB, MiB, parseQuantity } from "../../components/spec/units";
import { tuningInput } from "./tuning-input";

const terms: MemoryTerms = {
  limitBytes: 8 * GiB,
  sharedBuffersBytes: 2 * GiB,
  walBuffersBytes: 16 * MiB,
  workMemBytes: 8 * MiB,
  hashMemMultiplier: 2,
  maxConnections: 100,
  maxWorkerProcesses: 4,
  maxParallelWorkers: 4,
  autovacuumWorkers: 3,
  autovacuumWorkMemBytes: 128 * MiB,
  maintenanceWorkMemBytes: 512 * MiB,
  maxWalSenders: 4,
  hugePages: false,
};

describe("computeMemoryBudget", () => {
  it("adds every term of the worst case", () => {
    const budget = computeMemoryBudget(terms);
    // 111 processes × (2.5MiB private + 4MiB + 32kB of page tables for 2GiB + 16MiB of shared memory) + 64MiB.
    const overhead = 64 * MiB + 111 * (2.5 * MiB + ((2 * GiB + 16 * MiB) / (4 * KiB)) * 8);
    expect(budget.overheadBytes).toBe(overhead);
    expect(budget.connections).toBe(104);
    expect(budget.totalBytes).toBe(
      2 * GiB + 16 * MiB + 104 * 8 * MiB * 2 + 3 * 128 * MiB + 512 * MiB + overhead,
    );
    expect(budget.fits).toBe(true);
    // 10% of the 8GiB limit is what pgstack leaves free in its own sizing.
    expect(budget.headroomBytes).toBe(Math.ceil((terms.limitBytes * 0.1) / KiB) * KiB);
  });

  it("counts page tables per process: 512 times less with huge pages", () => {
    expect(pageTableBytes(2 * GiB, false)).toBe(4 * MiB);
    expect(pageTableBytes(2 * GiB, true)).toBe(8 * KiB);
  });

  it("finds the largest work_mem that fits, to the kB", () => {
    const largest = largestFittingWorkMem(terms);
    expect(largest % KiB).toBe(0);
    expect(computeMemoryBudget({ ...terms, workMemBytes: largest }).fits).toBe(true);
    expect(computeMemoryBudget({ ...terms, workMemBytes: largest + KiB }).fits).toBe(false);
  });

  it("leaves the headroom free when asked to (pgstack's own sizing)", () => {
    const largest = largestFittingWorkMem(terms, true);
    expect(computeMemoryBudget({ ...terms, workMemBytes: largest }).keepsHeadroom).toBe(true);
    expect(computeMemoryBudget({ ...terms, workMemBytes: largest + KiB }).keepsHeadroom).toBe(false);
    expect(largest).toBeLessThan(largestFittingWorkMem(terms));
  });
});

const MEMORY_LIMITS_MIB = { min: 512, max: 256 * 1024 };

function inputArbitrary(): fc.Arbitrary<TuningInput> {
  return fc
    .record({
      memoryMiB: fc.integer(MEMORY_LIMITS_MIB),
      cpus: fc.integer({ min: 1, max: 64 }),
      maxConnections: fc.integer({ min: 10, max: 2000 }),
      workload: fc.constantFrom("web", "oltp", "dw", "mixed", "desktop" as const),
      storageMedium: fc.constantFrom("ssd", "hdd", "san" as const),
      version: fc.constantFrom(15, 16, 17 as const),
      replicas: fc.integer({ min: 0, max: 5 }),
      storageGiB: fc.integer({ min: 1, max: 4096 }),
    })
    .map((r) =>
      tuningInput({
        memoryLimitBytes: r.memoryMiB * MiB,
        cpus: r.cpus,
        maxConnections: r.maxConnections,
        workload: r.workload,
        storageMedium: r.storageMedium,
        version: r.version,
        replicas: r.replicas,
        storageBytes: r.storageGiB * GiB,
      }),
    );
}

/** The value a fix suggests: `pulumi config set <key> <value> (...)`. */
function suggested(fix: string): string | undefined {
  return /^pulumi config set pgstack:\w+ (\S+)/.exec(fix)?.[1];
}

describe("the memory budget holds for every valid input", () => {
  it("fits under the limit with work_mem of at least 1MB, or refuses naming both keys with fixes that fit", () => {
    fc.assert(
      fc.property(inputArbitrary(), (input) => {
        let result: ReturnType<typeof tune>;
        try {
          result = tune(input);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          const problems = (error as ConfigError).problems;
          expect(problems.map((p) => p.key)).toEqual(["pgstack:memoryLimit", "pgstack:maxConnections"]);
          const limit = suggested(problems[0].fix);
          if (limit)
            expect(() => tune({ ...input, memoryLimitBytes: parseQuantity(limit) as number })).not.toThrow();
          const connections = suggested(problems[1].fix);
          if (connections)
            expect(() => tune({ ...input, maxConnections: Number(connections) })).not.toThrow();
          return;
        }
        const budget = result.memoryBudget;
        expect(budget.totalBytes).toBeLessThanOrEqual(input.memoryLimitBytes);
        expect(budget.fits).toBe(true);
        expect(budget.workMemBytes).toBeGreaterThanOrEqual(MIN_WORK_MEM_BYTES);
        const workMem = result.parameters.find((p) => p.name === "work_mem")?.value ?? "";
        expect(parseMemoryValue(workMem)).toBe(budget.workMemBytes);
        expect(result.shmBytes).toBeGreaterThanOrEqual(64 * MiB);
        expect(result.shmBytes).toBeLessThanOrEqual(input.memoryLimitBytes);
      }),
      { numRuns: 300, seed: 20240601 },
    );
  });

  it("budgets from the written values, so the rendered config is what was checked", () => {
    const { parameters, memoryBudget } = tune(tuningInput());
    const value = (name: string) => parseMemoryValue(parameters.find((p) => p.name === name)?.value ?? "");
    expect(memoryBudget.sharedBuffersBytes).toBe(value("shared_buffers"));
    expect(memoryBudget.walBuffersBytes).toBe(value("wal_buffers"));
    expect(memoryBudget.maintenanceWorkMemBytes).toBe(value("maintenance_work_mem"));
    expect(memoryBudget.autovacuumWorkMemBytes).toBe(value("autovacuum_work_mem"));
  });
});

describe("when even 1MB of work_mem cannot fit", () => {
  const input = tuningInput({ memoryLimitBytes: 512 * MiB, maxConnections: 100, workload: "mixed", cpus: 2 });

  it("names memoryLimit and maxConnections with their values and the values that fit", () => {
    let error: unknown;
    try {
      tune(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const [memory, connections] = (error as ConfigError).problems;
    expect(memory).toMatchObject({ key: "pgstack:memoryLimit", value: '"512Mi"' });
    expect(memory.message).toContain("cannot hold 100 connections with work_mem of at least 1MB");
    expect(memory.fix).toMatch(
      /^pulumi config set pgstack:memoryLimit \d+Mi \(the smallest limit that fits 100 connections\)$/,
    );
    expect(connections).toMatchObject({ key: "pgstack:maxConnections", value: "100" });
    expect(connections.fix).toMatch(
      /^pulumi config set pgstack:maxConnections \d+ \(the most that fit in 512Mi\)/,
    );
    // The suggestion fits, and the next smaller step (128Mi less) does not: it is the smallest.
    const limit = parseQuantity(suggested(memory.fix) ?? "") as number;
    expect(() => tune({ ...input, memoryLimitBytes: limit })).not.toThrow();
    expect(() => tune({ ...input, memoryLimitBytes: limit - 128 * MiB })).toThrow(ConfigError);
    const most = Number(suggested(connections.fix));
    expect(() => tune({ ...input, maxConnections: most })).not.toThrow();
    expect(() => tune({ ...input, maxConnections: most + 1 })).toThrow(ConfigError);
  });

  it("says when no memoryLimit can hold the connections with 4kB pages, and huge_pages=on then fits", () => {
    const many = tuningInput({ memoryLimitBytes: 256 * GiB, maxConnections: 2000, cpus: 64 });
    expect(() => tune(many)).toThrow(/no memoryLimit up to 1Ti fits 2000 connections/);
    const budget = tune({ ...many, overrides: ["huge_pages=on"] }).memoryBudget;
    expect(budget.fits).toBe(true);
  });
});
