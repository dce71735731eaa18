import { loadavg } from "node:os";
import { archiveCatchUp, archivedBytes, type CatchUp } from "./archive";
import { type CpuShare, cpuShare, sampleCpu } from "./cpu";
import type { ProvingCluster } from "./local-harness/proving-cluster";
import { type PgbenchResult, pgbenchRun, prepareRun } from "./pgbench";
import { assertDurable, type BenchServer, type Bgwriter, bgwriter, type ConfigName } from "./servers";

export interface TpcbSettings {
  readonly rounds: number;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  /** How long to wait for the archive to catch up after a pgstack run before calling it a miss. */
  readonly catchUpTimeoutMs: number;
}

export interface RunRecord {
  readonly round: number;
  /** 1-based position of this run inside its round. */
  readonly position: number;
  readonly config: ConfigName;
  readonly pgbench: PgbenchResult;
  /** WAL generated during the run: pg_current_wal_lsn() after minus before. */
  readonly walBytes: number;
  readonly durability: Record<string, string>;
  /** 1-minute load average of the machine when the run started and when it ended. */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** Machine CPU time during pgbench (every process, the benchmark's and anyone else's). */
  readonly cpu: CpuShare;
  /** Checkpoints and buffer writes during pgbench (pg_stat_bgwriter after minus before). */
  readonly bgwriter: Bgwriter;
  /** pgstack only: archive catch-up after the run, and the bytes it added to the repository. */
  readonly archive?: { readonly catchUp: CatchUp; readonly repoBytes: number };
}

/** Round r runs the configurations rotated by r, so each one takes each position once every three rounds. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * One measured run: start the server from a clean shutdown, assert durability with SHOW, vacuum
 * and checkpoint, then pgbench; WAL from the LSN before and after. For pgstack the run is also
 * the write burst whose archive catch-up is timed. The server is stopped afterwards (also on
 * error), so no idle server's checkpointer or autovacuum runs beside another's measurement.
 */
async function measure(
  server: BenchServer,
  cluster: ProvingCluster | undefined,
  settings: TpcbSettings,
  round: number,
  position: number,
  log: (line: string) => void,
): Promise<RunRecord> {
  await server.start();
  try {
    const durability = await assertDurable(server);
    await prepareRun(server);
    const repoBefore = cluster ? await archivedBytes(cluster) : 0;
    const lsnBefore = await server.sql("SELECT pg_current_wal_lsn()");
    const bgBefore = await bgwriter(server);
    const loadBefore = loadavg()[0];
    const cpuBefore = sampleCpu();
    const pgbench = await pgbenchRun(server, settings);
    const endedAt = Date.now();
    const cpu = cpuShare(cpuBefore, sampleCpu());
    const loadAfter = loadavg()[0];
    const bgAfter = await bgwriter(server);
    const bgDelta: Bgwriter = {
      checkpointsTimed: bgAfter.checkpointsTimed - bgBefore.checkpointsTimed,
      checkpointsRequested: bgAfter.checkpointsRequested - bgBefore.checkpointsRequested,
      buffersCheckpoint: bgAfter.buffersCheckpoint - bgBefore.buffersCheckpoint,
      buffersBackend: bgAfter.buffersBackend - bgBefore.buffersBackend,
    };
    const walBytes = Number(await server.sql(`SELECT pg_current_wal_lsn() - '${lsnBefore}'::pg_lsn`));
    let archive: RunRecord["archive"];
    if (cluster) {
      const catchUp = await archiveCatchUp(cluster, endedAt, settings.catchUpTimeoutMs);
      archive = { catchUp, repoBytes: (await archivedBytes(cluster)) - repoBefore };
    }
    const record: RunRecord = {
      round,
      position,
      config: server.config,
      pgbench,
      walBytes,
      durability,
      loadBefore,
      loadAfter,
      cpu,
      bgwriter: bgDelta,
      archive,
    };
    log(
      `round ${round} #${position} ${server.config}: ${pgbench.tps.toFixed(1)} tps, ${pgbench.transactions} tx, ` +
        `${(((walBytes / pgbench.transactions) * 1000) / 1e6).toFixed(2)} MB WAL/1000 tx` +
        (archive
          ? `, archive caught up in ${archive.catchUp.seconds === null ? "never" : `${archive.catchUp.seconds.toFixed(1)} s`}` +
            ` (${archive.catchUp.readyAtEnd} segment(s) queued at the end)`
          : "") +
        `, ${bgDelta.checkpointsTimed + bgDelta.checkpointsRequested} checkpoint(s), CPU ${cpu.busyPercent.toFixed(0)}% busy ` +
        `${cpu.iowaitPercent.toFixed(0)}% iowait, load ${loadBefore.toFixed(1)}→${loadAfter.toFixed(1)}`,
    );
    return record;
  } finally {
    await server.stop();
  }
}

export async function runTpcb(
  servers: Readonly<Record<ConfigName, BenchServer>>,
  cluster: ProvingCluster,
  settings: TpcbSettings,
  log: (line: string) => void,
): Promise<RunRecord[]> {
  const configs: ConfigName[] = ["pgstack", "stock", "pgtune"];
  const records: RunRecord[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const order = roundOrder(configs, round);
    for (const [index, config] of order.entries()) {
      const server = servers[config];
      records.push(
        await measure(
          server,
          config === "pgstack" ? cluster : undefined,
          settings,
          round + 1,
          index + 1,
          log,
        ),
      );
    }
  }
  return records;
}
