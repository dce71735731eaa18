import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asPostgres, freePort, PG_BIN, postgresTempDir } from "./local-postgres";

/**
 * How PostgreSQL 15 takes a changed setting, on a real primary and a streaming replica: the
 * facts the rollout order rests on. A standby must run max_connections, max_worker_processes,
 * max_wal_senders, max_prepared_transactions and max_locks_per_transaction at least as high as
 * its primary. Raised on the replica first, nothing happens; raised on the primary first, the
 * replica pauses replay, and restarted with its old value it refuses to start. Reload-level
 * settings apply with pg_reload_conf(), without a restart; restart-level ones only flag
 * pending_restart.
 */
let root: string;
let primary: Server;
let replica: Server;

interface Server {
  readonly dataDir: string;
  readonly port: number;
  readonly log: string;
}

const pgCtl = (server: Server, ...args: string[]) =>
  asPostgres([join(PG_BIN, "pg_ctl"), "-D", server.dataDir, "-l", server.log, ...args]);

function sql(server: Server, statement: string): string {
  const result = asPostgres([
    join(PG_BIN, "psql"),
    "-X",
    "-A",
    "-t",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    root,
    "-p",
    String(server.port),
    "-d",
    "postgres",
    "-c",
    statement,
  ]);
  if (result.status !== 0) throw new Error(`${statement}: ${result.stderr}`);
  return result.stdout.trim();
}

/** Sets max_connections for the next start (the last line of postgresql.conf wins). */
function maxConnections(server: Server, value: number): void {
  appendFileSync(join(server.dataDir, "postgresql.conf"), `max_connections = ${value}\n`);
}

function restart(server: Server) {
  return pgCtl(server, "restart", "-m", "fast", "-w", "-t", "60");
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  root = postgresTempDir("rollout");
  primary = { dataDir: join(root, "primary"), port: await freePort(), log: join(root, "primary.log") };
  replica = { dataDir: join(root, "replica"), port: await freePort(), log: join(root, "replica.log") };
  const initdb = asPostgres([
    join(PG_BIN, "initdb"),
    "-D",
    primary.dataDir,
    "--auth-local=peer",
    "--auth-host=trust",
    "--no-sync",
  ]);
  expect(initdb.status, initdb.stderr).toBe(0);
  // Trust on loopback (initdb's host lines): this throwaway cluster listens on 127.0.0.1 only.
  appendFileSync(
    join(primary.dataDir, "postgresql.conf"),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${primary.port}`,
      `unix_socket_directories = '${root}'`,
      "max_connections = 50",
      "",
    ].join("\n"),
  );
  expect(pgCtl(primary, "start", "-w").status).toBe(0);
  const clone = asPostgres([
    join(PG_BIN, "pg_basebackup"),
    "-h",
    "127.0.0.1",
    "-p",
    String(primary.port),
    "-D",
    replica.dataDir,
    "-R",
    "-X",
    "stream",
  ]);
  expect(clone.status, clone.stderr).toBe(0);
  appendFileSync(join(replica.dataDir, "postgresql.conf"), `port = ${replica.port}\n`);
  expect(pgCtl(replica, "start", "-w").status).toBe(0);
  sql(primary, "create table rows (note text)");
}, 120_000);

afterAll(() => {
  for (const server of [replica, primary]) if (server) pgCtl(server, "stop", "-m", "fast", "-w");
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Commits a row on the primary and returns whether the replica shows it within `ms`. */
async function replicated(note: string): Promise<boolean> {
  sql(primary, `insert into rows values ('${note}')`);
  sql(primary, "select pg_switch_wal()");
  try {
    await until(
      `${note} on the replica`,
      () => sql(replica, `select count(*) from rows where note = '${note}'`) === "1",
    );
    return true;
  } catch {
    return false;
  }
}

describe("a raised max_connections", () => {
  it("replicas first: the replica restarts with 80, then the primary; replication never stops", {
    timeout: 120_000,
  }, async () => {
    maxConnections(replica, 80);
    expect(restart(replica).status).toBe(0);
    expect(await replicated("after the replica restart")).toBe(true);
    maxConnections(primary, 80);
    expect(restart(primary).status).toBe(0);
    expect(await replicated("after the primary restart")).toBe(true);
    expect(sql(replica, "select pg_get_wal_replay_pause_state()")).toBe("not paused");
  });

  it("primary first: the replica pauses replay, and restarted with its old value refuses to start", {
    timeout: 120_000,
  }, async () => {
    maxConnections(primary, 120);
    expect(restart(primary).status).toBe(0);
    sql(primary, "insert into rows values ('after the primary went to 120')");
    sql(primary, "select pg_switch_wal()");
    await until(
      "the replica to pause",
      () => sql(replica, "select pg_get_wal_replay_pause_state()") === "paused",
    );
    expect(sql(replica, "select count(*) from rows where note = 'after the primary went to 120'")).toBe("0");
    expect(readFileSync(replica.log, "utf8")).toMatch(
      /max_connections = 80 is a lower setting than on the primary server, where its value was 120/,
    );

    // A restart with the old value (a pod rescheduled before its own roll): it does not start.
    expect(restart(replica).status).not.toBe(0);
    expect(readFileSync(replica.log, "utf8")).toMatch(
      /recovery aborted because of insufficient parameter settings/,
    );

    // Its roll to the new value: it starts, resumes and has every row.
    maxConnections(replica, 120);
    expect(pgCtl(replica, "start", "-w").status).toBe(0);
    await until(
      "the replica to catch up",
      () => sql(replica, "select count(*) from rows where note = 'after the primary went to 120'") === "1",
    );
    expect(await replicated("after the replica roll")).toBe(true);
  });
});

describe("a reload-level setting", () => {
  it("applies with pg_reload_conf(), the server not restarted; a restart-level one only flags pending_restart", {
    timeout: 60_000,
  }, async () => {
    const started = sql(primary, "select pg_postmaster_start_time()");
    appendFileSync(join(primary.dataDir, "postgresql.conf"), "work_mem = '24MB'\nmax_connections = 150\n");
    sql(primary, "select pg_reload_conf()");
    await until("work_mem to apply", () => sql(primary, "show work_mem") === "24MB");
    expect(sql(primary, "select pg_postmaster_start_time()")).toBe(started);
    expect(sql(primary, "show max_connections")).toBe("120");
    expect(sql(primary, "select pending_restart from pg_settings where name = 'max_connections'")).toBe("t");
    expect(sql(primary, "select pending_restart from pg_settings where name = 'work_mem'")).toBe("f");
  });
});
