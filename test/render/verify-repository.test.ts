import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderVerifyRepository, VERIFY_FAILED_MARKER } from "../../components/render/verify-repository";
import { fixtureModel } from "./fixtures";

// pgBackRest 2.45's output of `verify --output=text --log-level-console=info` on a repository
// whose backup had one byte of one file changed (reproduced locally, exit status 0).
const CORRUPT = `2026-12-01 02:30:51.369 P00   INFO: verify command begin 2.45: --config=/etc/pgbackrest/pgbackrest.conf --stanza=main
2026-12-01 02:30:51.465 P01   INFO: invalid checksum '20261201-023048F/pg_data/base/5/2666.lz4'
2026-12-01 02:30:51.584 P00   INFO: stanza: main
                                    status: error
                                      backup: 20261201-023048F, status: invalid, total files checked: 964, total valid files: 963
                                        checksum invalid: 1
stanza: main
status: error
  backup: 20261201-023048F, status: invalid, total files checked: 964, total valid files: 963
    checksum invalid: 1
2026-12-01 02:30:51.584 P00   INFO: verify command end: completed successfully (216ms)`;

// The same on a healthy repository: no summary at all, exit status 0.
const HEALTHY = `2026-12-01 02:59:36.641 P00   INFO: verify command begin 2.45: --stanza=main
2026-12-01 02:59:36.857 P00   INFO: verify command end: completed successfully (217ms)`;

const dir = mkdtempSync(join(tmpdir(), "pgstack-verify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The failed-verify marker redirected into the scratch directory.
const marker = join(dir, "verify-failed");
const script = renderVerifyRepository(fixtureModel()).replaceAll(VERIFY_FAILED_MARKER, marker);

/** Runs the rendered script with a `pgbackrest` on PATH that prints `output` and exits `code`. */
function runWith(output: string, code: number, env: Record<string, string> = {}) {
  const bin = mkdtempSync(join(dir, "bin-"));
  writeFileSync(join(bin, "output.txt"), `${output}\n`);
  writeFileSync(
    join(bin, "pgbackrest"),
    `#!/bin/sh\necho "$*" > ${join(bin, "argv.txt")}\ncat ${join(bin, "output.txt")}\nexit ${code}\n`,
  );
  chmodSync(join(bin, "pgbackrest"), 0o755);
  const result = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
  });
  return { ...result, bin };
}

describe("verify-repository.sh", () => {
  it("parses with sh -n and dash -n", () => {
    for (const shell of ["sh", "dash"]) {
      const result = spawnSync(shell, ["-n"], { input: script, encoding: "utf8" });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    }
  });

  it("fails on a corrupt file that pgbackrest verify reports with exit 0, naming the backup and the file", () => {
    const result = runWith(CORRUPT, 0);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      [
        "verify-repository.sh: the repository of stanza pgstack-dev is damaged:",
        "  backup: 20261201-023048F, status: invalid",
        "  invalid checksum '20261201-023048F/pg_data/base/5/2666.lz4'",
        "",
      ].join("\n"),
    );
    // The full output stays in the job log.
    expect(result.stdout).toContain("checksum invalid: 1");
  });

  it("passes on a healthy repository", () => {
    const result = runWith(HEALTHY, 0);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("leaves the runner's failed-verify marker while verify fails, and removes it once one passes", () => {
    rmSync(marker, { force: true });
    runWith(CORRUPT, 0);
    expect(existsSync(marker)).toBe(true);
    runWith("ERROR: [039]: HTTP request failed", 39);
    expect(existsSync(marker)).toBe(true);
    runWith(HEALTHY, 0);
    expect(existsSync(marker)).toBe(false);
  });

  it("fails when verify itself fails (repository unreachable)", () => {
    const result = runWith("ERROR: [039]: HTTP request failed", 39);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("could not check the repository (exit 39)");
  });

  it("runs the runner's verify at log level info (the level naming the files)", () => {
    const result = runWith(HEALTHY, 0);
    expect(readFileSync(join(result.bin, "argv.txt"), "utf8").trim()).toBe(
      "verify --config=/etc/pgbackrest-runner/pgbackrest.conf --config-include-path=/etc/pgbackrest-runner/conf.d --stanza=pgstack-dev --output=text --log-level-console=info --log-level-stderr=off",
    );
  });

  it("reports the outcome when a Pushgateway is set, and a failed push never changes the result", () => {
    const failed = runWith(CORRUPT, 0, { PGSTACK_PUSHGATEWAY: "http://127.0.0.1:9" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("could not push the outcome (failed) to http://127.0.0.1:9");
    const ok = runWith(HEALTHY, 0, { PGSTACK_PUSHGATEWAY: "http://127.0.0.1:9" });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("could not push the outcome (ok)");
  });
});
