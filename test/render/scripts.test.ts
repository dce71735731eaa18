import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderFiles } from "../../components/render/files";
import { fixtureModel } from "./fixtures";
import { asPostgres, PG_BIN, postgresDir, postgresFile, postgresTempDir } from "./local-postgres";

const files = renderFiles(fixtureModel());
const scripts = [
  "check-data-dir.sh",
  "init-roles.sh",
  "bootstrap-replica.sh",
  "hot-standby-order.sh",
  "start-member.sh",
  "switchover-check.sh",
  "switchover-gate.sh",
] as const;

describe("rendered scripts", () => {
  it.each(scripts)("%s parses with sh -n and dash -n", (name) => {
    for (const shell of ["sh", "dash"]) {
      const result = spawnSync(shell, ["-n"], { input: files[name], encoding: "utf8" });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    }
  });

  it.each(scripts)("%s starts with a shebang and says it is generated", (name) => {
    expect(files[name].startsWith("#!/bin/sh\n")).toBe(true);
    expect(files[name]).toContain("do not edit by hand");
  });

  it.each(scripts)("%s deletes and moves nothing", (name) => {
    // Code only: comments and quoted text (messages) removed.
    const code = files[name]
      .split("\n")
      .filter((line) => !line.trim().startsWith("#"))
      .map((line) => line.replace(/"[^"]*"/g, '""').replace(/'[^']*'/g, "''"));
    // The only mv is the atomic rename of a script's own passfile; no rm, no rmdir, no initdb,
    // except in start-member.sh: one initdb (an empty volume, no stanza in the repository: proven
    // in the proving ground), removals of its own temporary files (the stderr of the stanza
    // check and the empty private socket directories: roles, and a former primary's crash recovery
    // before pg_rewind), and, when pg_rewind refuses a former
    // primary, the rename of its data directory to a kept copy beside the fresh clone.
    const allowed: Record<string, unknown[]> = {
      "start-member.sh": [
        '    rmdir ""',
        '  rm -f ""',
        expect.stringMatching(/^ {2}initdb -D "" --username=/),
        '  rmdir ""',
      ],
      // The private socket directory of the server that follows the primary with the old values.
      "hot-standby-order.sh": ['rmdir ""'],
    };
    expect(code.filter((line) => /\b(rm|rmdir|initdb|pg_resetwal)\b/.test(line))).toEqual(
      allowed[name] ?? [],
    );
    const renames = code.filter((line) => /\bmv\b/.test(line)).map((line) => line.trim());
    expect(renames.filter((line) => line !== 'mv -f "" ""')).toEqual(
      name === "start-member.sh" ? ['mv "" ""'] : [],
    );
    if (name === "switchover-check.sh" || name === "switchover-gate.sh") {
      // Its one removal, in a trap: its own temporary directory, holding only the passfile it wrote.
      // (an rm outside a message: the gate's messages name `pulumi config rm`).
      expect(files[name].match(/(?<=^[^"\n]*)\brm\b.*$/gm)).toEqual([`rm -rf "$work"' EXIT`]);
      expect(files[name]).toContain("work=$(mktemp -d)");
    }
    if (name === "start-member.sh") {
      // The kept copy is named for the moment of the rejoin, beside the data directory.
      expect(files[name]).toContain('kept="$data_dir.before-rejoin-$(date -u +%Y%m%dT%H%M%SZ)"');
      expect(files[name]).toContain('mv "$data_dir" "$kept"');
    }
  });

  it("init-roles.sh never puts a password on a command line or in the environment", () => {
    const script = files["init-roles.sh"];
    expect(script).not.toMatch(/PGPASSWORD|PASSWORD '[^:]/);
    expect(script).toContain("\\set pgstack_password `cat '/run/secrets/pgstack/replication-password'`");
    expect(script).toContain(
      "CREATE ROLE \"replicator\" WITH LOGIN REPLICATION PASSWORD :'pgstack_password';",
    );
    expect(script).toContain("SET log_statement = 'none';");
    expect(script).toContain("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
  });

  it("bootstrap-replica.sh runs the documented pg_basebackup", () => {
    expect(files["bootstrap-replica.sh"]).toContain(
      'pg_basebackup -h "$primary_host" -p "$primary_port" -U "$replication_user" --no-password',
    );
    expect(files["bootstrap-replica.sh"]).toMatch(/-R -X stream \$create_slot -S "\$slot" --checkpoint=fast/);
  });

  it.each(scripts)("%s matches the snapshot", (name) => {
    expect(files[name]).toMatchSnapshot();
  });
});

describe("check-data-dir.sh on real directories", () => {
  let root: string;
  let script: string;
  let cluster: string;

  /** Runs the rendered script as postgres on `dir`. */
  function check(dir: string, major = "15") {
    return asPostgres(["sh", script, dir, major]);
  }

  beforeAll(() => {
    root = postgresTempDir("check");
    script = postgresFile(join(root, "check-data-dir.sh"), files["check-data-dir.sh"], 0o644);
    cluster = join(root, "cluster");
    const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", cluster, "--auth=peer", "--no-sync"]);
    expect(initdb.status, initdb.stderr).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("passes an absent data directory (first start)", () => {
    const result = check(join(root, "absent"));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("does not exist yet");
  });

  it("passes an empty data directory (first start)", () => {
    const result = check(postgresDir(join(root, "empty")));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("is empty");
  });

  it("passes a real cluster of the expected version", () => {
    const result = check(cluster);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("complete PostgreSQL 15 cluster");
  });

  it("refuses a cluster of another major version, pointing at pg_upgrade, and changes nothing", () => {
    const before = readdirSync(cluster).sort();
    const result = check(cluster, "16");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("holds a PostgreSQL '15' cluster and this is PostgreSQL 16");
    expect(result.stderr).toContain("pg_upgrade");
    expect(readdirSync(cluster).sort()).toEqual(before);
  });

  it("refuses a cluster missing global/pg_control, names it, shows the restore, deletes nothing", () => {
    const damaged = join(root, "damaged");
    expect(spawnSync("cp", ["-a", cluster, damaged]).status).toBe(0);
    unlinkSync(join(damaged, "global", "pg_control"));
    const before = readdirSync(damaged).sort();
    const result = check(damaged);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("global/pg_control is missing");
    expect(result.stderr).toContain(
      `pgbackrest restore --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=pgstack-dev --process-max=2 --pg1-path=${damaged}`,
    );
    expect(result.stderr).toContain(`mv ${damaged} ${damaged}.damaged-`);
    expect(readdirSync(damaged).sort()).toEqual(before);
    expect(existsSync(join(damaged, "PG_VERSION"))).toBe(true);
  });

  it("refuses a non-empty directory without PG_VERSION (an interrupted initdb) and keeps its files", () => {
    const partial = postgresDir(join(root, "partial"));
    postgresFile(join(partial, "leftover"), "data");
    const result = check(partial);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("PG_VERSION is missing");
    expect(readdirSync(partial)).toEqual(["leftover"]);
  });

  it("refuses a cluster with a file its user cannot read, naming the file", () => {
    const locked = join(root, "locked");
    expect(spawnSync("cp", ["-a", cluster, locked]).status).toBe(0);
    const file = join(locked, "base", "1", "1259");
    writeFileSync(join(locked, "root-only"), "x", { mode: 0o600 });
    expect(spawnSync("chmod", ["000", file]).status).toBe(0);
    const result = check(locked);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("not readable by postgres");
    expect(result.stderr).toContain(file);
    expect(result.stderr).toContain(join(locked, "root-only"));
  });

  it("refuses wrong usage with exit 2", () => {
    expect(asPostgres(["sh", script, cluster]).status).toBe(2);
    expect(asPostgres(["sh", script, cluster, "fifteen"]).status).toBe(2);
  });
});
