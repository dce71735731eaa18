import { appendFile, chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { OsUser } from "../../test/proving/harness/os-users";
import { pollUntil } from "../../test/proving/harness/poll";
import { type ProcessSupervisor, run, runOk, type Supervised } from "../../test/proving/harness/processes";
import type { Member } from "./local-harness/member";

/** The three configurations under comparison. */
export type ConfigName = "pgstack" | "stock" | "pgtune";

export const CONFIG_TITLES: Readonly<Record<ConfigName, string>> = {
  pgstack: "pgstack (dev stack, as rendered)",
  stock: "stock (initdb's postgresql.conf)",
  pgtune: "PGTune (same resources)",
};

/** The database every configuration holds the pgbench tables in. */
export const BENCH_DATABASE = "bench";

/** A PostgreSQL server the benchmark starts, stops and queries as the `postgres` OS user. */
export interface BenchServer {
  readonly config: ConfigName;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly user: OsUser;
  start(): Promise<void>;
  stop(): Promise<void>;
  running(): boolean;
  /** Unaligned, tuples-only psql output of one statement, over the local socket as `postgres`. */
  sql(query: string, database?: string): Promise<string>;
}

/** initdb's flags for every configuration: the same as pgstack's image uses, so only postgresql.conf differs. */
export const INITDB_FLAGS = [
  "--username=postgres",
  "--auth-local=peer",
  "--auth-host=scram-sha-256",
  "--data-checksums",
  "--encoding=UTF8",
  "--locale=C.UTF-8",
] as const;

/**
 * A server run from its data directory's own postgresql.conf: initdb's file as written (stock),
 * or with PGTune's lines appended, as PGTune tells its users to do. Only the port, the listen
 * address and the socket directory come from the command line, so servers never collide.
 */
export class PlainServer implements BenchServer {
  private proc: Supervised | undefined;
  readonly dataDir: string;
  readonly socketDir: string;

  constructor(
    readonly config: ConfigName,
    root: string,
    readonly port: number,
    readonly user: OsUser,
    private readonly supervisor: ProcessSupervisor,
  ) {
    this.dataDir = join(root, config, "data");
    this.socketDir = join(root, config, "socket");
  }

  /** initdb, then `extraConf` appended to the generated postgresql.conf. */
  async init(extraConf = ""): Promise<void> {
    const base = join(this.dataDir, "..");
    await mkdir(this.socketDir, { recursive: true });
    await chmod(base, 0o755);
    await runOk(["chown", "-R", `${this.user.uid}:${this.user.gid}`, base]);
    await runOk(["initdb", "-D", this.dataDir, ...INITDB_FLAGS], { user: this.user, timeoutMs: 300_000 });
    if (extraConf) await appendFile(join(this.dataDir, "postgresql.conf"), `\n${extraConf}`);
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  /** `overrides` are extra `-c name=value` settings (the attribution runs vary one setting at a time). */
  async start(overrides: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.running()) throw new Error(`${this.config} is already running (pid ${this.proc?.pid})`);
    const proc = this.supervisor.start(
      `${this.config}-postgres`,
      [
        "postgres",
        "-D",
        this.dataDir,
        "-c",
        `port=${this.port}`,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `unix_socket_directories=${this.socketDir}`,
        ...Object.entries(overrides).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
      ],
      // Fast shutdown: clients are disconnected, a shutdown checkpoint is written.
      { user: this.user, stopSignal: "SIGINT" },
    );
    this.proc = proc;
    await pollUntil(
      `${this.config} server to accept connections`,
      async () => {
        if (!proc.running())
          throw new Error(`${this.config} server exited during start-up:\n${proc.log().slice(-3000)}`);
        const ready = await run([
          "pg_isready",
          "-h",
          this.socketDir,
          "-p",
          String(this.port),
          "-U",
          "postgres",
        ]);
        return ready.code === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
  }

  async stop(): Promise<void> {
    if (this.proc) await this.supervisor.stop(this.proc, 120_000);
  }

  async sql(query: string, database = BENCH_DATABASE): Promise<string> {
    const result = await runOk(psqlArgv(this.socketDir, this.port, database, query), {
      user: this.user,
      timeoutMs: 600_000,
    });
    return result.stdout.trim();
  }
}

/** pgstack's primary, started and stopped by the proving harness with the rendered command. */
export class PgstackServer implements BenchServer {
  readonly config = "pgstack";

  constructor(readonly member: Member) {}

  get port(): number {
    return this.member.port;
  }

  get socketDir(): string {
    return this.member.spec.layout.socketDir;
  }

  get dataDir(): string {
    return this.member.dataDir;
  }

  get user(): OsUser {
    return this.member.user;
  }

  running(): boolean {
    return this.member.running();
  }

  start(): Promise<void> {
    return this.member.start({ timeoutMs: 180_000 });
  }

  stop(): Promise<void> {
    return this.member.stop(120_000);
  }

  async sql(query: string, database = BENCH_DATABASE): Promise<string> {
    // Member.sql has psql's default timeout; VACUUM and CHECKPOINT of a scale-50 database need more.
    const result = await runOk(psqlArgv(this.socketDir, this.port, database, query), {
      user: this.user,
      timeoutMs: 600_000,
    });
    return result.stdout.trim();
  }
}

/** One statement on a harness member's socket as `postgres`, in the bench database by default. */
export async function memberSql(member: Member, query: string, database = BENCH_DATABASE): Promise<string> {
  const result = await runOk(psqlArgv(member.spec.layout.socketDir, member.port, database, query), {
    user: member.user,
    timeoutMs: 600_000,
  });
  return result.stdout.trim();
}

function psqlArgv(socketDir: string, port: number, database: string, query: string): string[] {
  return [
    "psql",
    "-X",
    "-A",
    "-t",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    socketDir,
    "-p",
    String(port),
    "-U",
    "postgres",
    "-d",
    database,
    "-c",
    query,
  ];
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
  "checkpoint_completion_target",
  "random_page_cost",
  "effective_io_concurrency",
  "jit",
  "archive_mode",
  "archive_timeout",
  "shared_preload_libraries",
  "track_io_timing",
  "log_connections",
  "autovacuum_vacuum_scale_factor",
  "autovacuum_vacuum_cost_limit",
  "data_checksums",
  "wal_log_hints",
  "fsync",
  "full_page_writes",
  "synchronous_commit",
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

/** Checkpoints and buffer writes so far (pg_stat_bgwriter), to tell how often a run checkpointed. */
export interface Bgwriter {
  readonly checkpointsTimed: number;
  readonly checkpointsRequested: number;
  readonly buffersCheckpoint: number;
  readonly buffersBackend: number;
}

export async function bgwriter(server: BenchServer): Promise<Bgwriter> {
  const [timed, requested, checkpoint, backend] = (
    await server.sql(
      "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend FROM pg_stat_bgwriter",
    )
  )
    .split("|")
    .map(Number);
  return {
    checkpointsTimed: timed,
    checkpointsRequested: requested,
    buffersCheckpoint: checkpoint,
    buffersBackend: backend,
  };
}
