import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertThresholds } from "../../components/render/alert-rules";
import { PUSHGATEWAY_ENV } from "../../components/render/job-report";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import { type LocalMonitoring, pollFor, startLocalMonitoring } from "./local-monitoring";
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
let monitoring: LocalMonitoring | undefined;

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
  pollFor(what, async () => {
    const alerts = await firing();
    return check(alerts) ? alerts : undefined;
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pgstack-job-report-"));
  spec = committedStackSpec("dev");
  writeFileSync(join(dir, "report-job.sh"), spec.monitoringFiles["report-job.sh"]);
  writeFileSync(join(dir, "alerts.yaml"), spec.monitoringFiles["alerts.yaml"]);
  monitoring = await startLocalMonitoring(spec, dir);
  gateway = monitoring.gateway;
  prometheus = monitoring.prometheus;
}, 60_000);

afterAll(async () => {
  await monitoring?.stop();
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
