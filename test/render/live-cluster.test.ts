import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCommands, replicaBootstrapCommand } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import { REPLICATION_PASSFILE } from "../../components/render/replica-bootstrap";
import { SECRET_FILES } from "../../components/render/secret-files";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import { installMember } from "./live-members";
import {
  asPostgres,
  freePort,
  localModel,
  PG_BIN,
  postgresDir,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  selfSignedCertificate,
  socketSql,
  startPostgres,
} from "./local-postgres";

/**
 * PostgreSQL 15 started on the rendered postgresql.conf and pg_hba.conf (127.0.0.1 only, a free
 * port), roles made by the rendered init-roles.sh, and a replica cloned by the rendered
 * bootstrap-replica.sh that then streams from the primary.
 */
const PASSWORDS = { superuser: "SuperSecret1", replication: "ReplSecret2", app: "AppSecret3" };

let root: string;
let primary: ClusterModel;
let replica: ClusterModel;
let primaryServer: RunningPostgres | undefined;
let replicaServer: RunningPostgres | undefined;

/** Writes a model's config files, scripts and secrets into its layout. */
function install(model: ClusterModel): void {
  installMember(model, PASSWORDS);
}

function psql(model: ClusterModel, database: string, sql: string): string {
  return socketSql(model, sql, database);
}

beforeAll(async () => {
  root = postgresTempDir("live");
  primary = localModel(join(root, "primary"), await freePort());
  postgresDir(join(root, "primary"));
  install(primary);
  const certificate = selfSignedCertificate(primary.layout.tlsDir);
  postgresFile(join(primary.layout.tlsDir, "ca.crt"), readFileSync(certificate.cert, "utf8"), 0o644);

  const initdb = asPostgres([
    join(PG_BIN, "initdb"),
    "-D",
    primary.layout.dataDir,
    "--auth=peer",
    "--no-sync",
  ]);
  expect(initdb.status, initdb.stderr).toBe(0);
  primaryServer = await startPostgres(
    renderCommands(primary).postgres,
    primary.layout.dataDir,
    primary.layout.socketDir,
    primary.layout.port,
  );
  const roles = asPostgres(["sh", join(primary.layout.configDir, "init-roles.sh")]);
  expect(roles.status, roles.stderr).toBe(0);

  // The replica: its own volume, config and socket; the primary's TLS files (same CA).
  replica = localModel(join(root, "replica"), await freePort());
  postgresDir(join(root, "replica"));
  install(replica);
  for (const [file, mode] of [
    ["server.crt", 0o644],
    ["server.key", 0o600],
    ["ca.crt", 0o644],
  ] as const) {
    postgresFile(
      join(replica.layout.tlsDir, file),
      readFileSync(join(primary.layout.tlsDir, file), "utf8"),
      mode,
    );
  }
  // Members share one port on the platforms; here the replica listens on its own, so its
  // bootstrap script is rendered with the primary's port.
  const bootstrapScript = renderFiles({
    ...replica,
    layout: { ...replica.layout, port: primary.layout.port },
  });
  postgresFile(
    join(replica.layout.configDir, "bootstrap-replica.sh"),
    bootstrapScript["bootstrap-replica.sh"],
    0o644,
  );
}, 120_000);

