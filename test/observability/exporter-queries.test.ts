import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCommands } from "../../components/render/commands";
import { exporterArgs, exporterDataSource } from "../../components/render/exporter-command";
import { EXPORTER_METRICS } from "../../components/render/exporter-queries";
import { renderFiles } from "../../components/render/files";
import { renderMonitoringFiles } from "../../components/render/monitoring-files";
import { monitoringRoleSql } from "../../components/render/monitoring-role";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import { withParameters } from "../render/fixtures";
import {
  asPostgres,
  freePort,
  localModel,
  PG_BIN,
  postgresDir,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  startPostgres,
} from "../render/local-postgres";

/**
 * Debian's postgres_exporter, run as the OS user the platforms run it as (nobody), against
 * PostgreSQL 15 started on the rendered postgresql.conf, pg_hba.conf and pg_ident.conf, with the
 * rendered custom queries and the rendered data source: no password anywhere. Every series the
 * alert rules read from the exporter comes out, and the role can read statistics, nothing more.
 */
const EXPORTER = "/usr/bin/prometheus-postgres-exporter";

let root: string;
let model: ClusterModel;
let server: RunningPostgres | undefined;
let exporter: ChildProcess | undefined;
let metrics = "";

function asNobody(argv: readonly string[]) {
  return spawnSync("/usr/sbin/runuser", ["-u", model.monitoring.osUser, "--", ...argv], {
    encoding: "utf8",
    timeout: 30_000,
  });
}

function psqlAsMonitor(sql: string) {
  const { layout } = model;
  return asNobody([
    join(PG_BIN, "psql"),
    "-X",
    "-A",
    "-t",
    "-h",
    layout.socketDir,
    "-p",
    String(layout.port),
    "-U",
    model.monitoring.role,
    "-d",
    "postgres",
    "-c",
    sql,
  ]);
}

/** The value of the first sample of `name` whose line contains `labels`. */
function sample(name: string, labels = ""): number | undefined {
  const line = metrics
    .split("\n")
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

beforeAll(async () => {
  root = postgresTempDir("exporter");
  // The exporter (nobody) must reach the socket and read its queries file.
  chmodSync(root, 0o755);
  // TLS plays no part on the socket: the server runs without certificates here.
  const base = localModel(root, await freePort(), { tls: false });
  model = withParameters(base, { ssl: "off" }, [
    {
      name: "ident_file",
      value: join(base.layout.configDir, "pg_ident.conf"),
      section: "Files",
      source: "fixed",
      reason: "The rendered ident map.",
    },
  ]);
  const { layout } = model;
  postgresDir(layout.volumeDir);
  postgresDir(layout.configDir, 0o755);
  postgresDir(layout.socketDir, 0o755);
  for (const [name, content] of Object.entries({ ...renderFiles(model), ...renderMonitoringFiles(model) })) {
    postgresFile(join(layout.configDir, name), content, 0o644);
  }
  const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", layout.dataDir, "--auth=peer", "--no-sync"]);
  expect(initdb.status, initdb.stderr).toBe(0);
  server = await startPostgres(renderCommands(model).postgres, layout.dataDir, layout.socketDir, layout.port);

  const role = asPostgres(
    [
      "psql",
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      layout.socketDir,
      "-p",
      String(layout.port),
      "-d",
      "postgres",
    ],
    {
      input: `${monitoringRoleSql(model).join("\n")}\nSELECT pg_create_physical_replication_slot('replica_1', true);\n`,
    },
  );
  expect(role.status, role.stderr).toBe(0);
  // Twice: creating the role again (every start) must succeed and change nothing.
  const again = asPostgres(
    [
      "psql",
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      layout.socketDir,
      "-p",
      String(layout.port),
      "-d",
      "postgres",
    ],
    { input: monitoringRoleSql(model).join("\n") },
  );
  expect(again.status, again.stderr).toBe(0);

  const port = await freePort();
  exporter = spawn(
    "/usr/sbin/runuser",
    [
      "-u",
      model.monitoring.osUser,
      "--",
      EXPORTER,
      ...exporterArgs(model, join(layout.configDir, "exporter-queries.yaml"), `127.0.0.1:${port}`),
    ],
    // The data source is all the environment holds: a socket path and a role name.
    { env: { DATA_SOURCE_NAME: exporterDataSource(model) }, stdio: "ignore" },
  );
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (metrics.includes("pgstack_server_in_recovery")) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(async () => {
  if (exporter?.pid !== undefined && exporter.exitCode === null) {
    const exited = new Promise((resolve) => exporter?.once("exit", resolve));
    exporter.kill("SIGTERM");
    await exited;
  }
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("the exporter on the rendered configuration", () => {
  it("connects as the monitoring role by peer over the socket, without a password", () => {
    expect(exporterDataSource(model)).not.toMatch(/:[^@/]*@/);
    expect(sample("pg_up")).toBe(1);
  });

  it("loads the rendered custom queries without error", () => {
    const loadError = metrics
      .split("\n")
      .find((line) => line.startsWith("pg_exporter_user_queries_load_error{"));
    expect(loadError, metrics.slice(0, 2000)).toMatch(/ 0$/);
  });

  it("exposes every series the alert rules read from it (standby rows need a streaming standby)", () => {
    const needStandby: string[] = [
      EXPORTER_METRICS.replicaStreaming,
      EXPORTER_METRICS.replicaReplayLagSeconds,
      EXPORTER_METRICS.replicaReplayLagBytes,
    ];
    for (const name of Object.values(EXPORTER_METRICS).filter((n) => !needStandby.includes(n))) {
      expect(sample(name), name).not.toBeUndefined();
    }
    expect(sample(EXPORTER_METRICS.inRecovery)).toBe(0);
    expect(sample(EXPORTER_METRICS.connections)).toBeGreaterThanOrEqual(1);
    expect(sample(EXPORTER_METRICS.walDirBytes)).toBeGreaterThan(0);
    expect(sample(EXPORTER_METRICS.databaseBytes)).toBeGreaterThan(0);
    expect(sample(EXPORTER_METRICS.slotActive, 'slot_name="replica_1"')).toBe(0);
    expect(sample(EXPORTER_METRICS.slotLost, 'slot_name="replica_1"')).toBe(0);
  });

  it("lets no other OS user log in as the monitoring role", () => {
    const { layout } = model;
    const result = asPostgres([
      "psql",
      "-X",
      "-h",
      layout.socketDir,
      "-p",
      String(layout.port),
      "-U",
      model.monitoring.role,
      "-d",
      "postgres",
      "-c",
      "SELECT 1",
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Peer authentication failed for user "pgstack_monitor"/);
  });

  it("gives the monitoring role statistics only: no file reads, no writes, no application database", () => {
    expect(psqlAsMonitor("SELECT count(*) >= 0 FROM pg_ls_waldir()").stdout.trim()).toBe("t");
    expect(psqlAsMonitor("SELECT pg_read_file('postgresql.conf')").stderr).toMatch(/permission denied/);
    expect(psqlAsMonitor("CREATE TABLE pgstack_probe (id int)").stderr).toMatch(/permission denied/);
    const app = asNobody([
      join(PG_BIN, "psql"),
      "-X",
      "-h",
      model.layout.socketDir,
      "-p",
      String(model.layout.port),
      "-U",
      model.monitoring.role,
      "-d",
      model.postgres.database,
      "-c",
      "SELECT 1",
    ]);
    expect(app.status).not.toBe(0);
  });
});
