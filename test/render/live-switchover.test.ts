import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import type { MemberSpec } from "../../components/spec/cluster-spec";
import { withParameters } from "./fixtures";
import { installMember, type RunningMember, startMember, stopMember, waitAccepting } from "./live-members";
import { asPostgres, freePort, localModel, PG_BIN, postgresDir, postgresTempDir } from "./local-postgres";

/**
 * A switchover and a failover with the rendered start-member.sh on PostgreSQL 15, writes running.
 * Two members on one port, as on the platforms, each on its own loopback address (127.0.0.2 and
 * 127.0.0.3; Linux routes all of 127/8 to lo), without TLS (a certificate would need those
 * addresses). The steps a platform takes are taken here in the same order: the switchover check,
 * the old primary's clean stop, the target restarted as primary (it promotes itself), the old
 * primary restarted as a replica (it rejoins by pg_rewind).
 */
const PASSWORDS = { superuser: "SuperSecret1", replication: "ReplSecret2", app: "AppSecret3" };
const ADDRESSES: Record<string, string> = { primary: "127.0.0.2", "replica-1": "127.0.0.3" };

let root: string;
let port: number;

/** The model member `name` runs with, when `primary` is the primary. */
function memberModel(name: string, primary: MemberSpec["name"], failover = false): ClusterModel {
  const base = localModel(join(root, name), port, {
    tls: false,
    switchover: { primary, failover },
    members: (["primary", "replica-1"] as const).map((member) =>
      member === primary
        ? { name: member, role: "primary" }
        : { name: member, role: "replica", slot: member.replaceAll("-", "_") },
    ),
  });
  const model: ClusterModel = {
    ...base,
    layout: { ...base.layout, hosts: ADDRESSES },
    network: { ...base.network, allowedCidrs: ["127.0.0.0/8"] },
  };
  return withParameters(model, { listen_addresses: ADDRESSES[name], ssl: "off" });
}

/** Writes a member's rendered files (as a `pulumi up` with this model would) and its secrets. */
function install(model: ClusterModel): void {
  installMember(model, PASSWORDS);
}

const running = new Map<string, RunningMember>();

/** Starts member `name` as its container would: start-member.sh with the member's arguments. */
async function start(model: ClusterModel, name: string): Promise<RunningMember> {
  const member = startMember(model, name);
  running.set(name, member);
  return member;
}

/** Waits until member `name` accepts TCP connections, or its start script exits. */
async function ready(member: RunningMember, name: string): Promise<void> {
  await waitAccepting(member, name, ADDRESSES[name], port, 600);
}

/** Stops member `name`: SIGINT (fast shutdown, as the platforms stop a member) or SIGKILL (a crash). */
async function stop(name: string, signal: "SIGINT" | "SIGKILL"): Promise<void> {
  const member = running.get(name);
  if (member === undefined) return;
  await stopMember(member, join(root, name, "volume", "pgdata"), signal);
  running.delete(name);
}