afterAll(async () => {
  await replicaServer?.stop();
  await primaryServer?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("postgresql.conf on PostgreSQL 15", () => {
  it("is read without a single error, every line applied", () => {
    expect(psql(primary, "postgres", "SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL")).toBe(
      "0",
    );
    const applied = psql(
      primary,
      "postgres",
      `SELECT count(*) FROM pg_file_settings WHERE applied AND sourcefile = '${primary.layout.configDir}/postgresql.conf'`,
    );
    expect(Number(applied)).toBe(primary.tuning.parameters.length);
  });

  it("keeps quoted strings exactly (quotes, spaces, hyphens) and units as units", () => {
    expect(psql(primary, "postgres", "SHOW log_line_prefix")).toBe("%m [%p] %q%u@%d 'app'");
    expect(psql(primary, "postgres", "SELECT setting FROM pg_settings WHERE name = 'log_line_prefix'")).toBe(
      "%m [%p] %q%u@%d 'app'",
    );
    expect(psql(primary, "postgres", "SHOW password_encryption")).toBe("scram-sha-256");
    expect(psql(primary, "postgres", "SHOW shared_buffers")).toBe("512MB");
    expect(
      psql(primary, "postgres", "SELECT setting FROM pg_file_settings WHERE name = 'archive_command'"),
    ).toContain("--stanza=pgstack-dev archive-push %p");
    expect(psql(primary, "postgres", "SHOW ssl")).toBe("on");
  });
});

describe("pg_hba.conf on PostgreSQL 15", () => {
  it("loads without errors, with the reject rule last", () => {
    expect(psql(primary, "postgres", "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")).toBe(
      "0",
    );
    expect(
      psql(
        primary,
        "postgres",
        "SELECT auth_method FROM pg_hba_file_rules ORDER BY line_number DESC LIMIT 1",
      ),
    ).toBe("reject");
  });

  it("lets the superuser in over the socket by peer (no password given)", () => {
    expect(psql(primary, "postgres", "SELECT current_user")).toBe("postgres");
  });

  it("lets the application role in with its password, and refuses a wrong one", async () => {
    const connect = async (password: string) => {
      const client = new Client({
        host: "127.0.0.1",
        port: primary.layout.port,
        user: "app",
        database: "app",
        password,
      });
      await client.connect();
      try {
        return (await client.query("SELECT current_user, current_database()")).rows[0];
      } finally {
        await client.end();
      }
    };
    expect(await connect(PASSWORDS.app)).toEqual({ current_user: "app", current_database: "app" });
    await expect(connect("wrong")).rejects.toThrow(/password authentication failed/);
  });
});

describe("init-roles.sh on PostgreSQL 15", () => {
  it("created the replication role, the application role and database, and pg_stat_statements", () => {
    expect(
      psql(
        primary,
        "postgres",
        "SELECT rolreplication, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'replicator'",
      ),
    ).toBe("t|t|f");
    expect(psql(primary, "postgres", "SELECT rolreplication FROM pg_roles WHERE rolname = 'app'")).toBe("f");
    expect(
      psql(primary, "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"),
    ).toBe("app");
    expect(
      psql(primary, "app", "SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'"),
    ).toBe("pg_stat_statements");
  });

  it("exempts the superuser from a statement_timeout set above its role (pgBackRest's pg_backup_start waits for a checkpoint)", async () => {
    // A database-wide setting stands in for postgresql.conf's: both rank below a role's own setting.
    psql(primary, "postgres", "ALTER DATABASE app SET statement_timeout = '1min'");
    try {
      // A fresh superuser session, as pgBackRest opens one.
      expect(psql(primary, "app", "SHOW statement_timeout")).toBe("0");
      const client = new Client({
        host: "127.0.0.1",
        port: primary.layout.port,
        user: "app",
        database: "app",
        password: PASSWORDS.app,
      });
      await client.connect();
      const { rows } = await client.query("SHOW statement_timeout");
      await client.end();
      // Everyone else keeps the limit.
      expect(rows[0].statement_timeout).toBe("1min");
    } finally {
      psql(primary, "postgres", "ALTER DATABASE app RESET statement_timeout");
    }
  });

  it("keeps other roles out of the application database", async () => {
    const client = new Client({
      host: "127.0.0.1",
      port: primary.layout.port,
      user: "replicator",
      database: "app",
      password: PASSWORDS.replication,
    });
    await expect(client.connect()).rejects.toThrow(/permission denied for database/);
  });

  it("is safe to run again and takes the password from the secret file", async () => {
    postgresFile(join(primary.layout.secretsDir, SECRET_FILES.appPassword), "Rotated4", 0o640);
    const again = asPostgres(["sh", join(primary.layout.configDir, "init-roles.sh")]);
    expect(again.status, again.stderr).toBe(0);
    const client = new Client({
      host: "127.0.0.1",
      port: primary.layout.port,
      user: "app",
      database: "app",
      password: "Rotated4",
    });
    await client.connect();
    await client.end();
    postgresFile(join(primary.layout.secretsDir, SECRET_FILES.appPassword), PASSWORDS.app, 0o640);
    expect(asPostgres(["sh", join(primary.layout.configDir, "init-roles.sh")]).status).toBe(0);
  });

  it("left no password in the server log", () => {
    const log = primaryServer?.log() ?? "";
    for (const secret of [...Object.values(PASSWORDS), "Rotated4"]) expect(log).not.toContain(secret);
  });

  it("refuses to run without the password files, naming the missing one", () => {
    const empty = postgresDir(join(root, "no-secrets"));
    const script = postgresFile(
      join(empty, "init-roles.sh"),
      renderFiles({ ...primary, layout: { ...primary.layout, secretsDir: empty } })["init-roles.sh"],
      0o644,
    );
    const result = asPostgres(["sh", script]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${empty}/replication-password is missing`);
  });
});

describe("bootstrap-replica.sh against the primary", () => {
  const bootstrap = () => asPostgres(replicaBootstrapCommand(replica, "replica-1"));

  it("clones an empty volume into a standby with its own slot and a 0600 passfile", () => {
    const result = bootstrap();
    expect(result.status, result.stderr).toBe(0);
    const { dataDir, volumeDir } = replica.layout;
    expect(existsSync(join(dataDir, "standby.signal"))).toBe(true);
    const auto = readFileSync(join(dataDir, "postgresql.auto.conf"), "utf8");
    expect(auto).toContain("primary_slot_name = 'replica_1'");
    expect(auto).toContain(`passfile=''${volumeDir}/${REPLICATION_PASSFILE}''`);
    expect(auto).toContain("sslmode=''verify-full''");
    expect(auto).not.toContain(PASSWORDS.replication);
    const passfile = join(volumeDir, REPLICATION_PASSFILE);
    expect(statSync(passfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(passfile, "utf8")).toBe(`*:*:replication:replicator:${PASSWORDS.replication}\n`);
    expect(
      psql(primary, "postgres", "SELECT slot_type FROM pg_replication_slots WHERE slot_name = 'replica_1'"),
    ).toBe("physical");
  });

  it("leaves a non-empty data directory alone", () => {
    const before = readFileSync(join(replica.layout.dataDir, "postgresql.auto.conf"), "utf8");
    const result = bootstrap();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("is not empty: nothing to do");
    expect(readFileSync(join(replica.layout.dataDir, "postgresql.auto.conf"), "utf8")).toBe(before);
  });

  it("reuses the slot, and says so, when the replica's volume was lost", () => {
    rmSync(replica.layout.dataDir, { recursive: true, force: true });
    const result = bootstrap();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("slot replica_1 already exists on the primary");
    expect(existsSync(join(replica.layout.dataDir, "standby.signal"))).toBe(true);
  });

  it("refuses a slot the spec does not declare", () => {
    const result = asPostgres(["sh", join(replica.layout.configDir, "bootstrap-replica.sh"), "replica_9"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("one of: replica_1");
  });

  it("yields a standby that streams from the primary through its slot", async () => {
    const check = asPostgres(renderCommands(replica).integrityCheck);
    expect(check.status, check.stderr).toBe(0);
    replicaServer = await startPostgres(
      renderCommands(replica).postgres,
      replica.layout.dataDir,
      replica.layout.socketDir,
      replica.layout.port,
    );
    expect(psql(replica, "postgres", "SELECT pg_is_in_recovery()")).toBe("t");
    let state = "";
    for (let attempt = 0; attempt < 50 && state !== "streaming"; attempt++) {
      state = psql(
        primary,
        "postgres",
        "SELECT state FROM pg_stat_replication WHERE application_name = 'replica_1'",
      );
      if (state !== "streaming") await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(state).toBe("streaming");
    expect(
      psql(primary, "postgres", "SELECT active FROM pg_replication_slots WHERE slot_name = 'replica_1'"),
    ).toBe("t");
  });
});

describe("switchover-check.sh against the streaming pair", () => {
  /**
   * The check as an operator runs it before setting pgstack:primary=replica-1: in a member, with
   * the files of the current spec. The members share one port on the platforms but not here, so
   * the target's port is given.
   */
  function check(): ReturnType<typeof asPostgres> {
    const script = join(primary.layout.configDir, "switchover-check.sh");
    return asPostgres(["sh", script, "replica-1", String(replica.layout.port)]);
  }

  async function caughtUp(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const lag = psql(
        primary,
        "postgres",
        "SELECT pg_current_wal_lsn() = replay_lsn FROM pg_stat_replication WHERE application_name = 'replica_1'",
      );
      if (lag === "t") return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error("the replica did not catch up");
  }

  it("passes a target that streams and is caught up, naming how far behind it is", async () => {
    await caughtUp();
    const result = check();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /replica-1 streams from primary and is \d+ bytes behind \(.+ on timeline 1\)/,
    );
  });

  it("refuses a target that stopped streaming and lags, naming the lag, and changes nothing", async () => {
    // The replica stops streaming (no primary_conninfo); the primary writes 32 MiB of WAL.
    const conninfo = psql(replica, "postgres", "SHOW primary_conninfo");
    psql(replica, "postgres", "ALTER SYSTEM SET primary_conninfo = ''");
    psql(replica, "postgres", "SELECT pg_reload_conf()");
    for (let attempt = 0; attempt < 50; attempt++) {
      if (psql(replica, "postgres", "SELECT count(*) FROM pg_stat_wal_receiver") === "0") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    psql(
      primary,
      "postgres",
      "CREATE TABLE switchover_lag AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 120000) g",
    );
    const result = check();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /refusing the switchover: the target replica-1 lags the primary by \d{8,} bytes of WAL/,
    );
    expect(result.stderr).toContain("Nothing was changed.");
    expect(psql(replica, "postgres", "SELECT pg_is_in_recovery()")).toBe("t");
    // Streaming again, with the bootstrap's conninfo.
    psql(replica, "postgres", `ALTER SYSTEM SET primary_conninfo = '${conninfo.replaceAll("'", "''")}'`);
    psql(replica, "postgres", "SELECT pg_reload_conf()");
    psql(primary, "postgres", "DROP TABLE switchover_lag");
    await caughtUp();
  }, 60_000);

  it("refuses a switchover when the primary cannot be reached, reporting where a failover would start", async () => {
    // The check as rendered for a primary that listens elsewhere (port 1: nothing there).
    const unreachable = { ...primary, layout: { ...primary.layout, port: 1 } };
    const script = join(root, "switchover-check-unreachable.sh");
    postgresFile(script, renderFiles(unreachable)["switchover-check.sh"], 0o644);
    const result = asPostgres(["sh", script, "replica-1", String(replica.layout.port)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("cannot reach the primary primary (localhost) over replication");
    expect(result.stderr).toMatch(
      /a failover to replica-1 starts the new timeline from its WAL at [0-9A-F]+\/[0-9A-F]+/,
    );
  });

  it("refuses a target that is not a replica, with the usage", () => {
    const result = asPostgres(["sh", join(primary.layout.configDir, "switchover-check.sh"), "primary"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("where TARGET is a replica: replica-1");
  });
});
