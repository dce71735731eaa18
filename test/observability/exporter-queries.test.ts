import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertThresholds } from "../../components/render/alert-rules";
import { renderCommands } from "../../components/render/commands";
import { exporterArgs, exporterDataSource } from "../../components/render/exporter-command";
import { EXPORTER_METRICS } from "../../components/render/exporter-queries";
import { renderFiles } from "../../components/render/files";
import { renderMonitoringFiles } from "../../components/render/monitoring-files";
import { monitoringRoleSql } from "../../components/render/monitoring-role";
import { prometheusSetup } from "../../components/render/prometheus-config";
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
let prometheus: ChildProcess | undefined;
let prometheusUrl = "";

/** Alerts firing in the test's Prometheus, with the member they name. */
async function firing(): Promise<{ alertname: string; pgstack_member: string }[]> {
  const body = (await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: { alertname: string; pgstack_member: string }; state: string }[] };
  };
  return body.data.alerts.filter((a) => a.state === "firing").map((a) => a.labels);
}

async function until(what: string, check: (alerts: string[]) => boolean, seconds = 45): Promise<void> {
  for (let i = 0; i < seconds * 2; i++) {
    if (check((await firing()).map((a) => `${a.alertname}@${a.pgstack_member}`))) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out waiting for ${what}: firing ${JSON.stringify(await firing())}`);
}

/** A psql session of the postgres OS user on the member's socket, fed from a pipe. */
function session(): ChildProcess {
  const { layout } = model;
  return spawn(
    "/usr/sbin/runuser",
    [
      "-u",
      "postgres",
      "--",
      join(PG_BIN, "psql"),
      "-X",
      "-q",
      "-h",
      layout.socketDir,
      "-p",
      String(layout.port),
      "-d",
      "postgres",
    ],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
}

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
    // Short timeouts make the session alerts' thresholds (half of each) fit a test.
    {
      name: "statement_timeout",
      value: "20s",
      section: "Timeouts and locks",
      source: "computed",
      reason: "Test.",
    },
    {
      name: "idle_in_transaction_session_timeout",
      value: "20s",
      section: "Timeouts and locks",
      source: "computed",
      reason: "Test.",
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

  // Debian's Prometheus with the rendered scrape setup and rules, evaluating every second.
  const rulesDir = join(root, "prometheus");
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, "alerts.yaml"), renderMonitoringFiles(model)["alerts.yaml"]);
  const setup = prometheusSetup(model, {
    exporterAddress: (member) => (member.role === "primary" ? `127.0.0.1:${port}` : "127.0.0.1:1"),
    rulesDir,
    scrapeInterval: "1s",
    evaluationInterval: "1s",
  });
  writeFileSync(join(rulesDir, "prometheus.yml"), stringify(setup.config));
  const prometheusPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  prometheus = spawn(
    "/usr/bin/prometheus",
    [
      `--config.file=${join(rulesDir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(rulesDir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
    ],
    { stdio: "ignore" },
  );
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`${prometheusUrl}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(async () => {
  for (const child of [prometheus, exporter]) {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
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

describe("alerts on the live member (Prometheus with the rendered rules, 1 s evaluations)", () => {
  it("a healthy member fires nothing over several evaluations", async () => {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await firing()).toEqual([]);
  });

  it("a query running past half of statement_timeout fires PgstackLongRunningQuery; it clears when the query ends", async () => {
    expect(alertThresholds(model).longQuerySeconds).toBe(10);
    const psql = session();
    const ended = new Promise((resolve) => psql.once("exit", resolve));
    psql.stdin?.end("SELECT pg_sleep(15);\n");
    await until("PgstackLongRunningQuery on primary", (alerts) =>
      alerts.includes("PgstackLongRunningQuery@primary"),
    );
    await ended;
    await until(
      "PgstackLongRunningQuery cleared",
      (alerts) => !alerts.includes("PgstackLongRunningQuery@primary"),
    );
  }, 60_000);

  it("a transaction left idle fires PgstackIdleInTransaction before the server ends it, and clears after", async () => {
    expect(alertThresholds(model).idleInTransactionSeconds).toBe(10);
    const psql = session();
    const ended = new Promise((resolve) => psql.once("exit", resolve));
    psql.stdin?.write("BEGIN;\nSELECT 1;\n");
    await until("PgstackIdleInTransaction on primary", (alerts) =>
      alerts.includes("PgstackIdleInTransaction@primary"),
    );
    // idle_in_transaction_session_timeout (20 s) ends the session; then the alert clears.
    await until(
      "PgstackIdleInTransaction cleared",
      (alerts) => !alerts.includes("PgstackIdleInTransaction@primary"),
    );
    psql.stdin?.end();
    await ended;
  }, 60_000);
});
