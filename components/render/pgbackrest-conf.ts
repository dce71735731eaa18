import type { ClusterModel } from "../spec/build-cluster-spec";
import { PGBACKREST_VERSION } from "../spec/image";
import { primaryHost } from "../spec/layout";
import { commentLines, generatedHeader } from "./generated-header";
import { drillDataDir } from "./restore-drill";

/**
 * Common Name of the backup runner's client certificate. The platforms issue the runner's
 * certificate with this CN; the TLS server on the primary admits only it (tls-server-auth).
 */
export const RUNNER_CLIENT_CN = "pgbackrest-runner";

/** File names inside `layout.tlsDir` (members) and `layout.runner.tlsDir` (runner). */
export const PGBACKREST_TLS_FILES = {
  /** The member's server certificate; its SAN holds the member's host name (layout.hosts). */
  serverCert: "server.crt",
  serverKey: "server.key",
  /** The stack's CA: signs the members', the runner's and the S3 store's certificates. */
  ca: "ca.crt",
  /** The runner's client certificate, CN = RUNNER_CLIENT_CN. */
  runnerCert: `${RUNNER_CLIENT_CN}.crt`,
  runnerKey: `${RUNNER_CLIENT_CN}.key`,
} as const;

/**
 * Name of the secret file the platforms mount into the pgBackRest include directory
 * (`layout.pgbackrestIncludeDir`, `layout.runner.includeDir`). pgBackRest concatenates every
 * `*.conf` there with the main config when `--config-include-path` names the directory.
 */
export const PGBACKREST_SECRET_INCLUDE_FILE = "pgstack-secrets.conf";

/** Options that hold secrets: only ever in the include file, never in the rendered configs. */
export type PgbackrestSecretKey = "repo1-cipher-pass" | "repo1-s3-key" | "repo1-s3-key-secret";

/** The secret options a stack needs in its include file, in file order. */
export function pgbackrestSecretKeys(model: ClusterModel): PgbackrestSecretKey[] {
  const keys: PgbackrestSecretKey[] = [];
  if (model.archive.encrypted) keys.push("repo1-cipher-pass");
  // web-id (IRSA) takes temporary credentials from the pod's token: no static keys exist.
  if (model.archive.keyType === "shared") keys.push("repo1-s3-key", "repo1-s3-key-secret");
  return keys;
}

/**
 * The include file's text from the secret values. Platforms call this inside an Output's apply
 * and store the result only in a secret (Kubernetes Secret, Docker secret file).
 */
export function renderPgbackrestSecretInclude(
  model: ClusterModel,
  values: Readonly<Partial<Record<PgbackrestSecretKey, string>>>,
): string {
  const lines = ["[global]"];
  for (const key of pgbackrestSecretKeys(model)) {
    const value = values[key];
    if (value === undefined || value === "") {
      throw new Error(`pgBackRest secret include: ${key} is required for stack ${model.stack}; provide it`);
    }
    if (/[\r\n]/.test(value)) {
      throw new Error(
        `pgBackRest secret include: ${key} contains a line break; a config value must be one line`,
      );
    }
    lines.push(`${key}=${value}`);
  }
  return `${lines.join("\n")}\n`;
}

/** One option line, with the reason on the comment line(s) above it when it is not obvious. */
interface Option {
  readonly key: string;
  readonly value: string | number;
  readonly reason?: string;
}

interface Section {
  readonly name: string;
  readonly options: readonly Option[];
}

/**
 * pgbackrest.conf of the database members: the repository (S3), WAL archiving (archive-push
 * from archive_command, archive-get from restore_command), the stanza's local PostgreSQL, and
 * the TLS server through which the backup runner reaches the primary.
 */
