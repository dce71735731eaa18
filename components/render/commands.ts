import type { ClusterModel } from "../spec/build-cluster-spec";
import type { RenderedCommands, RenderedFiles } from "../spec/cluster-spec";

/** Where to recover to: a point in time, the end of the archive, or a standby that keeps following it. */
export type RestoreTarget = { type: "time"; time: string } | { type: "latest" } | { type: "standby" };

export interface RestoreOptions {
  /** Restore into this directory instead of the member's data dir (a copy, a scratch restore). */
  readonly dataDir?: string;
  /**
   * `off` for a copy that must not archive: a restored cluster otherwise keeps archive_mode and
   * archive_command and pushes a new timeline into this stack's repository. Defaults to `off`
   * whenever `dataDir` is given (a copy is never the member), and to the member's own setting
   * otherwise; `preserve` must be asked for explicitly to let a copy archive.
   */
  readonly archiveMode?: "off" | "preserve";
}

/** `pgbackrest <command>` with the members' config and secret include directory. */
export function memberPgbackrest(model: ClusterModel, command: string): string[] {
  return [
    "pgbackrest",
    command,
    `--config=${model.layout.pgbackrestConfigDir}/pgbackrest.conf`,
    // Command-line only: pgBackRest ignores it in a config file, and without it the secrets are not loaded.
    `--config-include-path=${model.layout.pgbackrestIncludeDir}`,
    `--stanza=${model.archive.stanza}`,
  ];
}

/** `pgbackrest <command>` as the backup runner (repository host) runs it. */
export function runnerPgbackrest(model: ClusterModel, command: string): string[] {
  return [
    "pgbackrest",
    command,
    `--config=${model.layout.runner.configDir}/pgbackrest.conf`,
    `--config-include-path=${model.layout.runner.includeDir}`,
    `--stanza=${model.archive.stanza}`,
  ];
}

/**
 * The init every container that runs PostgreSQL or pgBackRest has as PID 1 (Debian's tini, in the
 * image): it reaps orphans, which the postmaster would take for crashed backends (pgBackRest's
 * detached archive-push workers, timed-out probes), and forwards the stop signal.
 */
export const INIT_COMMAND: readonly string[] = ["tini", "--"];

/** The commands the platforms run, as argv arrays: no shell unless the argv names one. */
export function renderCommands(model: ClusterModel): RenderedCommands {
  const { layout, postgres } = model;
  // Scripts are mounted in the config directory under their RenderedFiles names.
  const script = (name: keyof RenderedFiles) => `${layout.configDir}/${name}`;
  return {
    // Over TCP on the rendered port, as clients connect: a server that listens only on a socket
    // (start-member.sh applying roles) is not ready for them.
    healthcheck: [
      "pg_isready",
      "-h",
      LOOPBACK,
      "-p",
      String(layout.port),
      "-U",
      postgres.superuser,
      "-d",
      postgres.database,
    ],
    postgres: ["postgres", "-D", layout.dataDir, "-c", `config_file=${layout.configDir}/postgresql.conf`],
    integrityCheck: ["sh", script("check-data-dir.sh"), layout.dataDir, String(postgres.version)],
    // A smart shutdown (SIGTERM) waits for every client to leave and outlives any grace period.
    // pg_ctl gives up after 60 s by default, long before a large checkpoint ends; wait instead
    // until 10 s before the pod's 300 s grace period runs out (Kubernetes' preStop hook).
    fastShutdown: [
      "pg_ctl",
      "stop",
      "--pgdata",
      layout.dataDir,
      "--mode",
      "fast",
      "--wait",
      "--timeout",
      "290",
    ],
    replicaBootstrap: ["sh", script("bootstrap-replica.sh")],
    stanzaCreate: memberPgbackrest(model, "stanza-create"),
    check: memberPgbackrest(model, "check"),
    backupFull: [...memberPgbackrest(model, "backup"), "--type=full"],
    backupDiff: [...memberPgbackrest(model, "backup"), "--type=diff"],
    verify: memberPgbackrest(model, "verify"),
    info: memberPgbackrest(model, "info"),
    expire: memberPgbackrest(model, "expire"),
    runnerBackupFull: [...runnerPgbackrest(model, "backup"), "--type=full"],
    runnerBackupDiff: [...runnerPgbackrest(model, "backup"), "--type=diff"],
    runnerCheck: runnerPgbackrest(model, "check"),
    runnerStanzaCreate: runnerPgbackrest(model, "stanza-create"),
    runnerVerify: runnerPgbackrest(model, "verify"),
    verifyRepository: ["sh", script("verify-repository.sh")],
    runnerInfo: runnerPgbackrest(model, "info"),
    restoreDrill: ["sh", script("restore-drill.sh")],
    pgbackrestServer: [
      "pgbackrest",
      "server",
      `--config=${layout.pgbackrestConfigDir}/pgbackrest.conf`,
      `--config-include-path=${layout.pgbackrestIncludeDir}`,
    ],
  };
}

