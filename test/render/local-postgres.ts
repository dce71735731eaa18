import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import type { Layout } from "../../components/spec/cluster-spec";
import { fixtureModel, withParameters } from "./fixtures";

/** Real PostgreSQL 15 binaries of this machine, run as the `postgres` OS user (PG refuses root). */
export const PG_BIN = "/usr/lib/postgresql/15/bin";
const RUNUSER = "/usr/sbin/runuser";

const postgresUser = (() => {
  const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
})();

/** A temporary directory owned by postgres (mode 0700 unless told otherwise). */
export function postgresTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pgstack-${prefix}-`));
  chownSync(dir, postgresUser.uid, postgresUser.gid);
  chmodSync(dir, 0o700);
  return dir;
}

/** mkdir -p owned by postgres. */
export function postgresDir(path: string, mode = 0o700): string {
  mkdirSync(path, { recursive: true, mode });
  chownSync(path, postgresUser.uid, postgresUser.gid);
  chmodSync(path, mode);
  return path;
}

/** Writes a file owned by postgres. */
export function postgresFile(path: string, content: string, mode = 0o600): string {
  writeFileSync(path, content, { mode });
  chownSync(path, postgresUser.uid, postgresUser.gid);
  chmodSync(path, mode);
  return path;
}

/** Runs a command as the postgres OS user. */
export function asPostgres(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(RUNUSER, ["-u", "postgres", "--", ...argv], {
    encoding: "utf8",
    env: { PATH: `${PG_BIN}:/usr/bin:/bin`, ...options.env },
    input: options.input,
    timeout: 120_000,
  });
}

/**
 * SQL through psql on the model's socket as the postgres OS user (peer), unaligned and
 * tuples-only; throws with psql's output when it writes to stderr or fails.
 */
export function socketSql(model: ClusterModel, sql: string, database = "postgres"): string {
  const { layout } = model;
  const result = asPostgres([
    "psql",
    "-X",
    "-A",
    "-t",
    "-h",
    layout.socketDir,
    "-p",
    String(layout.port),
    "-d",
    database,
    "-c",
    sql,
  ]);
  if (result.status !== 0 || result.stderr !== "") {
    throw new Error(`psql ${JSON.stringify(sql)} (exit ${result.status}): ${result.stderr}${result.stdout}`);
  }
  return result.stdout.trim();
}

/** A member's directories under `root` (volume, config, socket, TLS), owned by postgres. */
export function memberDirectories(root: string, model: ClusterModel): void {
  const { layout } = model;
  for (const dir of [root, layout.volumeDir, layout.configDir, layout.socketDir, layout.tlsDir])
    postgresDir(dir);
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** A self-signed certificate for `localhost`, the key readable by postgres only. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  const result = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"].concat([
      "-addext",
      "subjectAltName=DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ]),
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  for (const file of [cert, key]) {
    chownSync(file, postgresUser.uid, postgresUser.gid);
    chmodSync(file, 0o600);
  }
  return { cert, key };
}

/**
 * A model whose layout lives under `root` and whose server listens on 127.0.0.1:`port` only,
 * so rendered files can be run for real on this machine.
 */
export function localModel(root: string, port: number, changes: Partial<ClusterModel> = {}): ClusterModel {
  const base = fixtureModel(changes);
  const layout: Layout = {
    ...base.layout,
    volumeDir: join(root, "volume"),
    dataDir: join(root, "volume", "pgdata"),
    configDir: join(root, "config"),
    pgbackrestConfigDir: join(root, "pgbackrest"),
    pgbackrestIncludeDir: join(root, "pgbackrest", "conf.d"),
    secretsDir: join(root, "secrets"),
    tlsDir: join(root, "tls"),
    socketDir: join(root, "socket"),
    spoolPath: join(root, "volume", "spool"),
    pgbackrestLogPath: join(root, "volume", "pgbackrest-log"),
    pgbackrestLockPath: join(root, "lock"),
    port,
    hosts: { primary: "localhost", "replica-1": "localhost" },
    pgbackrestServerAddress: "127.0.0.1",
    s3Endpoint: "localhost",
    runner: {
      configDir: join(root, "runner"),
      includeDir: join(root, "runner", "conf.d"),
      tlsDir: join(root, "runner-tls"),
      logPath: join(root, "runner-log"),
      lockPath: join(root, "runner-lock"),
    },
  };
  const model = { ...base, layout, postgres: { ...base.postgres, port } };
  return withParameters(
    model,
    {
      listen_addresses: "127.0.0.1",
      port: String(port),
      unix_socket_directories: layout.socketDir,
      hba_file: join(layout.configDir, "pg_hba.conf"),
      // No repository in these tests: archiving is proven by the proving ground.
      archive_mode: "off",
    },
    [
      {
        name: "ssl_cert_file",
        value: join(layout.tlsDir, "server.crt"),
        section: "Security",
        source: "fixed",
        reason: "Server certificate.",
      },
      {
        name: "ssl_key_file",
        value: join(layout.tlsDir, "server.key"),
        section: "Security",
        source: "fixed",
        reason: "Server key.",
      },
    ],
  );
}

/** A running postmaster started from `argv`; stop() stops it by PID. */
export interface RunningPostgres {
  readonly process: ChildProcess;
  readonly log: () => string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * Give the server its own /dev/shm: a tmpfs of this many bytes in a private mount namespace
   * (as a pod's memory emptyDir or Docker's shm_size does), invisible to everything else.
   */
  readonly shmBytes?: number;
}

/** Starts PostgreSQL as postgres (argv[0] resolved in PG_BIN) and waits until it accepts connections. */
export async function startPostgres(
  argv: readonly string[],
  dataDir: string,
  socketDir: string,
  port: number,
  options: StartOptions = {},
): Promise<RunningPostgres> {
  const server = [RUNUSER, "-u", "postgres", "--", join(PG_BIN, argv[0]), ...argv.slice(1)];
  const child =
    options.shmBytes === undefined
      ? spawn(server[0], server.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
      : spawn(
          "unshare",
          [
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            // exec: the postmaster replaces the shell (stop() signals it by its postmaster.pid).
            `mount -t tmpfs -o size=${options.shmBytes} tmpfs /dev/shm && exec "$@"`,
            "sh",
            ...server,
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running: RunningPostgres = {
    process: child,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGINT to the postmaster itself (its PID from postmaster.pid): a fast shutdown. runuser
        // would turn a signal into SIGTERM and then SIGKILL after 2 s.
        const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
        process.kill(pid, "SIGINT");
        await exited;
      }
    },
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}):\n${output}`);
    const ready = spawnSync(join(PG_BIN, "pg_isready"), ["-q", "-h", socketDir, "-p", String(port)]);
    if (ready.status === 0) return running;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await running.stop();
  throw new Error(`postgres did not become ready:\n${output}`);
}
