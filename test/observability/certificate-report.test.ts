import { spawnSync } from "node:child_process";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCommands } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import { CERTIFICATE_NOT_AFTER } from "../../components/render/job-metrics";
import { renderMonitoringFiles } from "../../components/render/monitoring-files";
import { PGBACKREST_TLS_FILES } from "../../components/render/pgbackrest-conf";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import {
  asPostgres,
  freePort,
  localModel,
  memberDirectories,
  PG_BIN,
  postgresDir,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  selfSignedCertificate,
  socketSql,
  startPostgres,
} from "../render/local-postgres";
import { type LocalMonitoring, pollFor, startLocalMonitoring } from "./local-monitoring";

/**
 * The rendered report-certificates.sh against PostgreSQL 15 serving a certificate that expires
 * tomorrow, pushing to Debian's Pushgateway, scraped by Debian's Prometheus with the rendered
 * alerts.yaml (1 s intervals): the certificate alerts fire for the members, and clear once the
 * server loads a renewed certificate. The script reads what the server presents: a renewed file
 * that the server has not loaded yet still reports the old date.
 */
let root: string;
let model: ClusterModel;
let server: RunningPostgres | undefined;
let gateway = "";
let prometheus = "";
let monitoring: LocalMonitoring | undefined;

/** A certificate for localhost valid `days` days, written to `cert` and `key` (owned by postgres). */
function certificate(cert: string, key: string, days: number): void {
  const result = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      String(days),
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { encoding: "utf8" },
  );
  expect(result.status, result.stderr).toBe(0);
  for (const file of [cert, key]) {
    spawnSync("chown", ["postgres:postgres", file]);
    chmodSync(file, 0o600);
  }
}

/** notAfter of a PEM file, as Unix time (openssl's own reading). */
function notAfter(file: string): number {
  const result = spawnSync("openssl", ["x509", "-noout", "-enddate", "-in", file], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return Math.floor(Date.parse(result.stdout.trim().replace(/^notAfter=/, "")) / 1000);
}

function report(script = join(root, "report-certificates.sh")) {
  return spawnSync("sh", [script], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", PGSTACK_PUSHGATEWAY: gateway },
  });
}

/** The pushed value of each certificate, from the Pushgateway's own exposition. */
async function pushed(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  const values: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${CERTIFICATE_NOT_AFTER}{`)) continue;
    const name = /certificate="([^"]+)"/.exec(line)?.[1] as string;
    values[name] = Number(line.split(" ").at(-1));
  }
  return values;
}

async function firing(): Promise<string[]> {
  const body = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: { alertname: string; certificate?: string }; state: string }[] };
  };
  return body.data.alerts
    .filter((alert) => alert.state === "firing")
    .map((alert) => `${alert.labels.alertname}@${alert.labels.certificate ?? "-"}`)
    .sort();
}

beforeAll(async () => {
  root = postgresTempDir("certificates");
  chmodSync(root, 0o755);
  model = localModel(join(root, "member"), await freePort());
  const { layout } = model;
  memberDirectories(join(root, "member"), model);
  const files = renderFiles(model);
  postgresFile(join(layout.configDir, "postgresql.conf"), files["postgresql.conf"], 0o644);
  postgresFile(join(layout.configDir, "pg_hba.conf"), files["pg_hba.conf"], 0o644);
  // The member's certificate expires tomorrow (local-postgres' own, 1 day); the runner's and the CA in a year.
  const served = selfSignedCertificate(layout.tlsDir);
  postgresFile(
    join(layout.tlsDir, "ca.crt"),
    spawnSync("cat", [served.cert], { encoding: "utf8" }).stdout,
    0o644,
  );
  postgresDir(layout.runner.tlsDir, 0o755);
  certificate(
    join(layout.runner.tlsDir, PGBACKREST_TLS_FILES.runnerCert),
    join(layout.runner.tlsDir, PGBACKREST_TLS_FILES.runnerKey),
    365,
  );
  certificate(join(layout.runner.tlsDir, PGBACKREST_TLS_FILES.ca), join(root, "ca.key"), 3650);
  const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", layout.dataDir, "--auth=peer", "--no-sync"]);
  expect(initdb.status, initdb.stderr).toBe(0);
  server = await startPostgres(renderCommands(model).postgres, layout.dataDir, layout.socketDir, layout.port);

  const monitoringFiles = renderMonitoringFiles(model);
  writeFileSync(join(root, "report-certificates.sh"), monitoringFiles["report-certificates.sh"]);
  writeFileSync(join(root, "alerts.yaml"), monitoringFiles["alerts.yaml"]);
  monitoring = await startLocalMonitoring(model, root);
  gateway = monitoring.gateway;
  prometheus = monitoring.prometheus;
}, 120_000);

afterAll(async () => {
  await monitoring?.stop();
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("report-certificates.sh", () => {
  it("pushes each member's served certificate, the runner's and the CA; an expiring member certificate fires, a renewal loaded by the server clears", async () => {
    const { layout } = model;
    const served = join(layout.tlsDir, "server.crt");
    const first = report();
    expect(first.status, first.stderr).toBe(0);
    expect(await pushed()).toEqual({
      primary: notAfter(served),
      "replica-1": notAfter(served),
      runner: notAfter(join(layout.runner.tlsDir, PGBACKREST_TLS_FILES.runnerCert)),
      ca: notAfter(join(layout.runner.tlsDir, PGBACKREST_TLS_FILES.ca)),
    });
    const expiring = [
      "PgstackCertificateExpiring@primary",
      "PgstackCertificateExpiring@replica-1",
      "PgstackCertificateExpiringSoon@primary",
      "PgstackCertificateExpiringSoon@replica-1",
    ];
    await pollFor("the member certificates' alerts", async () =>
      JSON.stringify(await firing()) === JSON.stringify(expiring) ? true : undefined,
    );

    // Renewed on disk, not loaded yet: PostgreSQL still presents the old certificate.
    const old = notAfter(served);
    certificate(served, join(layout.tlsDir, "server.key"), 365);
    expect(report().status).toBe(0);
    expect((await pushed()).primary).toBe(old);

    // Loaded (ssl files are re-read on a reload): the new date, and the alerts clear.
    socketSql(model, "SELECT pg_reload_conf()");
    await pollFor("the server to present the renewed certificate", async () => {
      expect(report().status).toBe(0);
      return (await pushed()).primary === notAfter(served) ? true : undefined;
    });
    await pollFor("the certificate alerts to clear", async () =>
      (await firing()).length === 0 ? true : undefined,
    );
  }, 90_000);

  it("pushes nothing and fails, naming it, when a member's certificate cannot be read", async () => {
    const before = await pushed();
    const unreachable: ClusterModel = {
      ...model,
      layout: { ...model.layout, hosts: { ...model.layout.hosts, "replica-1": "replica-1.invalid" } },
    };
    const script = join(root, "report-unreachable.sh");
    writeFileSync(script, renderMonitoringFiles(unreachable)["report-certificates.sh"]);
    const result = report(script);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/could not read the certificate of: replica-1; nothing pushed/);
    expect(await pushed()).toEqual(before);
  }, 30_000);
});
