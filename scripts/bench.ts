import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { memoryAtFullLoad } from "../test/proving/harness/proofs";
import { ProvingCluster } from "../test/proving/harness/proving-cluster";
import { memoryChart, rtoChart, throughputChart, walChart } from "./bench/charts";
import { describeMachine, diskSequentialWrite, versions } from "./bench/machine";
import { pgbenchInit } from "./bench/pgbench";
import { type PgtuneInput, pgtuneConfig, renderPgtune } from "./bench/pgtune";
import {
  BENCH_STACK,
  type BenchResult,
  type BenchSettings,
  type RestorePoint,
  renderReport,
} from "./bench/report";
import { BENCH_DATABASE, BenchServer, baselineServer, type ConfigName, showSettings } from "./bench/servers";
import { runTpcb } from "./bench/tpcb";

/**
 * npm run bench [-- --quick] [-- --out <file>] [-- --from <json>]
 * pgstack's dev stack (2 GiB, 2 CPUs, SSD, web) on the container-true proving ground against
 * stock PostgreSQL and PGTune's settings for the same resources, each server in its own
 * container and memory cgroup with the same limit, both baselines archiving through the same
 * pgBackRest command: rotated pgbench rounds (tps, p50/p99, checkpoints, WAL per 1,000
 * transactions, peak memory, machine load), the full-load memory proof, and restore + recovery
 * time for two database sizes. A full run writes BENCHMARKS.md and its SVG charts next to it;
 * --quick runs a reduced configuration and writes only where --out says. Needs root (namespaces,
 * cgroups), like `npm run prove`.
 */

const FULL: BenchSettings = {
  // About 15 MB per scale unit: 280 is about 4.2 GB, twice the 2 GiB limit, so reads reach the disk.
  scale: 280,
  clients: 8,
  threads: 2,
  seconds: 120,
  rounds: 5,
};

const QUICK: BenchSettings = {
  scale: 5,
  clients: 4,
  threads: 2,
  seconds: 10,
  rounds: 2,
};

