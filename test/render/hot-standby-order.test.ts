import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderFiles } from "../../components/render/files";
import { HOT_STANDBY_PARAMETERS } from "../../components/render/hot-standby-order";
import { fixtureModel } from "./fixtures";
import { asPostgres, PG_BIN, postgresTempDir } from "./local-postgres";

// What start-member.sh runs to order the members' restarts when a hot-standby setting changes.
// Its behaviour on real servers, both orders: live-hot-standby-order.test.ts.
const files = renderFiles(fixtureModel());
const script = files["hot-standby-order.sh"];

describe("hot-standby-order.sh", () => {
  it("is run by start-member.sh on every start, after the data directory is vetted and before any server starts", () => {
    const start = files["start-member.sh"];
    const hook = start.indexOf(`sh "$config_dir/hot-standby-order.sh" "$role" "\${slot:-}"`);
    const vetted = start.indexOf('sh "$config_dir/check-data-dir.sh"');
    expect(hook).toBeGreaterThan(vetted);
    // The primary's private-socket start already runs the new values and records them in pg_control.
    // (A former primary's rejoin may finish its crash recovery before: never as a server anyone sees.)
    const rest = start.slice(hook);
    for (const later of ["pg_ctl start", "\n  initdb -D", "\n  exec postgres", "\nexec postgres"]) {
      expect(rest.includes(later), later).toBe(true);
      expect(start.indexOf(later), later).toBeGreaterThan(vetted);
    }
  });

  it("compares the five settings PostgreSQL requires of a hot standby", () => {
    expect(HOT_STANDBY_PARAMETERS.map((parameter) => parameter.name)).toEqual([
      "max_connections",
      "max_worker_processes",
      "max_wal_senders",
      "max_prepared_transactions",
      "max_locks_per_transaction",
    ]);
    for (const { name, control } of HOT_STANDBY_PARAMETERS) {
      expect(script).toContain(`${name}:${control}`);
      expect(script).toContain(`-c "SHOW ${name}"`);
    }
  });

  it("has the primary ask every replica and only the replicas; a stack without replicas asks none", () => {
    expect(script).toContain("replica_hosts=pgstack-dev-replica-1\n");
    const base = fixtureModel({
      members: [
        { name: "primary", role: "primary" },
        { name: "replica-1", role: "replica", slot: "replica_1" },
        { name: "replica-2", role: "replica", slot: "replica_2" },
      ],
    });
    const hosts = { ...base.layout.hosts, "replica-2": "pgstack-dev-replica-2" };
    const three = renderFiles({ ...base, layout: { ...base.layout, hosts } })["hot-standby-order.sh"];
    expect(three).toContain("replica_hosts='pgstack-dev-replica-1 pgstack-dev-replica-2'\n");
    const alone = renderFiles(fixtureModel({ members: [{ name: "primary", role: "primary" }] }))[
      "hot-standby-order.sh"
    ];
    expect(alone).toContain("replica_hosts=''\n");
  });

  it("refuses wrong usage with exit 2", () => {
    for (const args of [[], ["standby"], ["replica"]]) {
      const result = spawnSync("sh", ["-c", script, "hot-standby-order.sh", ...args], { encoding: "utf8" });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain("usage:");
    }
  });
});

describe("pg_controldata of a real PostgreSQL 15 cluster", () => {
  let root: string;
  beforeAll(() => {
    root = postgresTempDir("controldata");
    const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", join(root, "data"), "--no-sync"]);
    expect(initdb.status, initdb.stderr).toBe(0);
  }, 60_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("reports each setting under the label the script reads (the values the server last ran with)", () => {
    const control = asPostgres([join(PG_BIN, "pg_controldata"), join(root, "data")]);
    expect(control.status, control.stderr).toBe(0);
    for (const { control: label } of HOT_STANDBY_PARAMETERS) {
      expect(control.stdout, label).toMatch(new RegExp(`^${label}: +\\d+$`, "m"));
    }
  });
});
