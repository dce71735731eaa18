import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DRILL_MEASUREMENTS } from "../../components/render/job-metrics";
import { renderJobReportScript } from "../../components/render/job-report";
import { fixtureModel } from "../render/fixtures";

const dir = mkdtempSync(join(tmpdir(), "pgstack-drill-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// curl stand-in: records the URL and the pushed body.
writeFileSync(
  join(dir, "curl"),
  `#!/bin/sh\nfor a; do url=$a; done\necho "$url" > ${dir}/url\ncat > ${dir}/body\n`,
);
chmodSync(join(dir, "curl"), 0o755);
const script = join(dir, "report-job.sh");
writeFileSync(script, renderJobReportScript(fixtureModel()));

function report(args: string[]) {
  rmSync(join(dir, "body"), { force: true });
  return spawnSync("sh", [script, ...args], {
    encoding: "utf8",
    env: { PATH: `${dir}:/usr/bin:/bin`, PGSTACK_PUSHGATEWAY: "http://gateway:9091" },
  });
}

describe("report-job.sh with the drill's measurements", () => {
  it("pushes a passed drill's RTO, restore and recovery seconds, size and data age with its success", () => {
    const series = join(dir, "measurements");
    writeFileSync(series, DRILL_MEASUREMENTS.map((name, index) => `${name} ${index + 1}.5`).join("\n"));
    const result = report(["drill", "ok", "", series]);
    expect(result.status, result.stderr).toBe(0);
    const body = readFileSync(join(dir, "body"), "utf8");
    expect(body).toMatch(/^pgstack_drill_last_success 1\npgstack_drill_last_success_timestamp_seconds \d+\n/);
    for (const name of DRILL_MEASUREMENTS) expect(body).toMatch(new RegExp(`^${name} \\d+\\.5$`, "m"));
    expect(readFileSync(join(dir, "url"), "utf8")).toMatch(/\/step\/drill\n$/);
  });

  it("refuses any other line, and measurements with anything but a passed drill", () => {
    const bad = join(dir, "bad");
    writeFileSync(bad, "pgstack_drill_restore_seconds 1\nup 0\n");
    const refused = report(["drill", "ok", "", bad]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("up 0");
    const failed = report(["drill", "failed", "", join(dir, "measurements")]);
    expect(failed.status).toBe(2);
  });
});
