import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import type { ExecOptions, ProbeResult } from "./container";
import type { MemberRuntime, PlatformRuntime } from "./platform";
import { pollUntil } from "./poll";
import { describeFailure, type RunResult } from "./processes";

/**
 * One PostgreSQL member as the proofs use it: its platform runtime (container or pod) plus what
 * an operator does from outside, through the platform's exec (`docker exec`, `kubectl exec`):
 * psql on the member's socket as the superuser (peer), or over the network with TLS from a client
 * container, and pgBackRest commands.
 */
export class Member {
  constructor(
    readonly runtime: MemberRuntime,
    readonly spec: ClusterSpec,
    private readonly platform: PlatformRuntime,
  ) {}

  get name(): string {
    return this.runtime.name;
  }

  /** PGDATA on this machine (inside the member's volume). */
  get dataDir(): string {
    return this.runtime.dataDir;
  }

  running(): boolean {
    try {
      return this.runtime.container.running();
    } catch {
      return false;
    }
  }

  start(options?: { readonly timeoutMs?: number }): Promise<void> {
    return this.runtime.start(options);
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }

  /** The platform's readiness check, once. */
  ready(): Promise<ProbeResult> {
    return this.runtime.ready();
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<RunResult> {
    return this.runtime.container.exec(argv, options);
  }

  async execOk(argv: readonly string[], options?: ExecOptions): Promise<RunResult> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw new Error(`${this.name}: ${describeFailure(result)}`);
    return result;
  }

  /**
   * SQL through psql, unaligned and tuples-only: as the superuser on the member's socket (peer,
   * the only way pg_hba admits it), or with `tcp` as the application role over TLS from where
   * the stack admits a client (see PlatformRuntime.sqlClient), the password from a passfile.
   * `env` adds to psql's environment (e.g. PGOPTIONS for one session's settings).
   */
  async sql(
    query: string,
    options: {
      readonly database?: string;
      readonly tcp?: boolean;
      readonly timeoutMs?: number;
      readonly env?: Readonly<Record<string, string>>;
    } = {},
  ): Promise<string> {
    const { layout, postgres } = this.spec;
    const database = options.database ?? postgres.database;
    const argv = (target: string) => [
      "psql",
      "-X",
      "-A",
      "-t",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-d",
      target,
      "-c",
      query,
    ];
    if (options.tcp) {
      const client = await this.platform.sqlClient(this.runtime);
      const target = `host=${client.host} port=${layout.port} dbname=${database} user=${postgres.appUser} sslmode=${client.sslmode} sslrootcert=${layout.tlsDir}/ca.crt`;
      const result = await client.container.exec(argv(target), {
        env: { ...client.env, ...options.env },
        timeoutMs: options.timeoutMs,
      });
      if (result.code !== 0) throw new Error(`${this.name} over TCP: ${describeFailure(result)}`);
      return result.stdout.trim();
    }
    const result = await this.exec(
      argv(`host=${layout.socketDir} port=${layout.port} dbname=${database} user=${postgres.superuser}`),
      { timeoutMs: options.timeoutMs, env: options.env },
    );
    if (result.code !== 0) throw new Error(`${this.name}: ${describeFailure(result)}`);
    return result.stdout.trim();
  }

  /** The postmaster's PID in the member's PID namespace (postmaster.pid), or undefined. */
  async postmasterPid(): Promise<number | undefined> {
    const text = await readFile(join(this.dataDir, "postmaster.pid"), "utf8").catch(() => "");
    const pid = Number(text.split("\n")[0]);
    return pid > 0 ? pid : undefined;
  }

  /** This machine's PID of the postmaster (the process whose namespace PID is postmaster.pid's). */
  async postmasterHostPid(): Promise<number> {
    const nsPid = await this.postmasterPid();
    if (nsPid === undefined) throw new Error(`${this.name} has no postmaster.pid`);
    for (const pid of await this.runtime.container.processes()) {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1].trim().split(/\s+/);
      if (nspid && Number(nspid[nspid.length - 1]) === nsPid) return pid;
    }
    throw new Error(`${this.name}: no process with namespace PID ${nsPid}`);
  }

  /**
   * SIGKILL to the postmaster: a crash, no shutdown checkpoint. Its container's PID 1 (tini)
   * exits with it; the platform restarts the container; returns once the member is ready again.
   */
  async crash(): Promise<void> {
    const pid = await this.postmasterHostPid();
    const exited = this.runtime.container.exited;
    process.kill(pid, "SIGKILL");
    await exited;
    await this.runtime.recovered();
  }

  /** WAL segments PostgreSQL still has to archive (archive_status/*.ready). */
  async pendingWal(): Promise<string[]> {
    const status = join(this.dataDir, "pg_wal", "archive_status");
    return (await readdir(status)).filter((name) => name.endsWith(".ready")).map((name) => name.slice(0, -6));
  }

  log(): string {
    return this.runtime.log();
  }

  /** Waits for `query` to return `expected` (e.g. the end of recovery). */
  async waitFor(query: string, expected: string, timeoutMs = 60_000): Promise<void> {
    await pollUntil(
      `${this.name}: ${query} = ${expected}`,
      async () => ((await this.sql(query).catch(() => undefined)) === expected ? true : undefined),
      { timeoutMs },
    );
  }
}
