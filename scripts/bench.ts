import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { osUser, POSTGRES_USER } from "../test/proving/harness/os-users";
import { ProcessSupervisor } from "../test/proving/harness/processes";
import { runAttribution } from "./bench/attribution";
import { fullBackup, restoreInto } from "./bench/backup-restore";
import { type LocalStack, prepareLocalStack } from "./bench/local-harness/local-stack";
import { freePort } from "./bench/local-harness/ports";
import { ProvingCluster } from "./bench/local-harness/proving-cluster";
import { describeMachine, diskSequentialWrite, versions } from "./bench/machine";
import { pgbenchInit } from "./bench/pgbench";
import { type PgtuneInput, pgtuneConfig, renderPgtune } from "./bench/pgtune";
import { BENCH_STACK, type BenchResult, type BenchSettings, renderReport } from "./bench/report";
import { measureRpo } from "./bench/rpo";
import {
  BENCH_DATABASE,
  type BenchServer,
  type ConfigName,
  PgstackServer,
  PlainServer,
  showSettings,
} from "./bench/servers";
import { runTpcb } from "./bench/tpcb";

/**
 * npm run bench [-- --quick] [-- --out <file>]
 * pgstack's rendered configuration for the dev stack (2 GiB, 2 CPUs, SSD, web) against
 * PostgreSQL's stock postgresql.conf and PGTune's for the same resources, on this machine, with
 * paired pgbench runs; then WAL volume, archive catch-up, backup and restore throughput through
 * S3 (s3rver over TLS) and the data lost when only S3 survives. A full run writes BENCHMARKS.md;
 * --quick shortens everything for a smoke run and writes only where --out says. --attribute runs
 * the diagnostic of scripts/bench/attribution.ts instead; --from <json> re-renders a saved run.
 */

const FULL: BenchSettings = {
  scale: 50,
  clients: 8,
  threads: 2,
  seconds: 60,
  rounds: 3,
  rpoWriterSeconds: 100,
  rpoRate: 100,
};

const QUICK: BenchSettings = {
  scale: 5,
  clients: 8,
  threads: 2,
  seconds: 10,
  rounds: 1,
  rpoWriterSeconds: 45,
  rpoRate: 100,
};

