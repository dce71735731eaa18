import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertThresholds } from "../../components/render/alert-rules";
import { PUSHGATEWAY_ENV } from "../../components/render/job-report";
import { prometheusSetup } from "../../components/render/prometheus-config";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import { freePort } from "../render/local-postgres";
import { committedStackSpec } from "./stack-specs";

/**
 * The rendered report-job.sh pushing to Debian's Pushgateway, scraped by Debian's Prometheus
 * loading the rendered alerts.yaml through the rendered scrape config (1 s intervals here; the
 * rules keep their own thresholds and `for:`): a failed verify or drill fires its alert and a
 * passing one clears it; a full backup reported older than its schedule allows fires the age alert
 * and a fresh one clears it.
 */
let dir: string;
let spec: ClusterSpec;
let gateway: string;
let prometheus: string;
const processes: ChildProcess[] = [];

function start(argv: string[]): ChildProcess {
  const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
  processes.push(child);
  return child;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seconds = 30): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function report(...args: string[]) {
  const result = spawnSync("sh", [join(dir, "report-job.sh"), ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, [PUSHGATEWAY_ENV]: gateway },
  });
  expect(result.status, result.stderr).toBe(0);
  return result;
}

async function firing(): Promise<string[]> {
  const body = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: { alertname: string }; state: string }[] };
  };
  return body.data.alerts.filter((a) => a.state === "firing").map((a) => a.labels.alertname);
}

const eventually = (what: string, check: (alerts: string[]) => boolean) =>
  waitFor(what, async () => {
    const alerts = await firing();
    return check(alerts) ? alerts : undefined;
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pgstack-job-report-"));
  spec = committedStackSpec("dev");
  const gatewayPort = await freePort();
  gateway = `http://127.0.0.1:${gatewayPort}`;
  start([
    "/usr/bin/prometheus-pushgateway",
    `--web.listen-address=127.0.0.1:${gatewayPort}`,
    `--persistence.file=${join(dir, "pushgateway.data")}`,
  ]);
  writeFileSync(join(dir, "report-job.sh"), spec.monitoringFiles["report-job.sh"]);
  writeFileSync(join(dir, "alerts.yaml"), spec.monitoringFiles["alerts.yaml"]);
  const setup = prometheusSetup(spec, {
    // No exporter runs here: its targets are down, and no rule read below depends on them.
    exporterAddress: () => "127.0.0.1:1",
    pushgateway: `127.0.0.1:${gatewayPort}`,
    rulesDir: dir,
    scrapeInterval: "1s",
    evaluationInterval: "1s",
  });
  writeFileSync(join(dir, "prometheus.yml"), stringify(setup.config));
  const prometheusPort = await freePort();
  prometheus = `http://127.0.0.1:${prometheusPort}`;
  start([
    "/usr/bin/prometheus",
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "tsdb")}`,
    `--web.listen-address=127.0.0.1:${prometheusPort}`,
  ]);
  await waitFor("the Pushgateway", async () => ((await fetch(`${gateway}/-/ready`)).ok ? true : undefined));
  await waitFor("Prometheus", async () => ((await fetch(`${prometheus}/-/ready`)).ok ? true : undefined));
}, 60_000);

afterAll(async () => {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("job results through the Pushgateway fire and clear their alerts", () => {
  it("a failed verify fires PgstackVerifyFailed; a passing one clears it", async () => {
    report("verify", "failed");
    await eventually("PgstackVerifyFailed firing", (alerts) => alerts.includes("PgstackVerifyFailed"));
    report("verify", "ok");
    await eventually("PgstackVerifyFailed cleared", (alerts) => !alerts.includes("PgstackVerifyFailed"));
  }, 60_000);

  it("a full backup older than its schedule allows fires PgstackFullBackupTooOld; a fresh one clears it", async () => {
    const now = Math.floor(Date.now() / 1000);
    const limit = alertThresholds(spec).fullBackupMaxAgeSeconds;
    report("backup-full", "ok", String(now - limit - 600));
    report("backup-diff", "ok", String(now));
    await eventually("PgstackFullBackupTooOld firing", (alerts) =>
      alerts.includes("PgstackFullBackupTooOld"),
    );
    // The fresh differential keeps the newest backup of any kind young.
    expect(await firing()).not.toContain("PgstackBackupTooOld");
    report("backup-full", "ok");
    await eventually(
      "PgstackFullBackupTooOld cleared",
      (alerts) => !alerts.includes("PgstackFullBackupTooOld"),
    );
  }, 60_000);

  it("a failed drill fires PgstackRestoreDrillFailed and keeps the last pass's time", async () => {
    report("drill", "ok");
    report("drill", "failed");
    await eventually("PgstackRestoreDrillFailed firing", (alerts) =>
      alerts.includes("PgstackRestoreDrillFailed"),
    );
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    expect(metrics).toMatch(/^pgstack_drill_last_success_timestamp_seconds\{.*step="drill".*\} \S+$/m);
    expect(await firing()).not.toContain("PgstackRestoreDrillTooOld");
    report("drill", "ok");
    await eventually(
      "PgstackRestoreDrillFailed cleared",
      (alerts) => !alerts.includes("PgstackRestoreDrillFailed"),
    );
  }, 60_000);

  it("a failed backup pushes nothing and a bad argument is refused", () => {
    expect(report("backup-diff", "failed").stderr).toMatch(/backup age alerts report it/);
    const bad = spawnSync("sh", [join(dir, "report-job.sh"), "verify", "maybe"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, [PUSHGATEWAY_ENV]: gateway },
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: report-job\.sh/);
  });
});