export function renderPgbackrestConf(model: ClusterModel): string {
  const { layout, archive } = model;
  const tls = `${layout.tlsDir}/`;
  return renderConfig(model, "pgbackrest.conf of the database members", [
    {
      name: "global",
      options: [
        ...repositoryOptions(model),
        ...performanceOptions(model),
        {
          key: "archive-async",
          value: "y",
          reason:
            "Push and get WAL asynchronously, several segments per call: archive_command returns fast " +
            "and a slow or briefly unreachable S3 does not stall the WAL writer.",
        },
        {
          key: "spool-path",
          value: layout.spoolPath,
          reason:
            "Async archive queue, on the data volume so WAL acknowledged to PostgreSQL survives a restart.",
        },
        {
          key: "log-path",
          value: layout.pgbackrestLogPath,
          reason: "On the data volume: logs survive restarts.",
        },
        {
          key: "log-level-console",
          value: "warn",
          reason: "archive_command output lands in PostgreSQL's log: only problems belong there.",
        },
        { key: "log-level-file", value: "info" },
        { key: "lock-path", value: layout.pgbackrestLockPath },
      ],
    },
    {
      name: "global:archive-push",
      options: [
        {
          key: "io-timeout",
          value: ARCHIVE_PUSH_IO_TIMEOUT_SECONDS,
          reason:
            "With the default 60 s one push to an unreachable S3 takes about 8 minutes of retries; " +
            `${ARCHIVE_PUSH_IO_TIMEOUT_SECONDS} s fails within a couple of minutes and PostgreSQL simply retries.`,
        },
        {
          key: "log-level-file",
          value: "warn",
          reason: "Info logs a line per WAL segment, and pgBackRest does not rotate logs on the data volume.",
        },
      ],
    },
    {
      name: "global:archive-get",
      options: [{ key: "log-level-file", value: "warn", reason: "Same: one line per segment replayed." }],
    },
    backupSection(),
    {
      name: "global:server",
      options: [
        {
          key: "tls-server-address",
          value: layout.pgbackrestServerAddress ?? anyAddress(model),
          reason: `The backup runner connects from outside the member${anyAddress(model) === "::" ? " (:: also accepts IPv4 on Linux)" : ""}; only a client certificate of the stack's CA with CN ${RUNNER_CLIENT_CN} is admitted.`,
        },
        { key: "tls-server-port", value: layout.pgbackrestServerPort },
        {
          key: "tls-server-cert-file",
          value: `${tls}${PGBACKREST_TLS_FILES.serverCert}`,
          reason: `Its SAN holds the primary's DNS name (${primaryHost(model)}): the runner verifies names, and an IP fails.`,
        },
        { key: "tls-server-key-file", value: `${tls}${PGBACKREST_TLS_FILES.serverKey}` },
        {
          key: "tls-server-ca-file",
          value: `${tls}${PGBACKREST_TLS_FILES.ca}`,
          reason: "Client certificates must be signed by the stack's CA.",
        },
        {
          key: "tls-server-auth",
          value: `${RUNNER_CLIENT_CN}=${archive.stanza}`,
          reason:
            "Only the runner's certificate, and only for this stack's stanza. A change needs a server restart (or HUP).",
        },
      ],
    },
    {
      name: archive.stanza,
      options: localPostgresOptions(model),
    },
  ]);
}

/**
 * pgbackrest.conf of the backup runner: the repository host. It reaches the primary's
 * PostgreSQL through the pgBackRest TLS server there (no SSH, no exec into the member).
 */
export function renderPgbackrestRunnerConf(model: ClusterModel): string {
  const { layout, archive } = model;
  const tls = `${layout.runner.tlsDir}/`;
  return renderConfig(model, "pgbackrest.conf of the backup runner", [
    {
      name: "global",
      options: [
        ...repositoryOptions(model),
        ...performanceOptions(model),
        { key: "log-path", value: layout.runner.logPath },
        {
          key: "log-level-console",
          value: "info",
          reason: "The runner's job log is where operators look: show each step.",
        },
        { key: "log-level-file", value: "info" },
        { key: "lock-path", value: layout.runner.lockPath },
      ],
    },
    backupSection(),
    {
      name: archive.stanza,
      options: [
        {
          key: "pg1-host",
          value: primaryHost(model),
          reason: "A DNS name, never an IP: the certificate check matches names only.",
        },
        { key: "pg1-host-type", value: "tls", reason: "pgBackRest's TLS server on the primary, not SSH." },
        { key: "pg1-host-port", value: layout.pgbackrestServerPort },
        {
          key: "pg1-host-cert-file",
          value: `${tls}${PGBACKREST_TLS_FILES.runnerCert}`,
          reason: `Client certificate with CN ${RUNNER_CLIENT_CN}, which the primary's tls-server-auth admits.`,
        },
        { key: "pg1-host-key-file", value: `${tls}${PGBACKREST_TLS_FILES.runnerKey}` },
        { key: "pg1-host-ca-file", value: `${tls}${PGBACKREST_TLS_FILES.ca}` },
        {
          key: "pg1-host-config",
          value: `${layout.pgbackrestConfigDir}/pgbackrest.conf`,
          reason:
            "The config the primary's side loads for this connection. Without it the server silently " +
            "reads /etc/pgbackrest.conf and default paths (port 5432, /var/run/postgresql).",
        },
        {
          key: "pg1-host-config-include-path",
          value: layout.pgbackrestIncludeDir,
          reason: "The primary's secret include directory (cipher pass, S3 keys) for the same connection.",
        },
        { key: "pg1-host-config-path", value: layout.pgbackrestConfigDir },
        ...localPostgresOptions(model).map((option) => ({
          ...option,
          reason:
            option.key === "pg1-path" ? "A path on the primary; required here all the same." : option.reason,
        })),
      ],
    },
  ]);
}

