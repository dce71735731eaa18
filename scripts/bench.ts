import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { drillSummary } from "../test/proving/harness/drill-summary";
import { describeFullLoad, measureFullLoad } from "../test/proving/harness/proofs";
import { ProvingCluster } from "../test/proving/harness/proving-cluster";
import { runAttribution } from "./bench/attribution";
import { runnerFullBackup } from "./bench/backup";
import { memoryChart, rtoChart, throughputChart, walChart } from "./bench/charts";
import { describeMachine, diskSequentialWrite, versions } from "./bench/machine";
import { pgbenchInit } from "./bench/pgbench";
import { type PgtuneInput, pgtuneConfig, renderPgtune } from "./bench/pgtune";
import { estimatePhases, Progress } from "./bench/progress";
import {
  BENCH_STACK,
  type BenchResult,
  type BenchSettings,
  type RestorePoint,
  renderAttribution,
  renderLevers,
  renderReport,
} from "./bench/report";
import { leverServer, measureLevers } from "./bench/restore-levers";
import { restoredRows, rpoFigures, startWriter, vanish } from "./bench/rpo";
import { BENCH_DATABASE, BenchServer, baselineServer, type ConfigName, showSettings } from "./bench/servers";
import { FULL, QUICK } from "./bench/settings";
import { runTpcb } from "./bench/tpcb";

/**
 * npm run bench [-- --quick] [-- --out <file>] [-- --from <json>] [-- --attribute | --levers]
 * pgstack's dev stack (2 GiB, 2 CPUs, SSD, web) on the container-true proving ground against
 * stock PostgreSQL and PGTune's settings for the same resources, each server in its own
 * container and memory cgroup with the same limit, both baselines archiving through the same
 * pgBackRest command: rotated pgbench rounds (tps, p50/p99, checkpoints, WAL per 1,000
 * transactions, peak memory, machine load), pgstack with each extra off in turn (attribution),
 * the full-load memory proof, restore + recovery time and the RPO from S3 alone for two
 * database sizes, the restore's levers, and the targets with their verdicts. A full run writes BENCHMARKS.md and its SVG charts next to it;
 * --quick runs a reduced configuration and writes only where --out says. Needs root (namespaces,
 * cgroups), like `npm run prove`.
 */

const PROJECT_DIR = resolve(__dirname, "..");

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

/** The proving ground of this run, stopped whatever way the process ends. */
let active: ProvingCluster | undefined;

/**
 * A container's PID 1 outlives the process that started it: an interrupt or an unhandled
 * rejection stops every container the benchmark started before the process exits.
 */
