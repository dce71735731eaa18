import { shellCommand } from "../../components/render/shell-quote";
import { Member } from "../../test/proving/harness/member";
import type { RunResult } from "../../test/proving/harness/processes";
import type { ProvingCluster } from "../../test/proving/harness/proving-cluster";

/** The three configurations under comparison. */
export type ConfigName = "pgstack" | "stock" | "pgtune";

export const CONFIG_TITLES: Readonly<Record<ConfigName, string>> = {
  pgstack: "pgstack (dev stack, as rendered)",
  stock: "stock + pgBackRest archiving",
  pgtune: "PGTune + pgBackRest archiving + pg_stat_statements",
};

/** The database every configuration holds the pgbench tables in. */
export const BENCH_DATABASE = "bench";

/** initdb's flags for the baselines: checksums and encoding as pgstack's own initdb, so only the settings differ. */
export const INITDB_FLAGS = [
  "--auth-local=peer",
  "--auth-host=scram-sha-256",
  "--data-checksums",
  "--encoding=UTF8",
  "--locale=C.UTF-8",
] as const;

/**
 * A PostgreSQL server of the benchmark: a member of the proving ground (its own container, PID 1
 * of its own namespaces, in its own memory cgroup with the stack's limit), driven through the
 * platform's exec as the superuser on the member's socket.
 */
export class BenchServer {
  constructor(
    readonly config: ConfigName,
    readonly member: Member,
  ) {}

  start(): Promise<void> {
    return this.member.start({ timeoutMs: 600_000 });
  }

  stop(): Promise<void> {
    return this.member.stop();
  }

  running(): boolean {
    return this.member.running();
  }

  /** Runs `argv` inside the server's container; throws with the output unless it exits 0. */
  exec(argv: readonly string[], timeoutMs = 3_600_000): Promise<RunResult> {
    return this.member.execOk(argv, { timeoutMs });
  }

  /** Unaligned, tuples-only psql output of one statement (VACUUM and CHECKPOINT may take long). */
  sql(query: string, database = BENCH_DATABASE): Promise<string> {
    return this.member.sql(query, { database, timeoutMs: 3_600_000 });
  }

  /**
   * Like sql, with statement_timeout lifted for this session only: pgstack's web workload cancels
   * statements after a minute, and a checkpoint or a copy of a 4 GB database may take longer.
   */
  longSql(query: string, database = BENCH_DATABASE): Promise<string> {
    return this.member.sql(query, {
      database,
      timeoutMs: 3_600_000,
      env: { PGOPTIONS: "-c statement_timeout=0" },
    });
  }

  /** The memory cgroup the server's container runs in. */
  get cgroup() {
    return this.member.runtime.container.cgroup;
  }
}

/** pgstack's pgBackRest command line (config, include path, stanza) with a baseline's own repository path. */
export function baselinePgbackrest(cluster: ProvingCluster, name: string): string[] {
  return archiveCommandFor(cluster, `${cluster.spec.archive.path}-bench-${name}`)
    .replace(/ archive-push %p$/, "")
    .split(" ");
}

/** pgstack's archive_command with the repository path replaced: each baseline archives to its own. */
function archiveCommandFor(cluster: ProvingCluster, repoPath: string): string {
  const command = cluster.spec.tuning.parameters.find((p) => p.name === "archive_command")?.value;
  if (!command?.endsWith(" archive-push %p")) throw new Error(`unexpected archive_command: ${command}`);
  return `${command.slice(0, -" archive-push %p".length)} --repo1-path=${repoPath} archive-push %p`;
}

/**
 * A baseline in a container like the primary's (same image, mounts, memory limit; a fresh volume):
 * initdb's own postgresql.conf (stock) or with `settings` on top (PGTune's lines), plus the same
 * pgBackRest archiving as pgstack into a repository path of its own. Only the port, sockets and
 * listen address come from the command line besides, so a client reaches it as it reaches pgstack.
 */
export async function baselineServer(
  cluster: ProvingCluster,
  config: Exclude<ConfigName, "pgstack">,
  settings: Readonly<Record<string, string>>,
  name: string = config,
): Promise<BenchServer> {
  const { layout, postgres, archive } = cluster.spec;
  const repoPath = `${archive.path}-bench-${name}`;
  const archiveTimeout =
    cluster.spec.tuning.parameters.find((p) => p.name === "archive_timeout")?.value ?? "60s";
  const all: Record<string, string> = {
    port: String(layout.port),
    listen_addresses: "*",
    unix_socket_directories: layout.socketDir,
    archive_mode: "on",
    archive_command: archiveCommandFor(cluster, repoPath),
    archive_timeout: archiveTimeout,
    ...settings,
  };
  const initdb = ["initdb", "-D", layout.dataDir, `--username=${postgres.superuser}`, ...INITDB_FLAGS];
  const start = [
    "postgres",
    "-D",
    layout.dataDir,
    ...Object.entries(all).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ];
  const script = [
    "set -eu",
    `if [ ! -s ${layout.dataDir}/PG_VERSION ]; then ${shellCommand(initdb)} >/dev/null; fi`,
    `exec ${shellCommand(start)}`,
  ].join("\n");
  const runtime = await cluster.runtime.scratchMember(`bench-${name}`, ["sh", "-c", script]);
  const server = new BenchServer(config, new Member(runtime, cluster.spec, cluster.runtime));
  await server.start();
  await server.exec([...baselinePgbackrest(cluster, name), "stanza-create"], 300_000);
  await server.sql(`CREATE DATABASE ${BENCH_DATABASE}`, "postgres");
  return server;
}

/** The settings that must stay on in every configuration: a faster run that can lose commits is no result. */
export const DURABILITY_SETTINGS = ["fsync", "full_page_writes", "synchronous_commit"] as const;

/** SHOWs each durability setting; throws naming the setting when one is not `on`. */
export async function assertDurable(server: BenchServer): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const name of DURABILITY_SETTINGS) {
    seen[name] = await server.sql(`SHOW ${name}`);
    if (seen[name] !== "on") {
      throw new Error(
        `${server.config}: ${name} is ${seen[name]}, not on: durability is weakened, the run is void`,
      );
    }
  }
  return seen;
}

/** Settings the report compares, as each server reports them. */
export const COMPARED_SETTINGS = [
  "max_connections",
  "shared_buffers",
  "effective_cache_size",
  "work_mem",
  "maintenance_work_mem",
  "wal_buffers",
  "wal_compression",
  "min_wal_size",
  "max_wal_size",
  "checkpoint_timeout",
  "random_page_cost",
  "effective_io_concurrency",
  "jit",
  "archive_mode",
  "archive_timeout",
  "shared_preload_libraries",
  "track_io_timing",
  "log_connections",
  "autovacuum_vacuum_scale_factor",
  "data_checksums",
  "wal_log_hints",
] as const;

export async function showSettings(server: BenchServer): Promise<Record<string, string>> {
  const list = COMPARED_SETTINGS.map((name) => `'${name}'`).join(", ");
  const rows = await server.sql(
    `SELECT name || '=' || current_setting(name) FROM unnest(ARRAY[${list}]) AS name ORDER BY array_position(ARRAY[${list}], name)`,
  );
  return Object.fromEntries(
    rows
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

/** Checkpoints so far (pg_stat_bgwriter), to tell how often a run checkpointed. */
export async function checkpoints(server: BenchServer): Promise<number> {
  const [timed, requested] = (
    await server.sql("SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter")
  )
    .split("|")
    .map(Number);
  return timed + requested;
}