/**
 * pgbackrest.conf of the restore drill: the repository (read with the drill's own credentials:
 * read-only where the store has read-only identities) and the scratch copy as pg1. No
 * archive-push settings, no TLS server, no pg1-host: the drill reaches no member. pgBackRest has
 * no read-only repository option (2.45's `help restore`; feature request pgbackrest/pgbackrest#2334,
 * where the maintainers point to read-only access at the storage instead): the copy never archives
 * (restore's --archive-mode=off, and the drill's postgresql.conf) and its credentials cannot write.
 */
export function renderPgbackrestDrillConf(model: ClusterModel): string {
  const { layout, archive, postgres } = model;
  const scratch = layout.drill.scratchDir;
  return renderConfig(model, "pgbackrest.conf of the restore drill", [
    {
      name: "global",
      options: [
        ...repositoryOptions(model),
        { key: "process-max", value: model.resources.drill.cpus },
        {
          key: "log-level-console",
          value: "info",
          reason:
            "The drill's log is where operators look; archive-get's \"unable to find <segment>\" lines reach " +
            "PostgreSQL's log at this level, and the drill names a missing segment from them.",
        },
        {
          key: "log-level-file",
          value: "off",
          reason: "The job log holds everything; the scratch copy is removed.",
        },
        { key: "lock-path", value: `${scratch}/lock` },
        { key: "log-path", value: `${scratch}/log` },
      ],
    },
    {
      name: archive.stanza,
      options: [
        {
          key: "pg1-path",
          value: drillDataDir(model),
          reason: "The scratch copy: never a member's data directory.",
        },
        { key: "pg1-port", value: layout.port },
        { key: "pg1-socket-path", value: scratch },
        { key: "pg1-user", value: postgres.superuser },
      ],
    },
  ]);
}

/** Seconds each S3 read or write of archive-push may stall before it is retried. */
export const ARCHIVE_PUSH_IO_TIMEOUT_SECONDS = 10;

function repositoryOptions(model: ClusterModel): Option[] {
  const { layout, archive } = model;
  const options: Option[] = [
    { key: "repo1-type", value: "s3" },
    { key: "repo1-s3-bucket", value: archive.bucket },
    {
      key: "repo1-s3-endpoint",
      value: layout.s3Endpoint,
      reason:
        "A DNS name: TLS verification of the S3 endpoint needs one (pgBackRest's S3 client speaks only TLS).",
    },
    { key: "repo1-storage-port", value: layout.s3Port },
    {
      key: "repo1-s3-region",
      value: archive.region,
      reason:
        archive.store === "local"
          ? "The local store ignores it, but it is signed into every request."
          : undefined,
    },
    {
      key: "repo1-s3-uri-style",
      value: archive.uriStyle,
      reason:
        archive.uriStyle === "path"
          ? "The local S3 store (SeaweedFS) serves buckets by path, not by virtual host."
          : undefined,
    },
    { key: "repo1-path", value: archive.path, reason: "This stack's repository inside the bucket." },
  ];
  if (layout.s3CaFile !== undefined) {
    options.push({
      key: "repo1-storage-ca-file",
      value: layout.s3CaFile,
      reason: "The stack's CA signs the S3 endpoint's certificate; verification stays on.",
    });
  }
  options.push({
    key: "repo1-s3-key-type",
    value: archive.keyType,
    reason:
      archive.keyType === "shared"
        ? "Static keys: repo1-s3-key and repo1-s3-key-secret come from the secret include file."
        : "Web identity (IRSA): temporary credentials from the service account token; no static keys exist.",
  });
  if (archive.keyType === "web-id" && pgbackrestHasStsHost()) {
    options.push({
      key: "repo1-s3-sts-host",
      value: `sts.${archive.region}.amazonaws.com`,
      reason:
        "The bucket's regional STS endpoint, reachable through an STS VPC endpoint, instead of the global " +
        "sts.amazonaws.com (pgBackRest's default), which a private cluster reaches only through a NAT gateway.",
    });
  }
  if (archive.encrypted) {
    options.push({
      key: "repo1-cipher-type",
      value: "aes-256-cbc",
      reason: "Encrypted before upload; repo1-cipher-pass comes from the secret include file.",
    });
  }
  options.push(
    ...(archive.retentionFull.type === "time"
      ? [
          {
            key: "repo1-retention-full",
            value: archive.retentionFull.days,
            reason:
              "The recovery window in days: a full backup is expired (with the WAL only it needs) once a newer " +
              "full is older than the window, so a point-in-time restore to any moment of the window stays " +
              "possible, however many extra backups were taken.",
          },
          { key: "repo1-retention-full-type", value: "time" },
        ]
      : [
          {
            key: "repo1-retention-full",
            value: archive.retentionFull.fulls,
            reason:
              "Full backups kept (pgstack:archiveRetentionFull); WAL older than the oldest kept backup is expired " +
              "with it. Each extra full backup shortens the recovery window.",
          },
          { key: "repo1-retention-full-type", value: "count" },
        ]),
    { key: "repo1-retention-diff", value: archive.retentionDiff },
  );
  return options;
}