const PROJECT_DIR = resolve(__dirname, "..");
/** On the root filesystem like /tmp, but not swept by anyone cleaning /tmp. */
const BENCH_PARENT = "/var/tmp";

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      from: { type: "string" },
      attribute: { type: "boolean", default: false },
    },
  });
  if (values.from) return rerender(values.from, values.out);
  const quick = values.quick === true;
  const settings = quick ? QUICK : FULL;
  const out = values.out ?? (quick ? undefined : join(PROJECT_DIR, "BENCHMARKS.md"));

  // A private root for everything, pgstack's local stack included (the harness makes its directory
  // under TMPDIR): /tmp is shared with other runs, and their clean-ups must not reach this one.
  const root = await mkdtemp(join(BENCH_PARENT, "pgstack-bench-"));
  await chmod(root, 0o755);
  process.env.TMPDIR = root;
  const logDir = join(root, "logs");
  await mkdir(logDir, { recursive: true });
  const supervisor = new ProcessSupervisor(logDir);
  let local: LocalStack | undefined;
  const cleanUp = async () => {
    await supervisor.stopAll();
    await local?.dispose();
    await rm(root, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    log("interrupted: stopping every server started by the benchmark");
    void cleanUp().finally(() => process.exit(130));
  });

  if (values.attribute) {
    try {
      const server = new PlainServer("stock", root, await freePort(), osUser(POSTGRES_USER), supervisor);
      const seconds = quick ? 10 : 30;
      const { runs, table } = await runAttribution(
        server,
        {
          scale: settings.scale,
          rounds: quick ? 1 : 3,
          seconds,
          clients: settings.clients,
          threads: settings.threads,
        },
        log,
      );
      const dir = join(PROJECT_DIR, ".scratch", "bench");
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, `attribution-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
        JSON.stringify(runs, null, 2),
      );
      console.log(
        `\nTPC-B, scale ${settings.scale}, ${settings.clients} clients, ${seconds} s per run:\n${table}`,
      );
      return 0;
    } catch (error) {
      log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return 1;
    } finally {
      await cleanUp();
    }
  }

  try {
    const startedAt = new Date();
    log(
      `pgstack bench${quick ? " (quick smoke run)" : ""}: scale ${settings.scale}, ${settings.clients} clients, ${settings.seconds} s × ${settings.rounds} round(s)`,
    );
    const machine = await describeMachine(root);
    const toolVersions = await versions();
    log(
      `machine: ${machine.cpus} CPUs, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${machine.kernel}, load ${machine.loadAverage.map((l) => l.toFixed(2)).join(" ")}`,
    );

    const disk = await diskSequentialWrite(root, quick ? 1 : 3, quick ? 256 : 1024);
    log(`disk sequential write: ${disk.mbPerSecond.toFixed(0)} MB/s (${disk.method})`);

    // pgstack: the dev stack laid out on this machine by the proving harness, S3 over TLS.
    local = await prepareLocalStack(BENCH_STACK);
    const config = local.config;
    if (
      config.memoryLimit !== "2Gi" ||
      config.cpus !== 2 ||
      config.storageMedium !== "ssd" ||
      config.workload !== "web"
    ) {
      throw new Error(
        `the ${BENCH_STACK} stack is no longer 2Gi / 2 CPUs / ssd / web (${config.memoryLimit} / ${config.cpus} / ${config.storageMedium} / ${config.workload}): update the benchmark's PGTune inputs and BENCHMARKS.md together`,
      );
    }
    const cluster = new ProvingCluster(local);
    const postgres = osUser(POSTGRES_USER);

    const pgtuneInput: PgtuneInput = {
      version: config.postgresVersion,
      workload: config.workload,
      memoryBytes: 2 * 2 ** 30,
      cpus: config.cpus,
      connections: local.specs.primary.postgres.maxConnections,
      storage: config.storageMedium,
      // Scale 50 is about 750 MB: less than the 2 GiB of RAM.
      dbSize: "less_ram",
    };
    const pgtuneLines = pgtuneConfig(pgtuneInput);
    const pgtuneText = renderPgtune(pgtuneInput, pgtuneLines);

    const stock = new PlainServer("stock", root, await freePort(), postgres, supervisor);
    const pgtune = new PlainServer("pgtune", root, await freePort(), postgres, supervisor);
    const pgstack = new PgstackServer(cluster.primary);
    const servers: Record<ConfigName, BenchServer> = { pgstack, stock, pgtune };

    const initSeconds: Partial<Record<ConfigName, number>> = {};
    const reported: Partial<Record<ConfigName, Record<string, string>>> = {};
    log("pgstack: initdb, start, stanza-create, roles (rendered files and commands)");
    await cluster.startPrimary();
    await stock.init();
    await pgtune.init(`# PGTune (le0pard/pgtune), appended as PGTune instructs\n${pgtuneText}`);
    for (const config of ["pgstack", "stock", "pgtune"] as const) {
      const server = servers[config];
      if (!server.running()) await server.start();
      try {
        log(`${config}: pgbench -i -s ${settings.scale}`);
        initSeconds[config] = (await pgbenchInit(server, settings.scale)) / 1000;
        reported[config] = await showSettings(server);
      } finally {
        await server.stop();
      }
    }
    const databaseBytes = await (async () => {
      await pgstack.start();
      try {
        return Number(await pgstack.sql(`SELECT pg_database_size('${BENCH_DATABASE}')`));
      } finally {
        await pgstack.stop();
      }
    })();
    log(`bench database: ${(databaseBytes / 1e6).toFixed(0)} MB`);

    const runs = await runTpcb(
      servers,
      cluster,
      {
        rounds: settings.rounds,
        clients: settings.clients,
        threads: settings.threads,
        seconds: settings.seconds,
        catchUpTimeoutMs: 300_000,
      },
      log,
    );
    // Stock and PGTune are done: give their disk back before the backup and restore.
    await rm(join(root, "stock"), { recursive: true, force: true });
    await rm(join(root, "pgtune"), { recursive: true, force: true });

    await pgstack.start();
    log("backup: the runner's full backup through the TLS server to S3");
    await cluster.startBackupServer();
    const backup = await fullBackup(cluster);
    log(`backup: ${(backup.databaseBytes / 1e6).toFixed(0)} MB in ${backup.seconds.toFixed(1)} s`);

    log(
      `rpo: writer at ${settings.rpoRate} commits/s for ${settings.rpoWriterSeconds} s, then the primary's volume is destroyed`,
    );
    const rpo = await measureRpo(
      cluster,
      { writerSeconds: settings.rpoWriterSeconds, rate: settings.rpoRate },
      log,
    );
    log(
      `rpo: ${rpo.lost} acknowledged commits lost (${rpo.lostSeconds.toFixed(1)} s); restore ${rpo.restore.seconds.toFixed(1)} s`,
    );

    // Diagnostic: the rendered restore runs one process per CPU; the same restore with the
    // config's process-max (half the CPUs, sized for a member that also serves queries) shows
    // what that parallelism is worth here, apart from S3's own speed.
    const configProcessMax = Math.max(1, Math.floor(config.cpus / 2));
    const probe = await local.addMember("restore-probe");
    const halfCpuRestore = {
      ...(await restoreInto(cluster, probe, [`--process-max=${configProcessMax}`])),
      processMax: configProcessMax,
    };
    await rm(probe.spec.layout.volumeDir, { recursive: true, force: true });
    log(`restore with --process-max=${configProcessMax}: ${halfCpuRestore.seconds.toFixed(1)} s`);

    const result: BenchResult = {
      quick,
      startedAt,
      finishedAt: new Date(),
      settings,
      machine,
      versions: toolVersions,
      disk,
      databaseBytes,
      initSeconds: initSeconds as Record<ConfigName, number>,
      settingsReported: reported as Record<ConfigName, Record<string, string>>,
      pgtuneText,
      runs,
      backup,
      rpo,
      halfCpuRestore,
      archiveTimeoutSeconds: local.specs.primary.archive.archiveTimeoutSeconds,
    };
    const saved = await saveResult(result);
    log(`raw results: ${saved}`);
    const report = renderReport(result);
    console.log(`\n${report}`);
    if (out) {
      await writeFile(out, report);
      log(`wrote ${out}`);
    }
    return 0;
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await cleanUp();
  }
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
  const target = out ?? (result.quick ? undefined : join(PROJECT_DIR, "BENCHMARKS.md"));
  const report = renderReport(result);
  if (target) await writeFile(target, report);
  else console.log(report);
  return 0;
}

main().then((code) => process.exit(code));
