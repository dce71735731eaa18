import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import { withParameters } from "./fixtures";
import { installMember, type RunningMember, startMember, stopMember, waitAccepting } from "./live-members";
import { asPostgres, freePort, localModel, PG_BIN, postgresDir, postgresTempDir } from "./local-postgres";

/**
 * A changed max_connections rolled out with the rendered start-member.sh on PostgreSQL 15: the
 * platforms restart the members together (Kubernetes rolls their StatefulSets at once), so the
 * order PostgreSQL needs is kept by the members themselves (hot-standby-order.sh). Each case
 * restarts first the member that must go second, the order a concurrent roll may take:
 * - raised 50 -> 80, the primary first: it waits, not listening, until the replica has restarted
 *   with 80; the replica keeps streaming and never pauses replay.
 * - lowered 80 -> 40, the replica first: it follows the primary with 80, without clients, until the
 *   primary has restarted with 40, then starts with 40.
 * - raised 40 -> 60 with the replica stopped (Docker replaces the members together): the primary
 *   starts at once; the replica starts with 60.
 * Two members on one port, each on its own loopback address, without TLS (as live-switchover).
 */
const PASSWORDS = { superuser: "SuperSecret1", replication: "ReplSecret2", app: "AppSecret3" };
const ADDRESSES: Record<string, string> = { primary: "127.0.0.4", "replica-1": "127.0.0.5" };

let root: string;
let port: number;

/** The model member `name` runs with, at `maxConnections`. */
function memberModel(name: string, maxConnections: number): ClusterModel {
  const base = localModel(join(root, name), port, {
    tls: false,
    members: [
      { name: "primary", role: "primary" },
      { name: "replica-1", role: "replica", slot: "replica_1" },
    ],
  });
  const model: ClusterModel = {
    ...base,
    layout: { ...base.layout, hosts: ADDRESSES },
    network: { ...base.network, allowedCidrs: ["127.0.0.0/8"] },
  };
  return withParameters(model, {
    listen_addresses: ADDRESSES[name] as string,
    ssl: "off",
    max_connections: String(maxConnections),
  });
}

/** Writes member `name`'s rendered files at `maxConnections`, and its secrets. */
function install(name: string, maxConnections: number): void {
  installMember(memberModel(name, maxConnections), PASSWORDS);
}

const running = new Map<string, RunningMember>();

/** Starts member `name` as its container would: start-member.sh with the member's arguments. */
function start(name: string, maxConnections: number): RunningMember {
  const member = startMember(memberModel(name, maxConnections), name);
  running.set(name, member);
  return member;
}

const accepting = (name: string) =>
  spawnSync(join(PG_BIN, "pg_isready"), ["-q", "-h", ADDRESSES[name] as string, "-p", String(port)])
    .status === 0;

/** Waits until member `name` accepts TCP connections (its start script still running); returns when. */
async function ready(member: RunningMember, name: string): Promise<number> {
  await waitAccepting(member, name, ADDRESSES[name] as string, port, 900);
  return Date.now();
}

