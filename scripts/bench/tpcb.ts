import { loadavg } from "node:os";
import { type RunCpu, runCpu, sampleRunCpu } from "./cpu";
import { type PgbenchResult, pgbenchRun, prepareRun } from "./pgbench";
import { assertDurable, type BenchServer, type ConfigName, checkpoints } from "./servers";

export interface TpcbSettings {
  readonly rounds: number;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
}

/**
 * A run is void when other work than the benchmark's took more than this share of the machine's
 * CPU time during it: busy time from /proc/stat minus what the benchmark's own process tree used
 * (its containers, pgbench, pgBackRest, the S3 stand-in). The load average cannot tell: the
 * previous run's own pgbench keeps it high for minutes.
 */
export const VOID_OTHER_PERCENT = 15;

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
  /** Machine CPU time during pgbench (every process), and the share other work than the benchmark's took. */
  readonly cpu: RunCpu;
  /** Peak memory of the server's cgroup during the run (page cache included: it fills the limit), and its limit. */
  readonly peakBytes: number;
  /** Peak anonymous + shared memory during the run (sampled): the part the kernel cannot reclaim. */
  readonly unreclaimablePeakBytes: number;
  readonly limitBytes: number;
  /** Other work took more than VOID_OTHER_PERCENT of the machine's CPU during this run or another of its round. */
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
export async function measure(
  server: BenchServer,
  settings: TpcbSettings,
  round: number,
  position: number,
  log: (line: string) => void,
  options: { readonly label?: string; readonly check?: () => Promise<void> } = {},
): Promise<RunRecord> {
  const label = options.label ?? server.config;
  const loadBefore = loadavg()[0];
  await server.start();
  try {
    const durability = await assertDurable(server);
    await options.check?.();
    await prepareRun(server);
    const lsnBefore = await server.sql("SELECT pg_current_wal_lsn()");
    const checkpointsBefore = await checkpoints(server);
    const cgroup = server.cgroup;
    let peak = 0;
    let unreclaimablePeak = 0;
    const sampler = setInterval(() => {
      void cgroup.usageBytes().then((bytes) => {
        peak = Math.max(peak, bytes);
      });
      void cgroup.unreclaimableBytes().then((bytes) => {
        unreclaimablePeak = Math.max(unreclaimablePeak, bytes);
      });
    }, 500);
    const cpuBefore = sampleRunCpu();
    let pgbench: PgbenchResult;
    try {
      pgbench = await pgbenchRun(server, settings);
    } finally {
      clearInterval(sampler);
    }
    const cpu = runCpu(cpuBefore, sampleRunCpu());
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
      unreclaimablePeakBytes: unreclaimablePeak,
      limitBytes: cgroup.limitBytes,
      void: cpu.otherPercent > VOID_OTHER_PERCENT,
    };
    log(
      `round ${round} #${position} ${label}: ${pgbench.tps.toFixed(1)} tps, p50 ${pgbench.latencyMs.p50.toFixed(1)} ms, ` +
        `p99 ${pgbench.latencyMs.p99.toFixed(1)} ms, ${(((walBytes / pgbench.transactions) * 1000) / 1e6).toFixed(2)} MB WAL/1000 tx, ` +
        `${checkpointsDuring} checkpoint(s), peak ${(unreclaimablePeak / 2 ** 20).toFixed(0)} MiB not reclaimable (${(peak / 2 ** 20).toFixed(0)} with cache), CPU ${cpu.busyPercent.toFixed(0)}% busy ` +
        `${cpu.iowaitPercent.toFixed(0)}% iowait, other work ${cpu.otherPercent.toFixed(0)}%, load ${loadBefore.toFixed(1)}→${loadAfter.toFixed(1)}${record.void ? " (VOID: other work)" : ""}`,
    );
    return record;
  } finally {
    await server.stop();
  }
}

/** A round is void as a whole when one of its runs is: ratios are taken within rounds. */
export function voidRounds<T extends { readonly round: number; readonly void: boolean }>(
  records: readonly T[],
): T[] {
  const rounds = new Set(records.filter((record) => record.void).map((record) => record.round));
  return records.map((record) => (rounds.has(record.round) ? { ...record, void: true } : record));
}

export async function runTpcb(
  servers: Readonly<Record<ConfigName, BenchServer>>,
  settings: TpcbSettings,
  log: (line: string) => void,
): Promise<RunRecord[]> {
  const configs: ConfigName[] = ["pgstack", "stock", "pgtune"];
  const records: RunRecord[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const [index, config] of roundOrder(configs, round).entries()) {
      records.push(await measure(servers[config], settings, round + 1, index + 1, log));
    }
  }
  return voidRounds(records);
}