/** The loopback address probes connect to: present in every container's and pod's network. */
const LOOPBACK = "127.0.0.1";

/**
 * What a member's PostgreSQL container runs after INIT_COMMAND: the rendered start-member.sh with
 * the member's role (and a replica's slot, which bootstrap-replica.sh checks against the spec).
 */
export function memberStartArguments(model: ClusterModel, memberName: string): string[] {
  const member = model.members.find((candidate) => candidate.name === memberName);
  if (member === undefined) {
    throw new Error(
      `member start: ${memberName} is not a member of ${model.name}; members: ${model.members.map((m) => m.name).join(", ")}`,
    );
  }
  const script = ["sh", `${model.layout.configDir}/start-member.sh`];
  if (member.role === "primary") return [...script, "primary"];
  return [...script, "replica", ...replicaBootstrapCommand(model, memberName).slice(-1)];
}

/**
 * The replica bootstrap of one replica: `commands.replicaBootstrap` plus the member's slot,
 * which the script checks against the slots the spec declares.
 */
export function replicaBootstrapCommand(model: ClusterModel, memberName: string): string[] {
  const member = model.members.find((candidate) => candidate.name === memberName);
  if (member === undefined || member.role !== "replica" || member.slot === undefined) {
    const replicas = model.members.filter((candidate) => candidate.role === "replica").map((m) => m.name);
    throw new Error(
      `replica bootstrap: ${memberName} is not a replica of ${model.name}; replicas: ${replicas.join(", ") || "none"}`,
    );
  }
  return [...renderCommands(model).replicaBootstrap, member.slot];
}

/** ISO-like timestamp pgBackRest and PostgreSQL accept as a recovery target. */
const RECOVERY_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(Z|[+-]\d{2}(:?\d{2})?|UTC))?$/;

/**
 * `pgbackrest restore` for a target. PostgreSQL must be stopped and the target directory empty:
 * without --delta pgBackRest refuses a non-empty directory, so a restore never overwrites data by
 * accident. `time` recovers to that moment and promotes (--target-action is valid only with a
 * recovery target); `latest` replays the whole archive; `standby` restores a standby that keeps
 * following the archive.
 */
export function restoreCommand(
  model: ClusterModel,
  target: RestoreTarget,
  options: RestoreOptions = {},
): string[] {
  // A restoring member serves no queries: one process per CPU (the config's process-max keeps
  // half for the live database). Measured by `npm run bench`: 1.5x faster on 2 CPUs.
  const argv = [...memberPgbackrest(model, "restore"), `--process-max=${model.resources.cpus}`];
  if (options.dataDir !== undefined) argv.push(`--pg1-path=${options.dataDir}`);
  switch (target.type) {
    case "time":
      if (!RECOVERY_TIME.test(target.time)) {
        throw new Error(
          `restore: target time ${JSON.stringify(target.time)} is not a timestamp; use e.g. "2025-01-31 13:45:00+00"`,
        );
      }
      argv.push("--type=time", `--target=${target.time}`, "--target-action=promote");
      break;
    case "latest":
      break;
    case "standby":
      argv.push("--type=standby");
      break;
  }
  const archiveMode = options.archiveMode ?? (options.dataDir !== undefined ? "off" : undefined);
  if (archiveMode !== undefined) argv.push(`--archive-mode=${archiveMode}`);
  return argv;
}
