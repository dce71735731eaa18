import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderPgbackrestDrillConf } from "../../components/render/pgbackrest-conf";
import { assertDrillScratch, renderRestoreDrill } from "../../components/render/restore-drill";
import { FIXTURE_LAYOUT, fixtureModel } from "./fixtures";

const dir = mkdtempSync(join(tmpdir(), "pgstack-drill-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// pgBackRest 2.45's `info --output=json` of a stanza with one full backup (shape as printed).
const INFO = JSON.stringify([
  {
    archive: [
      {
        database: { id: 1, "repo-key": 1 },
        id: "15-1",
        max: "000000010000000000000008",
        min: "000000010000000000000001",
      },
    ],
    backup: [
      {
        archive: { start: "000000010000000000000003", stop: "000000010000000000000003" },
        label: "20261201-040000F",
        timestamp: { start: 1764561600, stop: 1764561610 },
        type: "full",
      },
    ],
    name: "pgstack-dev",
    status: { code: 0, lock: { backup: { held: false } }, message: "ok" },
  },
]);

interface Scenario {
  readonly restore?: "ok" | "corrupt";
  /** What the restored PostgreSQL does: promote after the archive, or stop at a missing segment. */
  readonly postgres?: "promotes" | "needs-missing-segment" | "stops-at-gap";
  readonly amcheck?: number;
}

/** Runs the rendered drill against stub programs; the scratch directory is a temporary one. */
function drill(scenario: Scenario = {}) {
  const run = mkdtempSync(join(dir, "run-"));
  const scratch = join(run, "scratch");
  const bin = join(run, "bin");
  spawnSync("mkdir", ["-p", bin]);
  const model = fixtureModel({
    layout: { ...FIXTURE_LAYOUT, drill: { ...FIXTURE_LAYOUT.drill, scratchDir: scratch } },
  });
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    "pgbackrest",
    `case "$1" in
  info) printf '%s' '${INFO}' ;;
  restore) ${scenario.restore === "corrupt" ? `echo "ERROR: [029]: raised from local-2 protocol: lz4 error: [-16] ERROR_decompressionFailed"; exit 29` : `touch "${scratch}/pgdata/PG_VERSION"`} ;;
  verify) echo "2026-12-01 04:00:01.000 P01   INFO: invalid checksum '20261201-040000F/pg_data/base/1/1247.lz4'" ;;
esac`,
  );
  const postgres = scenario.postgres ?? "promotes";
  stub(
    "postgres",
    postgres === "needs-missing-segment"
      ? `echo "INFO: unable to find 000000010000000000000003 in the archive"; echo "FATAL:  could not locate required checkpoint record"; exit 1`
      : postgres === "stops-at-gap"
        ? `echo "INFO: unable to find 000000010000000000000005 in the archive"; echo "LOG:  redo done"; touch "${scratch}/up"; exec sleep 30`
        : `echo "INFO: unable to find 000000010000000000000009 in the archive"; echo "LOG:  redo done at 0/9000100"; touch "${scratch}/up"; exec sleep 30`,
  );
  // The server is up once recovery ended (the "up" file); psql fails before, as against a server starting.
  stub("pg_ctl", "exit 1");
  stub(
    "psql",
    `case "$*" in
  *pg_is_in_recovery*) [ -e "${scratch}/up" ] || exit 2; echo f ;;
  *pg_last_xact_replay_timestamp*) echo $(( $(date +%s) - 7 )) ;;
  *pg_database_size*) echo 50000000 ;;
esac`,
  );
  stub("pg_amcheck", `exit ${scenario.amcheck ?? 0}`);
  const result = spawnSync("sh", ["-c", renderRestoreDrill(model)], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin` },
    timeout: 30_000,
  });
  return { ...result, output: `${result.stdout}${result.stderr}`, scratch };
}

describe("restore-drill.sh", () => {
  const script = renderRestoreDrill(fixtureModel());

  it("parses with sh -n and dash -n", () => {
    for (const shell of ["sh", "dash"]) {
      const result = spawnSync(shell, ["-n"], { input: script, encoding: "utf8" });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    }
  });

  it("starts the copy without a TCP listener, archiving or streaming, restored with archive-mode off", () => {
    for (const line of [
      "listen_addresses = ''",
      "archive_mode = off",
      "primary_conninfo = ''",
      "hot_standby = off",
    ]) {
      expect(script).toContain(`\n${line}\n`);
    }
    expect(script).toContain("--archive-mode=off");
    expect(script).toContain("--pg1-path=/var/lib/postgresql/restore-drill/pgdata");
    expect(script).toContain('pg_amcheck --host="$scratch"');
    expect(script).toContain("--all --install-missing");
    // The drill's own config and credentials, never the runner's or a member's.
    expect(script).toContain(`--config=${FIXTURE_LAYOUT.drill.configDir}/pgbackrest.conf`);
    expect(script).not.toContain(FIXTURE_LAYOUT.runner.configDir);
    expect(script).not.toContain(FIXTURE_LAYOUT.dataDir);
  });

  it("refuses a scratch directory inside, or holding, a member's volume", () => {
    for (const scratchDir of [
      FIXTURE_LAYOUT.volumeDir,
      `${FIXTURE_LAYOUT.volumeDir}/drill`,
      "/var/lib/postgresql",
    ]) {
      const model = fixtureModel({
        layout: { ...FIXTURE_LAYOUT, drill: { ...FIXTURE_LAYOUT.drill, scratchDir } },
      });
      expect(() => assertDrillScratch(model), scratchDir).toThrow(/overlaps the members'/);
    }
  });

  it("passes, prints the summary with RTO and data age, and removes the copy", () => {
    const result = drill();
    expect(result.status, result.output).toBe(0);
    const summary = result.output.split("\n").find((line) => line.startsWith("restore-drill: passed "));
    expect(summary).toMatch(
      /backup=20261201-040000F restore_seconds=[\d.]+ recovery_seconds=[\d.]+ database_bytes=50000000 rto_seconds_per_gb=[\d.]+ data_age_seconds=\d+ /,
    );
    expect(Number(/data_age_seconds=(\d+)/.exec(summary ?? "")?.[1])).toBeGreaterThanOrEqual(7);
    expect(readdirSync(result.scratch)).toEqual([]);
  });

  it("fails on a damaged backup file, with pgBackRest's error and the file verify names", () => {
    const result = drill({ restore: "corrupt" });
    expect(result.status).toBe(1);
    expect(result.output).toMatch(
      /restore-drill: FAILED: pgbackrest restore of backup 20261201-040000F exited 29: ERROR: \[029\].*verify: invalid checksum '20261201-040000F\/pg_data\/base\/1\/1247.lz4'/,
    );
    expect(readdirSync(result.scratch)).toEqual([]);
  });

  it("fails naming the WAL segment the backup needs when archive-get cannot find it", () => {
    const result = drill({ postgres: "needs-missing-segment" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "restore-drill: FAILED: recovery of backup 20261201-040000F stopped: WAL segment 000000010000000000000003, which the backup needs, is missing from the archive",
    );
    expect(readdirSync(result.scratch)).toEqual([]);
  });

  it("fails when recovery ended at a gap before the newest archived segment", () => {
    const result = drill({ postgres: "stops-at-gap" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "ended at missing WAL segment 000000010000000000000005, but the archive holds WAL up to 000000010000000000000008",
    );
  });

  it("fails when pg_amcheck reports corruption", () => {
    const result = drill({ amcheck: 2 });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "restore-drill: FAILED: pg_amcheck found corruption in backup 20261201-040000F",
    );
    expect(existsSync(join(result.scratch, "pgdata"))).toBe(false);
  });
});

describe("pgbackrest-drill.conf", () => {
  it("reads the repository with the drill's own include, restores into the scratch copy, pushes nothing", () => {
    const conf = renderPgbackrestDrillConf(fixtureModel());
    expect(conf).toContain(`pg1-path=${FIXTURE_LAYOUT.drill.scratchDir}/pgdata\n`);
    expect(conf).not.toMatch(/archive-push|archive-async|spool-path|tls-server|pg1-host/);
    expect(conf).not.toContain(FIXTURE_LAYOUT.dataDir);
  });
});