/** Stops member `name` with a fast shutdown (SIGINT to the postmaster), as the platforms stop a member. */
async function stop(name: string): Promise<void> {
  const member = running.get(name);
  if (member === undefined) return;
  await stopMember(member, join(root, name, "volume", "pgdata"));
  running.delete(name);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** Commits a row on the primary; true when the replica shows it within 30 s. */
async function replicated(note: string): Promise<boolean> {
  sql("primary", `INSERT INTO notes VALUES ('${note}')`);
  for (let attempt = 0; attempt < 150; attempt++) {
    if (sql("replica-1", `SELECT count(*) FROM notes WHERE note = '${note}'`) === "1") return true;
    await sleep(200);
  }
  return false;
}

async function streaming(): Promise<string> {
  let state = "";
  for (let attempt = 0; attempt < 150 && state !== "streaming"; attempt++) {
    state = sql("primary", "SELECT state FROM pg_stat_replication WHERE application_name = 'replica_1'");
    if (state !== "streaming") await sleep(200);
  }
  return state;
}

beforeAll(async () => {
  root = postgresTempDir("hot-standby-order");
  port = await freePort();
  for (const name of ["primary", "replica-1"]) {
    postgresDir(join(root, name));
    install(name, 50);
  }
  // An existing database (start-member.sh would ask the repository before an initdb; there is none here).
  const initdb = asPostgres([
    join(PG_BIN, "initdb"),
    "-D",
    memberModel("primary", 50).layout.dataDir,
    "--auth-local=peer",
    "--auth-host=scram-sha-256",
    "--no-sync",
  ]);
  expect(initdb.status, initdb.stderr).toBe(0);
  await ready(start("primary", 50), "primary");
  sql("primary", "CREATE TABLE notes (note text)");
  await ready(start("replica-1", 50), "replica-1");
  expect(await streaming()).toBe("streaming");
}, 180_000);

afterAll(async () => {
  for (const name of [...running.keys()]) await stop(name);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("a raised max_connections (50 -> 80)", () => {
  it("the primary, restarted first, waits for the replica to restart with 80; replay never pauses", async () => {
    for (const name of ["primary", "replica-1"]) install(name, 80);
    await stop("primary");
    const primary = start("primary", 80);
    // The replica still runs 50: the primary does not start.
    await sleep(5000);
    expect(primary.child.exitCode, primary.output()).toBeNull();
    expect(accepting("primary")).toBe(false);
    expect(primary.output()).toContain("hot-standby-order: raised: max_connections 50 -> 80;");
    // It read the replica's running values over the replication role's connection.
    expect(primary.output()).toContain("hot-standby-order: waiting for: 127.0.0.5 (runs 50/");
    expect(sql("replica-1", "SHOW max_connections")).toBe("50");

    await stop("replica-1");
    const replica = start("replica-1", 80);
    const replicaReady = await ready(replica, "replica-1");
    const primaryReady = await ready(primary, "primary");
    // Stopped, the replica no longer holds the primary back (it starts with 80 anyway): which of
    // the two is ready first is not the point, that none runs below the primary is.
    console.log(`raised: the primary was ready ${primaryReady - replicaReady} ms after the replica`);
    expect(primary.output()).toContain("hot-standby-order: every running replica runs the new values");

    expect(sql("primary", "SHOW max_connections")).toBe("80");
    expect(sql("replica-1", "SHOW max_connections")).toBe("80");
    expect(await streaming()).toBe("streaming");
    expect(await replicated("after the raise")).toBe(true);
    expect(sql("replica-1", "SELECT pg_get_wal_replay_pause_state()")).toBe("not paused");
    expect(replica.output()).not.toMatch(/insufficient parameter settings/);
  }, 180_000);
});

describe("a lowered max_connections (80 -> 40)", () => {
  it("the replica, restarted first, follows the primary with 80 until the primary runs 40, then starts with 40", async () => {
    for (const name of ["primary", "replica-1"]) install(name, 40);
    await stop("replica-1");
    const replica = start("replica-1", 40);
    // The primary still runs 80: the replica neither starts with 40 nor fails.
    await sleep(5000);
    expect(replica.child.exitCode, replica.output()).toBeNull();
    expect(accepting("replica-1")).toBe(false);
    expect(replica.output()).toContain("hot-standby-order: lowered: max_connections 80 -> 40;");

    await stop("primary");
    const primary = start("primary", 40);
    const primaryReady = await ready(primary, "primary");
    const replicaReady = await ready(replica, "replica-1");
    console.log(`lowered: the primary was ready ${replicaReady - primaryReady} ms before the replica`);
    expect(primaryReady).toBeLessThan(replicaReady);
    expect(primary.output()).not.toContain("hot-standby-order:");
    expect(replica.output()).toContain("hot-standby-order: the primary runs the new values");

    expect(sql("primary", "SHOW max_connections")).toBe("40");
    expect(sql("replica-1", "SHOW max_connections")).toBe("40");
    expect(await streaming()).toBe("streaming");
    expect(await replicated("after the decrease")).toBe(true);
    expect(replica.output()).not.toMatch(/insufficient parameter settings/);
  }, 180_000);
});

describe("a raised max_connections (40 -> 60) with the replica stopped", () => {
  it("the primary starts at once (a stopped replica starts with 60 anyway), then the replica streams", async () => {
    for (const name of ["primary", "replica-1"]) install(name, 60);
    await stop("replica-1");
    await stop("primary");
    const primary = start("primary", 60);
    const started = Date.now();
    await ready(primary, "primary");
    console.log(`raised, replica stopped: the primary was ready after ${Date.now() - started} ms`);
    expect(primary.output()).toContain("hot-standby-order: raised: max_connections 40 -> 60;");
    expect(primary.output()).toMatch(
      /every running replica runs the new values: starting the primary after [0-5] s/,
    );

    const replica = start("replica-1", 60);
    await ready(replica, "replica-1");
    expect(sql("replica-1", "SHOW max_connections")).toBe("60");
    expect(await streaming()).toBe("streaming");
    expect(await replicated("after the raise with the replica stopped")).toBe(true);
    expect(replica.output()).not.toMatch(/insufficient parameter settings|hot-standby-order:/);
  }, 180_000);
});