function stopContainersOnExit(): void {
  const stop = (code: number) =>
    void (active?.dispose() ?? Promise.resolve()).finally(() => process.exit(code));
  process.once("SIGINT", () => {
    log("interrupted: stopping every container the benchmark started");
    stop(130);
  });
  process.once("unhandledRejection", (error) => {
    log(`FAILED (unhandled): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    stop(1);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      from: { type: "string" },
      levers: { type: "boolean", default: false },
      attribute: { type: "boolean", default: false },
    },
  });
  if (values.from) return rerender(values.from, values.out);
  stopContainersOnExit();
  const quick = values.quick === true;
  const settings = quick ? QUICK : FULL;
  if (values.levers) return leversOnly(settings.leverScale);
  if (values.attribute) return attributionOnly(settings);
  const out = values.out ?? (quick ? undefined : join(PROJECT_DIR, "BENCHMARKS.md"));

  const startedAt = new Date();
  log(
    `pgstack bench${quick ? " (quick)" : ""}: scale ${settings.scale}, ${settings.clients} clients, ${settings.seconds} s × ${settings.rounds} round(s) per configuration`,
  );
  const progress = new Progress(estimatePhases(settings), log);
  return onBenchCluster(async (cluster) => {
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
      const initMs = await pgbenchInit(server, settings.scale);
      log(`${config}: pgbench -i took ${(initMs / 1000).toFixed(1)} s`);
      reported[config] = await showSettings(server);
      if (config !== "pgstack") await server.stop();
    }
    const databaseBytes = Number(await pgstack.sql(`SELECT pg_database_size('${BENCH_DATABASE}')`));
    await pgstack.stop();
    log(`bench database: ${(databaseBytes / 1e6).toFixed(0)} MB`);

    progress.phase("TPC-B rounds");
    const runs = await runTpcb(servers, settings, log);
    progress.phase("attribution");

    log(
      `attribution: pgstack with each extra off in turn, ${settings.attribution.rounds} round(s) of ${settings.attribution.seconds} s`,
    );
    const attribution = await runAttribution(pgstack, { ...settings, ...settings.attribution }, log);
    progress.phase("full load");

    await pgstack.start();
    log("full load: proof 13 (every connection past work_mem, pgstack and PGTune's values)");
    const fullLoad = await measureFullLoad(cluster).then(
      (figures) => ({ passed: true, figure: describeFullLoad(figures), figures }),
      (error: Error) => ({ passed: false, figure: error.message.split("\n").slice(0, 3).join(" ") }),
    );
    if (!pgstack.running()) await pgstack.start();
    progress.phase("restore and RPO");

    // Recovery time for two sizes: the bench database, then with a copy of it beside (twice the
    // data). Each time: a full backup, a writer committing until the primary vanishes for S3, and
    // a copy restored from S3 alone: restore + recovery time, and the commits it lacks (RPO).
    const restores: RestorePoint[] = [];
    for (const [index, step] of ["as benchmarked", "doubled"].entries()) {
      if (index === 1)
        await pgstack.longSql(
          `CREATE DATABASE ${BENCH_DATABASE}_copy TEMPLATE ${BENCH_DATABASE}`,
          "postgres",
        );
      const bytes = Number(
        await pgstack.sql("SELECT sum(pg_database_size(datname)) FROM pg_database", "postgres"),
      );
      log(`restore (${step}, ${(bytes / 1e6).toFixed(0)} MB): full backup`);
      const backupSeconds = await runnerFullBackup(cluster);
      log(
        `restore: backup ${backupSeconds.toFixed(1)} s; a writer commits ${settings.rpo.rate}/s for ${settings.rpo.seconds} s, then the primary vanishes`,
      );
      const writer = await startWriter(pgstack, { ...settings.rpo, graceSeconds: 5 });
      await new Promise((resolve) => setTimeout(resolve, settings.rpo.seconds * 1000));
      const failure = writer.failure();
      if (failure) throw failure;
      const gone = await vanish(pgstack);
      let restoredMaxId: number;
      let restoreMs: number;
      try {
        const restored = await cluster.restoreCopy(`bench-restore-${index + 1}`, { type: "latest" });
        restoreMs = restored.restoreMs;
        restoredMaxId = await restoredRows(restored.copy);
        await restored.copy.stop();
        // The benchmark's own scratch copy (up to twice the database): its disk space back now, not at the end.
        await rm(restored.copy.dataDir, { recursive: true, force: true });
      } finally {
        await gone.resume();
      }
      // The scheduled restore drill on the same repository: the RTO a user plans with, as the
      // drill reports it (restore + recovery, per GB), beside the operator's restore above.
      const drillRun = await cluster.runtime.restoreDrill();
      if (drillRun.code !== 0)
        throw new Error(
          `the restore drill failed (exit ${drillRun.code}):\n${drillRun.stdout}${drillRun.stderr}`,
        );
      const drill = drillSummary(drillRun);
      log(
        `restore drill: restore ${drill.restoreSeconds} s + recovery ${drill.recoverySeconds} s for ${(drill.databaseBytes / 1e6).toFixed(0)} MB: RTO ${drill.rtoSecondsPerGb} s/GB`,
      );
      const rpo = rpoFigures(await writer.done, gone.atMs, restoredMaxId, {
        ...settings.rpo,
        archiveTimeoutSeconds: spec.archive.archiveTimeoutSeconds,
      });
      restores.push({
        databaseBytes: bytes,
        seconds: restoreMs / 1000,
        mbPerSecond: bytes / 1e6 / (restoreMs / 1000),
        backupSeconds,
        rpo,
        drill: {
          restoreSeconds: drill.restoreSeconds,
          recoverySeconds: drill.recoverySeconds,
          databaseBytes: drill.databaseBytes,
          rtoSecondsPerGb: drill.rtoSecondsPerGb,
        },
      });
      log(
        `restore: ${(restoreMs / 1000).toFixed(1)} s (restore + recovery); RPO ${rpo.lostSeconds.toFixed(1)} s (${rpo.lost} of ${rpo.acknowledged} acknowledged commits lost)`,
      );
    }
    await pgstack.stop();
    progress.phase("restore levers");

    log(`restore levers: a server of their own, pgbench -i -s ${settings.leverScale}`);
    const levers = await measureLevers(cluster, await leverServer(cluster, settings.leverScale, log), log);
    progress.done();

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
      attribution,
      fullLoad,
      restores,
      levers,
      phases: progress.phases(),
    };
    const saved = await saveResult(result);
    log(`raw results: ${saved}`);
    await writeReport(result, out);
  });
}

/** A run (the full bench or a diagnostic) on the bench stack's own cluster: prepared, reported on failure, always disposed. */
async function onBenchCluster(body: (cluster: ProvingCluster) => Promise<void>): Promise<number> {
  let cluster: ProvingCluster | undefined;
  try {
    cluster = active = await ProvingCluster.prepare(BENCH_STACK);
    await body(cluster);
    return 0;
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await cluster?.dispose();
  }
}

/**
 * --levers: the restore levers alone (a few minutes), printed as the report's table: the
 * diagnostic to run when a change to the rendered compress-type or process-max is considered.
 */
function leversOnly(scale: number): Promise<number> {
  return onBenchCluster(async (cluster) => {
    const disk = await diskSequentialWrite(dirname(cluster.primary.dataDir), 3, 1024);
    log(`disk sequential write: ${disk.mbPerSecond.toFixed(0)} MB/s`);
    await cluster.startPrimary();
    await cluster.primary.stop();
    log(`restore levers: a server of their own, pgbench -i -s ${scale}`);
    const levers = await measureLevers(cluster, await leverServer(cluster, scale, log), log);
    console.log(`\n${renderLevers(levers, scale, disk.mbPerSecond).join("\n")}`);
  });
}

/**
 * --attribute: the attribution alone (pgstack's extras' own cost, also part of every full run),
 * on the run's data set, printed as the report's table.
 */
function attributionOnly(settings: BenchSettings): Promise<number> {
  return onBenchCluster(async (cluster) => {
    await cluster.startPrimary();
    const pgstack = new BenchServer("pgstack", cluster.primary);
    await pgstack.sql(`CREATE DATABASE ${BENCH_DATABASE}`, "postgres");
    log(`pgstack: pgbench -i -s ${settings.scale}`);
    await pgbenchInit(pgstack, settings.scale);
    const runs = await runAttribution(pgstack, { ...settings, ...settings.attribution }, log);
    console.log(`\n${renderAttribution(runs, settings.attribution.seconds).join("\n")}`);
  });
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
      title: "peak memory at full load against the limit, pgstack and PGTune's values",
      draw: memoryChart(result.fullLoad, result.memoryLimitBytes),
    },
    {
      file: "bench-rto.svg",
      title: "restore and recovery time against database size",
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
