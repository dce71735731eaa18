import { describe, expect, it } from "vitest";
import { renderCommands, replicaBootstrapCommand, restoreCommand } from "../../components/render/commands";
import { fixtureModel } from "./fixtures";

const model = fixtureModel();
const commands = renderCommands(model);
const memberConfig = [
  "--config=/etc/pgbackrest/pgbackrest.conf",
  "--config-include-path=/etc/pgbackrest/conf.d",
];
const runnerConfig = [
  "--config=/etc/pgbackrest-runner/pgbackrest.conf",
  "--config-include-path=/etc/pgbackrest-runner/conf.d",
];

describe("renderCommands", () => {
  it("checks health with pg_isready over TCP on loopback and the rendered port, as clients connect", () => {
    expect(commands.healthcheck).toEqual([
      "pg_isready",
      "-h",
      "127.0.0.1",
      "-p",
      "5432",
      "-U",
      "postgres",
      "-d",
      "app",
    ]);
  });

  it("starts postgres on the data dir with the rendered config", () => {
    expect(commands.postgres).toEqual([
      "postgres",
      "-D",
      "/var/lib/postgresql/data/pgdata",
      "-c",
      "config_file=/etc/pgstack/postgresql.conf",
    ]);
  });

  it("runs the rendered scripts from the config directory", () => {
    expect(commands.integrityCheck).toEqual([
      "sh",
      "/etc/pgstack/check-data-dir.sh",
      "/var/lib/postgresql/data/pgdata",
      "15",
    ]);
    expect(commands.replicaBootstrap).toEqual(["sh", "/etc/pgstack/bootstrap-replica.sh"]);
    expect(replicaBootstrapCommand(model, "replica-1")).toEqual([
      "sh",
      "/etc/pgstack/bootstrap-replica.sh",
      "replica_1",
    ]);
    expect(() => replicaBootstrapCommand(model, "primary")).toThrow(/not a replica.*replica-1/);
  });

  it("gives every member pgBackRest command the config, the secret include path and the stanza", () => {
    const stanza = "--stanza=pgstack-dev";
    expect(commands.stanzaCreate).toEqual(["pgbackrest", "stanza-create", ...memberConfig, stanza]);
    expect(commands.check).toEqual(["pgbackrest", "check", ...memberConfig, stanza]);
    expect(commands.backupFull).toEqual(["pgbackrest", "backup", ...memberConfig, stanza, "--type=full"]);
    expect(commands.backupDiff).toEqual(["pgbackrest", "backup", ...memberConfig, stanza, "--type=diff"]);
    expect(commands.verify).toEqual(["pgbackrest", "verify", ...memberConfig, stanza]);
    expect(commands.info).toEqual(["pgbackrest", "info", ...memberConfig, stanza]);
    expect(commands.expire).toEqual(["pgbackrest", "expire", ...memberConfig, stanza]);
    expect(commands.pgbackrestServer).toEqual(["pgbackrest", "server", ...memberConfig]);
  });

  it("runs the runner's commands with the runner's config", () => {
    const stanza = "--stanza=pgstack-dev";
    expect(commands.runnerBackupFull).toEqual([
      "pgbackrest",
      "backup",
      ...runnerConfig,
      stanza,
      "--type=full",
    ]);
    expect(commands.runnerBackupDiff).toEqual([
      "pgbackrest",
      "backup",
      ...runnerConfig,
      stanza,
      "--type=diff",
    ]);
    expect(commands.runnerCheck).toEqual(["pgbackrest", "check", ...runnerConfig, stanza]);
    expect(commands.runnerVerify).toEqual(["pgbackrest", "verify", ...runnerConfig, stanza]);
  });
});

describe("restoreCommand", () => {
  // One restore process per CPU: a restoring member runs nothing else.
  const base = [
    "pgbackrest",
    "restore",
    ...memberConfig,
    "--stanza=pgstack-dev",
    `--process-max=${model.resources.cpus}`,
  ];

  it("recovers to a point in time and promotes", () => {
    expect(restoreCommand(model, { type: "time", time: "2025-01-31 13:45:00+00" })).toEqual([
      ...base,
      "--type=time",
      "--target=2025-01-31 13:45:00+00",
      "--target-action=promote",
    ]);
  });

  it("replays the whole archive for latest, with no target action (pgBackRest refuses one there)", () => {
    const latest = restoreCommand(model, { type: "latest" });
    expect(latest).toEqual(base);
    expect(latest.some((arg) => arg.startsWith("--target-action"))).toBe(false);
  });

  it("restores a standby", () => {
    expect(restoreCommand(model, { type: "standby" })).toEqual([...base, "--type=standby"]);
  });

  it("restores into another directory, without archiving, for a copy", () => {
    expect(restoreCommand(model, { type: "latest" }, { dataDir: "/tmp/copy", archiveMode: "off" })).toEqual([
      ...base,
      "--pg1-path=/tmp/copy",
      "--archive-mode=off",
    ]);
  });

  it("a copy in another directory never archives unless asked: it would push a new timeline into this stack's repository", () => {
    expect(
      restoreCommand(model, { type: "time", time: "2025-01-31 13:45:00+00" }, { dataDir: "/tmp/copy" }),
    ).toEqual([
      ...base,
      "--pg1-path=/tmp/copy",
      "--type=time",
      "--target=2025-01-31 13:45:00+00",
      "--target-action=promote",
      "--archive-mode=off",
    ]);
    expect(
      restoreCommand(model, { type: "latest" }, { dataDir: "/tmp/copy", archiveMode: "preserve" }),
    ).toEqual([...base, "--pg1-path=/tmp/copy", "--archive-mode=preserve"]);
    // In place (the member itself, e.g. a PITR of the primary) the member keeps archiving.
    expect(restoreCommand(model, { type: "latest" }).some((arg) => arg.startsWith("--archive-mode"))).toBe(
      false,
    );
  });

  it("never adds --delta: a restore refuses a non-empty directory instead of overwriting it", () => {
    for (const target of [{ type: "latest" }, { type: "standby" }] as const) {
      expect(restoreCommand(model, target)).not.toContain("--delta");
    }
  });

  it("refuses a target time that is not a timestamp", () => {
    expect(() => restoreCommand(model, { type: "time", time: "yesterday" })).toThrow(/not a timestamp/);
  });
});
