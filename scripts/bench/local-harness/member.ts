import { join } from "node:path";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import type { OsUser } from "../../../test/proving/harness/os-users";
import { pollUntil } from "../../../test/proving/harness/poll";
import {
  describeFailure,
  type ProcessSupervisor,
  type RunResult,
  run,
  runOk,
  type Supervised,
} from "../../../test/proving/harness/processes";

/**
 * One PostgreSQL member on this machine, run from its own spec (built with its local layout):
 * the rendered integrity check, then the rendered `postgres` command, as the `postgres` OS user,
 * supervised by PID. Queries go through psql on the member's socket as the superuser (peer), the
 * way the rendered pg_hba.conf admits it.
 */
export class Member {
  private proc: Supervised | undefined;

  constructor(
    readonly name: string,
    readonly spec: ClusterSpec,
    private readonly supervisor: ProcessSupervisor,
    readonly user: OsUser,
    /** Environment of every process of this member (the local archive substitutions). */
    readonly env: Readonly<Record<string, string>> = {},
    /** libpq passfile (0600) with the superuser's password, for connections over TCP. */
    private readonly passfile?: string,
  ) {}

  get port(): number {
    return this.spec.layout.port;
  }

  get dataDir(): string {
    return this.spec.layout.dataDir;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  get pid(): number | undefined {
    return this.running() ? this.proc?.pid : undefined;
  }

  /** Runs an argv as this member's OS user with its environment. */
  exec(argv: readonly string[], timeoutMs?: number): Promise<RunResult> {
    return run(argv, { user: this.user, env: { PGDATA: this.dataDir, ...this.env }, timeoutMs });
  }

  async execOk(argv: readonly string[], timeoutMs?: number): Promise<RunResult> {
    const result = await this.exec(argv, timeoutMs);
    if (result.code !== 0) throw new Error(describeFailure(result));
    return result;
  }

  /** The rendered integrity check on this member's data directory. */
  integrityCheck(): Promise<RunResult> {
    return this.exec(this.spec.commands.integrityCheck);
  }

  healthcheck(): Promise<RunResult> {
    return this.exec(this.spec.commands.healthcheck);
  }

  /**
   * Starts PostgreSQL as the platforms do: integrity check first (a refusal stops the start),
   * then the rendered command; returns once the rendered healthcheck reports healthy.
   */
  async start(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running (pid ${this.proc?.pid})`);
    const check = await this.integrityCheck();
    if (check.code !== 0) throw new Error(`${this.name}: ${describeFailure(check)}`);
    const proc = this.supervisor.start(this.name, this.spec.commands.postgres, {
      user: this.user,
      env: { PGDATA: this.dataDir, ...this.env },
      // Fast shutdown: SIGTERM (smart) would wait for every client to disconnect.
      stopSignal: "SIGINT",
    });
    this.proc = proc;
    await pollUntil(
      `${this.name} to report healthy (${this.spec.commands.healthcheck.join(" ")})`,
      async () => {
        if (!proc.running())
          throw new Error(`${this.name} exited during start-up:\n${proc.log().slice(-3000)}`);
        return (await this.healthcheck()).code === 0 ? true : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        intervalMs: 200,
        describe: async () => proc.log().slice(-2000),
      },
    );
  }

  /** Fast shutdown (SIGINT), SIGKILL after the timeout. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.proc) await this.supervisor.stop(this.proc, timeoutMs);
  }

  /** SIGKILL to the postmaster: a crash, no shutdown checkpoint. Waits until its backends are gone too. */
  async crash(): Promise<void> {
    if (!this.proc) return;
    await this.supervisor.kill(this.proc, "SIGKILL");
    // Orphaned backends notice the postmaster's death and exit; a new postmaster refuses to start
    // while one still holds the shared memory. Their working directory is the data directory.
    await pollUntil(`${this.name}'s backends to exit after the crash`, () => this.noProcessInDataDir());
  }

  /** True when no process of the member's OS user has its working directory in the data directory. */
  private async noProcessInDataDir(): Promise<true | undefined> {
    const ps = await run([
      "sh",
      "-c",
      `pgrep -u ${this.user.name} postgres | xargs -r -n1 sh -c 'readlink /proc/$0/cwd'`,
    ]);
    return ps.stdout.split("\n").some((cwd) => cwd === this.dataDir) ? undefined : true;
  }

  /**
   * Runs SQL through psql as the superuser and returns unaligned, tuples-only output: over the
   * member's socket (peer), or with `tcp` over TCP to `localhost` with TLS verified against the
   * stack's CA and the password from a passfile (the way a remote client connects).
   */
  async sql(
    query: string,
    options: { readonly database?: string; readonly tcp?: boolean } = {},
  ): Promise<string> {
    const { layout, postgres } = this.spec;
    const database = options.database ?? postgres.database;
    const target = options.tcp
      ? `host=${layout.hosts.primary ?? "localhost"} port=${this.port} dbname=${database} user=${postgres.superuser} sslmode=verify-full sslrootcert=${join(layout.tlsDir, "ca.crt")}`
      : `host=${layout.socketDir} port=${this.port} dbname=${database} user=${postgres.superuser}`;
    if (options.tcp && !this.passfile) throw new Error(`${this.name} has no passfile for TCP connections`);
    const result = await runOk(
      ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-c", query],
      {
        user: this.user,
        env: options.tcp && this.passfile ? { PGPASSFILE: this.passfile } : {},
      },
    );
    return result.stdout.trim();
  }

  log(): string {
    return this.proc?.log() ?? "";
  }
}
