import { loadavg } from "node:os";
import { type CpuShare, cpuShare, sampleCpu } from "./cpu";
import { type PgbenchResult, pgbenchRun, prepareRun } from "./pgbench";
import { assertDurable, type BenchServer, type ConfigName, checkpoints } from "./servers";

export interface TpcbSettings {
  readonly rounds: number;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
}

/**
 * A run is void when the machine was busy with other work as it started: the 1-minute load
 * average, with every benchmark server stopped, above this share of the CPUs.
 */
export const VOID_LOAD_PER_CPU = 0.5;

export interface RunRecord {
  readonly round: number;
  /** 1-based position of this run inside its round. */
  readonly position: number;
  readonly config: ConfigName;
  readonly pgbench: PgbenchResult;
  /** WAL generated during the run: pg_current_wal_lsn() after minus before. */
  readonly walBytes: number;
  readonly checkpoints: number;
  readonly durability: Record<string, string>;
  /** 1-minute load average of the machine when the run started (its server idle) and when it ended. */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** Machine CPU time during pgbench (every process, the benchmark's and anyone else's). */
  readonly cpu: CpuShare;
  /** Peak memory of the server's cgroup during the run, and its limit. */
  readonly peakBytes: number;
  readonly limitBytes: number;
  /** Other work was running when the run started (loadBefore above VOID_LOAD_PER_CPU × CPUs). */
  readonly void: boolean;
}

/** Round r runs the configurations rotated by r, so each one takes each position once every three rounds. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * One measured run: start the server, assert durability with SHOW, vacuum and checkpoint, then
 * pgbench; WAL from the LSN before and after. The server is stopped afterwards (also on error),
 * so no idle server's checkpointer or autovacuum runs beside another's measurement.
 */
async function measure(
  server: BenchServer,
  settings: TpcbSettings,
  cpus: number,
  round: number,
  position: number,
  log: (line: string) => void,
): Promise<RunRecord> {
  const loadBefore = loadavg()[0];
  await server.start();
  try {
    const durability = await assertDurable(server);
    await prepareRun(server);
    const lsnBefore = await server.sql("SELECT pg_current_wal_lsn()");
    const checkpointsBefore = await checkpoints(server);
    const cgroup = server.cgroup;
    let peak = 0;
    const sampler = setInterval(() => {
      void cgroup.usageBytes().then((bytes) => {
        peak = Math.max(peak, bytes);
      });
    }, 500);
    const cpuBefore = sampleCpu();
    let pgbench: PgbenchResult;
    try {
      pgbench = await pgbenchRun(server, settings);
    } finally {
      clearInterval(sampler);
    }
    const cpu = cpuShare(cpuBefore, sampleCpu());
    const loadAfter = loadavg()[0];
    const checkpointsDuring = (await checkpoints(server)) - checkpointsBefore;
    const walBytes = Number(await server.sql(`SELECT pg_current_wal_lsn() - '${lsnBefore}'::pg_lsn`));
    const record: RunRecord = {
      round,
      position,
      config: server.config,
      pgbench,
      walBytes,
      checkpoints: checkpointsDuring,
      durability,
      loadBefore,
      loadAfter,
      cpu,
      peakBytes: peak,
      limitBytes: cgroup.limitBytes,
      void: loadBefore > VOID_LOAD_PER_CPU * cpus,
    };
    log(
      `round ${round} #${position} ${server.config}: ${pgbench.tps.toFixed(1)} tps, p50 ${pgbench.latencyMs.p50.toFixed(1)} ms, ` +
        `p99 ${pgbench.latencyMs.p99.toFixed(1)} ms, ${(((walBytes / pgbench.transactions) * 1000) / 1e6).toFixed(2)} MB WAL/1000 tx, ` +
        `${checkpointsDuring} checkpoint(s), peak ${(peak / 2 ** 20).toFixed(0)} MiB, CPU ${cpu.busyPercent.toFixed(0)}% busy ` +
        `${cpu.iowaitPercent.toFixed(0)}% iowait, load ${loadBefore.toFixed(1)}→${loadAfter.toFixed(1)}${record.void ? " (VOID: other work)" : ""}`,
    );
    return record;
  } finally {
    await server.stop();
  }
}

export async function runTpcb(
  servers: Readonly<Record<ConfigName, BenchServer>>,
  settings: TpcbSettings,
  cpus: number,
  log: (line: string) => void,
): Promise<RunRecord[]> {
  const configs: ConfigName[] = ["pgstack", "stock", "pgtune"];
  const records: RunRecord[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const [index, config] of roundOrder(configs, round).entries()) {
      records.push(await measure(servers[config], settings, cpus, round + 1, index + 1, log));
    }
  }
  return records;
}