function sql(name: string, query: string): string {
  const result = asPostgres([
    "psql",
    "-X",
    "-A",
    "-t",
    "-h",
    join(root, name, "socket"),
    "-p",
    String(port),
    "-d",
    "app",
    "-c",
    query,
  ]);
  if (result.status !== 0) throw new Error(`${name}: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * A client writing as an application does: one row per transaction to the read-write member
 * (`writer.target`), recording each id whose COMMIT was acknowledged and the longest gap between
 * two acknowledged commits (the write outage).
 */
class Writer {
  target = "primary";
  readonly acknowledged: number[] = [];
  longestGapMs = 0;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let next = 1;
    let lastAck = Date.now();
    while (!this.stopped) {
      const client = new Client({
        host: ADDRESSES[this.target],
        port,
        user: "app",
        password: PASSWORDS.app,
        database: "app",
        connectionTimeoutMillis: 1000,
      });
      client.on("error", () => {});
      try {
        await client.connect();
        while (!this.stopped) {
          await client.query("INSERT INTO writes (id) VALUES ($1)", [next]);
          this.acknowledged.push(next);
          next++;
          const now = Date.now();
          this.longestGapMs = Math.max(this.longestGapMs, now - lastAck);
          lastAck = now;
        }
      } catch {
        // The member went away or refuses writes (a standby): try again, on the current target.
        next++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        await client.end().catch(() => {});
      }
    }
  }
}

beforeAll(async () => {
  root = postgresTempDir("switchover");
  port = await freePort();
  for (const name of ["primary", "replica-1"]) {
    postgresDir(join(root, name));
    install(memberModel(name, "primary"));
  }
  // An existing database (start-member.sh would ask the repository before an initdb; there is none here).
  const primaryModel = memberModel("primary", "primary");
  const initdb = asPostgres([
    join(PG_BIN, "initdb"),
    "-D",
    primaryModel.layout.dataDir,
    "--auth-local=peer",
    "--auth-host=scram-sha-256",
    "--data-checksums",
    "--no-sync",
  ]);
  expect(initdb.status, initdb.stderr).toBe(0);
  await ready(await start(primaryModel, "primary"), "primary");
  sql("primary", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
  sql("primary", "ALTER TABLE writes OWNER TO app");
  await ready(await start(memberModel("replica-1", "primary"), "replica-1"), "replica-1");
}, 180_000);

afterAll(async () => {
  for (const name of [...running.keys()]) await stop(name, "SIGINT");
  if (root) rmSync(root, { recursive: true, force: true });
});

async function streamingTo(primary: string, slot: string): Promise<string> {
  let state = "";
  for (let attempt = 0; attempt < 150 && state !== "streaming"; attempt++) {
    state = sql(primary, `SELECT state FROM pg_stat_replication WHERE application_name = '${slot}'`);
    if (state !== "streaming") await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return state;
}

describe("a switchover to replica-1 with writes running", () => {
  const writer = new Writer();
  let report = "";

  it("the replica streams from the primary before anything changes", async () => {
    expect(await streamingTo("primary", "replica_1")).toBe("streaming");
  });

  it("switches over: check, clean stop, promotion, rejoin by pg_rewind; no acknowledged commit lost", async () => {
    writer.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Before the change: is replica-1 ready to take over? Then `pulumi up` with
    // pgstack:primary=replica-1: every member's files re-rendered.
    const check = asPostgres(["sh", join(root, "primary", "config", "switchover-check.sh"), "replica-1"]);
    for (const name of ["primary", "replica-1"]) install(memberModel(name, "replica-1"));
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    report += check.stdout;
    const switchStarted = Date.now();
    await stop("primary", "SIGINT");
    await stop("replica-1", "SIGINT");
    const promoted = await start(memberModel("replica-1", "replica-1"), "replica-1");
    await ready(promoted, "replica-1");
    writer.target = "replica-1";
    const rejoined = await start(memberModel("primary", "replica-1"), "primary");
    await ready(rejoined, "primary");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await writer.stop();
    report += `switch took ${Date.now() - switchStarted} ms; write outage ${writer.longestGapMs} ms\n`;
    console.log(report);

    expect(promoted.output()).toMatch(/pgstack: promoted replica-1 at WAL [0-9A-F]+\/[0-9A-F]+/);
    expect(rejoined.output()).toContain(
      "this member was the primary, and pgstack:primary now names replica-1",
    );
    expect(rejoined.output()).toMatch(/rewound to the new primary's timeline|no rewind required/);
    expect(sql("replica-1", "SELECT pg_is_in_recovery()")).toBe("f");
    expect(sql("primary", "SELECT pg_is_in_recovery()")).toBe("t");
    expect(sql("replica-1", "SELECT timeline_id FROM pg_control_checkpoint()")).not.toBe("1");
    // Every acknowledged commit is on the new primary.
    const kept = Number(
      sql("replica-1", `SELECT count(*) FROM writes WHERE id IN (${writer.acknowledged.join(",")})`),
    );
    expect(writer.acknowledged.length).toBeGreaterThan(10);
    expect(kept).toBe(writer.acknowledged.length);
    expect(writer.longestGapMs).toBeLessThan(60_000);
  }, 180_000);

  it("the old primary streams from the new one, from its own slot", async () => {
    expect(await streamingTo("replica-1", "primary")).toBe("streaming");
    expect(sql("replica-1", "SELECT active FROM pg_replication_slots WHERE slot_name = 'primary'")).toBe("t");
  });
});

describe("a failover back to the member named primary after replica-1 is killed", () => {
  it("promotes the replica, loses only what it never received (reported), fences the killed primary until it rejoins by pg_rewind", async () => {
    // Streamed and replayed: these must survive the failover.
    sql("replica-1", "INSERT INTO writes (id) SELECT g FROM generate_series(1000001, 1001000) g");
    const streamedTo = sql("replica-1", "SELECT pg_current_wal_lsn()");
    for (let attempt = 0; attempt < 100; attempt++) {
      if (sql("primary", `SELECT pg_last_wal_replay_lsn() >= '${streamedTo}'`) === "t") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The replica goes away for a while; the primary acknowledges 500 commits it never receives
    // (no repository here to read them from), then is killed with its volume.
    await stop("primary", "SIGINT");
    sql("replica-1", "INSERT INTO writes (id) SELECT g FROM generate_series(2000001, 2000500) g");
    const lastWritten = sql("replica-1", "SELECT pg_current_wal_lsn()");
    await stop("replica-1", "SIGKILL");

    // `pulumi up` with pgstack:primary=primary and pgstack:failover=true; replica-1's volume is away.
    install(memberModel("primary", "primary", true));
    const promoted = await start(memberModel("primary", "primary", true), "primary");
    await ready(promoted, "primary");
    const promotedAt = /promoted primary at WAL ([0-9A-F]+\/[0-9A-F]+)/.exec(promoted.output())?.[1];
    expect(promotedAt, promoted.output()).toBeDefined();
    expect(promoted.output()).toContain("Failover: what the lost primary acknowledged after that");
    // The report is right: the new timeline starts before the old primary's last commit...
    expect(sql("primary", `SELECT '${promotedAt}'::pg_lsn < '${lastWritten}'::pg_lsn`)).toBe("t");
    // ...every replayed commit is kept, and exactly the 500 it never received are lost.
    expect(sql("primary", "SELECT count(*) FROM writes WHERE id BETWEEN 1000001 AND 1001000")).toBe("1000");
    const lost = 500 - Number(sql("primary", "SELECT count(*) FROM writes WHERE id > 2000000"));
    expect(lost).toBe(500);
    console.log(
      `failover: promoted at ${promotedAt}, the lost primary had written to ${lastWritten}: ${lost} acknowledged commits lost`,
    );

    // The volume returns: replica-1 was a primary and must not start as one.
    install(memberModel("replica-1", "primary", true));
    expect(existsSync(join(root, "replica-1", "volume", "pgdata", "standby.signal"))).toBe(false);
    const rejoined = await start(memberModel("replica-1", "primary", true), "replica-1");
    await ready(rejoined, "replica-1");
    expect(rejoined.output()).toContain("It will not start as a primary");
    // start-member.sh finished the crashed directory's recovery with the stack's configuration
    // (private socket, archiving off), then pg_rewind rewound it to the new timeline.
    expect(rejoined.output()).toContain("was not shut down cleanly: completing its crash recovery");
    expect(rejoined.output()).toMatch(
      /pg_rewind: servers diverged at WAL location [0-9A-F]+\/[0-9A-F]+ on timeline 2/,
    );
    expect(rejoined.output()).toContain("pg_rewind: Done!");
    expect(sql("replica-1", "SELECT pg_is_in_recovery()")).toBe("t");
    // Its 500 commits of the old timeline were discarded: it holds what the new primary holds.
    expect(sql("replica-1", "SELECT count(*) FROM writes WHERE id > 2000000")).toBe("0");
    expect(await streamingTo("primary", "replica_1")).toBe("streaming");
  }, 180_000);
});
