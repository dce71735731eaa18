import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import {
  backupCrontab,
  RUNNER_READY_MARKER,
  runnerStartScript,
} from "../../components/docker/startup-commands";
import { VERIFY_FAILED_MARKER } from "../../components/render/verify-repository";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import { devStackConfig } from "./mock-deployment";

const spec = buildClusterSpec(parseStackConfig(devStackConfig()), { stack: "dev" });

/**
 * Runs the runner's start script with stand-ins for pgbackrest and supercronic that record each
 * call: `info` answers with the backup list given, any command named in `failing` exits 1, and
 * `verify` prints the result given. The marker path is redirected into the scratch directory.
 */
function runStart(options: { backups: "none" | "one"; failing?: string[]; verifyStatus?: "ok" | "error" }) {
  const dir = mkdtempSync(join(tmpdir(), "pgstack-runner-"));
  const calls = join(dir, "calls");
  const marker = join(dir, "ready");
  const info =
    options.backups === "none"
      ? '[{"archive":[],"backup":[],"name":"pgstack-dev","status":{"code":0,"message":"ok"}}]'
      : '[{"archive":[{"id":"15-1"}],"backup":[{"label":"20261201-010000F","type":"full"}],"name":"pgstack-dev","status":{"code":0,"message":"ok"}}]';
  const verifyOutput =
    options.verifyStatus === "error"
      ? "stanza: pgstack-dev\\nstatus: error\\n  checksum invalid: 1"
      : "stanza: pgstack-dev\\nstatus: ok";
  writeFileSync(
    join(dir, "pgbackrest"),
    [
      "#!/bin/sh",
      `echo "pgbackrest $*" >> '${calls}'`,
      `for failing in ${(options.failing ?? []).join(" ")}; do [ "$1" = "$failing" ] && exit 1; done`,
      `[ "$1" = info ] && printf '%s\\n' '${info}'`,
      `[ "$1" = verify ] && printf '${verifyOutput}\\n'`,
      "exit 0",
    ].join("\n"),
  );
  writeFileSync(join(dir, "supercronic"), `#!/bin/sh\necho "supercronic $*" >> '${calls}'\n`);
  for (const tool of ["pgbackrest", "supercronic"]) chmodSync(join(dir, tool), 0o755);
  const script = withVerifyScript(dir, runnerStartScript(spec, "/etc/pgstack/backup.crontab")).replaceAll(
    RUNNER_READY_MARKER,
    marker,
  );
  const result = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${dir}:/usr/bin:/bin` },
  });
  const log = existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [];
  const commands = log.map((line) => line.split(" ").filter((word) => !word.startsWith("--"))[1] ?? line);
  return { dir, status: result.status, commands, log, ready: existsSync(marker), stderr: result.stderr };
}

/** `text` running the rendered verify-repository.sh from `dir` (its path in the runner is read-only). */
function withVerifyScript(dir: string, text: string): string {
  const path = join(dir, "verify-repository.sh");
  writeFileSync(
    path,
    spec.files["verify-repository.sh"].replaceAll(VERIFY_FAILED_MARKER, join(dir, "verify-failed")),
  );
  return text.replaceAll(`${spec.layout.configDir}/verify-repository.sh`, path);
}

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function run(options: Parameters<typeof runStart>[0]) {
  const outcome = runStart(options);
  scratch.push(outcome.dir);
  return outcome;
}

describe("the backup runner's start", () => {
  it("takes a full backup and verifies it before the schedule when the repository has none", () => {
    const { status, commands, log, ready } = run({ backups: "none" });
    expect(status).toBe(0);
    expect(commands).toEqual([
      "stanza-create",
      "check",
      "info",
      "backup",
      "verify",
      "/etc/pgstack/backup.crontab",
    ]);
    expect(log.find((line) => line.startsWith("pgbackrest backup"))).toContain("--type=full");
    expect(log.at(-1)).toBe("supercronic /etc/pgstack/backup.crontab");
    expect(ready).toBe(true);
  });

  it("goes straight to the schedule when a backup exists", () => {
    const { status, commands, ready } = run({ backups: "one" });
    expect(status).toBe(0);
    expect(commands).toEqual(["stanza-create", "check", "info", "/etc/pgstack/backup.crontab"]);
    expect(ready).toBe(true);
  });

  it("never marks itself ready, nor starts the schedule, when check fails (archiving broken)", () => {
    const { status, commands, ready } = run({ backups: "none", failing: ["check"] });
    expect(status).not.toBe(0);
    expect(commands).toEqual(["stanza-create", "check"]);
    expect(ready).toBe(false);
  });

  it("fails when the first backup's verify reports errors, though verify itself exits 0", () => {
    const { status, ready, stderr } = run({ backups: "none", verifyStatus: "error" });
    expect(status).not.toBe(0);
    expect(ready).toBe(false);
    expect(stderr).toContain("the repository of stanza pgstack-dev is damaged");
  });

  it("fails when the first backup fails", () => {
    const { status, commands, ready } = run({ backups: "none", failing: ["backup"] });
    expect(status).not.toBe(0);
    expect(commands).toEqual(["stanza-create", "check", "info", "backup"]);
    expect(ready).toBe(false);
  });
});

describe("the backup schedule", () => {
  it("fails a job whose verify reports errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "pgstack-cron-"));
    scratch.push(dir);
    writeFileSync(
      join(dir, "pgbackrest"),
      `#!/bin/sh\n[ "$1" = verify ] && printf 'status: error\\n  checksum invalid: 1\\n'\nexit 0\n`,
    );
    chmodSync(join(dir, "pgbackrest"), 0o755);
    const jobs = withVerifyScript(dir, backupCrontab(spec))
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#") && line.includes("--type="))
      // supercronic runs what follows the five schedule fields with /bin/sh -c.
      .map((line) => line.split(" ").slice(5).join(" "));
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      const result = spawnSync("sh", ["-c", job], {
        encoding: "utf8",
        env: { PATH: `${dir}:/usr/bin:/bin` },
      });
      expect(result.status, job).not.toBe(0);
    }
  });
});