function performanceOptions(model: ClusterModel): Option[] {
  const processes = processMax(model.resources.cpus);
  return [
    {
      key: "compress-type",
      value: "lz4",
      reason:
        "lz4: several times faster than gz and zst at a somewhat lower ratio; compression runs on the " +
        "primary, whose CPUs serve queries.",
    },
    {
      key: "process-max",
      value: processes,
      reason: `Half of the member's ${model.resources.cpus} CPU(s), at least 1, at most ${PROCESS_MAX_CAP}: backups and async pushes never starve queries.`,
    },
  ];
}

const PROCESS_MAX_CAP = 8;

/** Parallel compress/transfer processes for a member with `cpus` CPUs. */
export function processMax(cpus: number): number {
  return Math.min(PROCESS_MAX_CAP, Math.max(1, Math.floor(cpus / 2)));
}

/**
 * All addresses of the pod network's family. pgBackRest binds the first address getaddrinfo gives
 * for it: 0.0.0.0 is IPv4 only, so an IPv6 cluster's runner could never connect; "::" serves
 * IPv6 and (Linux's default, bindv6only=0) IPv4 too, but fails where the kernel has no IPv6.
 */
function anyAddress(model: ClusterModel): string {
  return model.network.clusterCidr.includes(":") ? "::" : "0.0.0.0";
}

/**
 * Without `delta`, a differential backup copies files whose size or timestamp changed, and
 * pgBackRest switches to comparing checksums by itself when it finds a reason to distrust
 * timestamps (a file dated in the future, a timeline switch, a changed online mode, timestamps
 * that went backwards between manifests). `delta=y` would read and checksum the whole volume on
 * every differential backup.
 */
function backupSection(): Section {
  return {
    name: "global:backup",
    options: [
      {
        key: "start-fast",
        value: "y",
        reason: "Checkpoint at once: a scheduled backup starts now, not at the next timed checkpoint.",
      },
    ],
  };
}

function localPostgresOptions(model: ClusterModel): Option[] {
  const { layout, postgres } = model;
  return [
    { key: "pg1-path", value: layout.dataDir },
    { key: "pg1-port", value: layout.port },
    {
      key: "pg1-socket-path",
      value: layout.socketDir,
      reason: `pgBackRest connects over the local socket as ${postgres.superuser} (peer): no password involved.`,
    },
    { key: "pg1-user", value: postgres.superuser },
  ];
}

function renderConfig(model: ClusterModel, what: string, sections: readonly Section[]): string {
  const secretKeys = pgbackrestSecretKeys(model);
  const lines = commentLines([
    ...generatedHeader(model, what),
    "",
    "No secrets live here. pgBackRest reads them from *.conf files in the include directory, a",
    `mount of a secret, named by --config-include-path on every command (pgBackRest accepts that`,
    "option only on the command line). The platforms write this file there:",
    `  ${PGBACKREST_SECRET_INCLUDE_FILE}:`,
    "    [global]",
    ...(secretKeys.length > 0
      ? secretKeys.map((key) => `    ${key}=<${SECRET_DESCRIPTIONS[key]}>`)
      : ["    (nothing)"]),
    "",
    "pgBackRest does not accept comments after a value: each reason sits on the line above.",
  ]);
  for (const section of sections) {
    lines.push("", `[${section.name}]`);
    for (const option of section.options) {
      const value = String(option.value);
      if (/[\r\n]/.test(value) || value === "") {
        throw new Error(
          `pgbackrest.conf: option ${option.key} must be one non-empty line, got ${JSON.stringify(value)}`,
        );
      }
      if (option.reason !== undefined) lines.push(`# ${option.reason}`);
      lines.push(`${option.key}=${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const SECRET_DESCRIPTIONS: Record<PgbackrestSecretKey, string> = {
  "repo1-cipher-pass": "repository encryption passphrase (secret repoCipherPass)",
  "repo1-s3-key": "S3 access key id (secret archiveAccessKeyId)",
  "repo1-s3-key-secret": "S3 secret access key (secret archiveSecretAccessKey)",
};

/**
 * repo-s3-sts-host exists from pgBackRest 2.59.0 (release notes: "Allow the S3 STS endpoint to be
 * configured", pgbackrest/pgbackrest#2798; src/build/help/help.xml of release/2.59.0). Older
 * versions hard-code sts.amazonaws.com and refuse the option.
 */
export function pgbackrestHasStsHost(version: string = PGBACKREST_VERSION): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 59);
}