const PROJECT_DIR = resolve(__dirname, "..");

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      from: { type: "string" },
    },
  });
  if (values.from) return rerender(values.from, values.out);
  const quick = values.quick === true;
  const settings = quick ? QUICK : FULL;
  const out = values.out ?? (quick ? undefined : join(PROJECT_DIR, "BENCHMARKS.md"));

  let cluster: ProvingCluster | undefined;
  process.once("SIGINT", () => {
    log("interrupted: stopping every container the benchmark started");
    void (cluster?.dispose() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  try {
    const startedAt = new Date();
    log(
      `pgstack bench${quick ? " (quick)" : ""}: scale ${settings.scale}, ${settings.clients} clients, ${settings.seconds} s × ${settings.rounds} round(s) per configuration`,
    );
    cluster = await ProvingCluster.prepare(BENCH_STACK);
    const spec = cluster.spec;
    const machine = await describeMachine(dirname(cluster.primary.dataDir));
    const toolVersions = await versions();
    const disk = await diskSequentialWrite(
      dirname(cluster.primary.dataDir),
      quick ? 1 : 3,
      quick ? 256 : 1024,
    );
    log(`disk sequential write: ${disk.mbPerSecond.toFixed(0)} MB/s`);

    const pgtuneInput: PgtuneInput = {
      version: spec.postgres.version,
      workload: spec.postgres.workload,
      memoryBytes: spec.resources.memoryLimitBytes,
      cpus: spec.resources.cpus,
      connections: spec.postgres.maxConnections,
      storage: spec.resources.storageMedium,
      // The full run's data set is twice the limit.
      dbSize: quick ? "less_ram" : "greater_ram",
    };
    const pgtuneLines = pgtuneConfig(pgtuneInput);
    const pgtuneText = renderPgtune(pgtuneInput, pgtuneLines);

    log("pgstack: the dev stack's primary, as its platform starts it");
    await cluster.startPrimary();
    const pgstack = new BenchServer("pgstack", cluster.primary);
    await pgstack.sql(`CREATE DATABASE ${BENCH_DATABASE}`, "postgres");
    log("stock and PGTune: containers like the primary's, archiving with the same pgBackRest command");
    const stock = await baselineServer(cluster, "stock", {});
    const pgtune = await baselineServer(cluster, "pgtune", {
      ...Object.fromEntries(pgtuneLines.map((line) => [line.name, line.value])),
      shared_preload_libraries: "pg_stat_statements",
    });
    const servers: Record<ConfigName, BenchServer> = { pgstack, stock, pgtune };
    const reported: Partial<Record<ConfigName, Record<string, string>>> = {};
    for (const config of ["pgstack", "stock", "pgtune"] as const) {
      const server = servers[config];
      if (!server.running()) await server.start();
      log(`${config}: pgbench -i -s ${settings.scale}`);
      await pgbenchInit(server, settings.scale);
      reported[config] = await showSettings(server);
      if (config !== "pgstack") await server.stop();
    }
    const databaseBytes = Number(await pgstack.sql(`SELECT pg_database_size('${BENCH_DATABASE}')`));
    await pgstack.stop();
    log(`bench database: ${(databaseBytes / 1e6).toFixed(0)} MB`);

    const runs = await runTpcb(servers, settings, machine.cpus, log);

    await pgstack.start();
    log("full load: proof 13 (every connection past work_mem, pgstack and PGTune's values)");
    const fullLoad = (await memoryAtFullLoad.run(cluster)).figure;

    // Recovery time for two sizes: the bench database, then with a copy of it beside (twice the data).
    const restores: RestorePoint[] = [];
    for (const [index, step] of ["as benchmarked", "doubled"].entries()) {
      if (index === 1)
        await pgstack.sql(`CREATE DATABASE ${BENCH_DATABASE}_copy TEMPLATE ${BENCH_DATABASE}`, "postgres");
      const bytes = Number(
        await pgstack.sql("SELECT sum(pg_database_size(datname)) FROM pg_database", "postgres"),
      );
      log(`restore (${step}, ${(bytes / 1e6).toFixed(0)} MB): full backup, then a restored copy`);
      await cluster.scheduledBackup("full");
      const { copy, restoreMs } = await cluster.restoreCopy(`bench-restore-${index + 1}`, { type: "latest" });
      await copy.stop();
      restores.push({
        databaseBytes: bytes,
        seconds: restoreMs / 1000,
        mbPerSecond: bytes / 1e6 / (restoreMs / 1000),
      });
      log(`restore: ${(restoreMs / 1000).toFixed(1)} s`);
    }

    const result: BenchResult = {
      quick,
      startedAt,
      finishedAt: new Date(),
      settings,
      machine,
      versions: toolVersions,
      disk,
      memoryLimitBytes: spec.resources.memoryLimitBytes,
      databaseBytes,
      settingsReported: reported as Record<ConfigName, Record<string, string>>,
      pgtuneText,
      runs,
      fullLoad,
      restores,
    };
    const saved = await saveResult(result);
    log(`raw results: ${saved}`);
    await writeReport(result, out);
    return 0;
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await cluster?.dispose();
  }
}

/** The report, and its charts as SVG files beside it (or only printed, without --out). */
async function writeReport(result: BenchResult, out: string | undefined): Promise<void> {
  const charts = [
    {
      file: "bench-throughput.svg",
      title: "tps and p99 latency per configuration and round",
      draw: throughputChart(result.runs),
    },
    { file: "bench-wal.svg", title: "WAL per 1,000 transactions", draw: walChart(result.runs) },
    {
      file: "bench-memory.svg",
      title: "peak cgroup memory against the limit",
      draw: memoryChart(result.runs),
    },
    {
      file: "bench-rto.svg",
      title: "restore + recovery time against database size",
      draw: rtoChart(result.restores),
    },
  ];
  const report = renderReport(
    result,
    out ? charts.map(({ file, title }) => ({ file: `docs/bench/${file}`, title })) : [],
  );
  if (!out) {
    console.log(`\n${report}`);
    for (const chart of charts) log(`chart ${chart.file}: ${(await chart.draw).length} bytes of SVG`);
    return;
  }
  const chartDir = join(dirname(out), "docs", "bench");
  await mkdir(chartDir, { recursive: true });
  for (const chart of charts) await writeFile(join(chartDir, chart.file), await chart.draw);
  await writeFile(out, report);
  log(`wrote ${out} and ${charts.length} charts in ${chartDir}`);
}

/** Raw figures of every run, kept out of git (.scratch/), so a report can be re-rendered from them. */
async function saveResult(result: BenchResult): Promise<string> {
  const dir = join(PROJECT_DIR, ".scratch", "bench");
  await mkdir(dir, { recursive: true });
  const stamp = new Date(result.startedAt).toISOString().replace(/[:.]/g, "-");
  const file = join(dir, `${result.quick ? "quick" : "full"}-${stamp}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  return file;
}

/** --from <file>: the report of a saved run, rendered again (same figures, current report text). */
async function rerender(file: string, out: string | undefined): Promise<number> {
  const result = JSON.parse(await readFile(file, "utf8")) as BenchResult;
  await writeReport(result, out ?? (result.quick ? undefined : join(PROJECT_DIR, "BENCHMARKS.md")));
  return 0;
}

main().then((code) => process.exit(code));
