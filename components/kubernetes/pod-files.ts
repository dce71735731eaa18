import type * as pulumi from "@pulumi/pulumi";
import { reportCertificatesScriptPath } from "../render/certificate-report";
import { PGBACKREST_SECRET_INCLUDE_FILE, PGBACKREST_TLS_FILES } from "../render/pgbackrest-conf";
import { SECRET_FILES } from "../render/secret-files";
import { reportJobScriptPath } from "../render/verify-repository";
import type { ClusterSpec, RenderedFiles } from "../spec/cluster-spec";
import { REPORT_CERTIFICATES_SCRIPT, REPORT_JOB_SCRIPT, SETTINGS_FILES } from "./config-maps";
import type { MountedFile } from "./file-mounts";

/** Private keys: 0600 before fsGroup (0640 root:postgres after), which PostgreSQL and pgBackRest accept. */
const KEY_MODE = 0o600;

/** Names of the ConfigMap and Secrets the pods read their files from. */
export interface FileSources {
  /** The rendered scripts (immutable ConfigMap named by its content). */
  readonly files: pulumi.Input<string>;
  /** postgresql.conf and pg_hba.conf (a ConfigMap updated in place; a change is reloaded). */
  readonly settings: pulumi.Input<string>;
  readonly passwords: pulumi.Input<string>;
  readonly pgbackrest: pulumi.Input<string>;
  /** kubernetes.io/tls Secret: tls.crt, tls.key, ca.crt. */
  readonly tls: pulumi.Input<string>;
}

/**
 * The restore drill's files: its pgBackRest config and include file (its own Secret: the cipher
 * pass and, with static keys, its read-only keys), its script, and report-job.sh. Nothing of the
 * runner's (no client certificate: the drill reaches no member) and no member file.
 */
export function drillFiles(
  spec: ClusterSpec,
  sources: { readonly files: pulumi.Input<string>; readonly drillPgbackrest: pulumi.Input<string> },
): MountedFile[] {
  const { layout } = spec;
  const script = (key: string): MountedFile => ({
    path: `${layout.configDir}/${key}`,
    source: { configMap: sources.files },
    key,
  });
  return [
    {
      path: `${layout.drill.configDir}/pgbackrest.conf`,
      source: { configMap: sources.files },
      key: "pgbackrest-drill.conf",
    },
    {
      path: `${layout.drill.includeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
      source: { secret: sources.drillPgbackrest },
      key: PGBACKREST_SECRET_INCLUDE_FILE,
    },
    script("restore-drill.sh"),
    ...(spec.monitoring.enabled ? [script(REPORT_JOB_SCRIPT)] : []),
  ];
}

/**
 * The files each kind of container sees, at the paths of spec.layout and under the names the
 * rendered configs and commands use. Each container gets only the groups it needs.
 */
export function podFiles(spec: ClusterSpec, sources: FileSources) {
  const { layout } = spec;
  const rendered = (name: keyof RenderedFiles, path: string): MountedFile => ({
    path,
    source: {
      configMap: (SETTINGS_FILES as readonly string[]).includes(name) ? sources.settings : sources.files,
    },
    key: name,
  });
  const tls = (key: "tls.crt" | "tls.key" | "ca.crt", path: string): MountedFile => ({
    path,
    source: { secret: sources.tls },
    key,
    mode: key === "tls.key" ? KEY_MODE : undefined,
  });
  const password = (file: string): MountedFile => ({
    path: `${layout.secretsDir}/${file}`,
    source: { secret: sources.passwords },
    key: file,
  });
  return {
    /** postgresql.conf, pg_hba.conf and the scripts, in the config directory. */
    config: (
      [
        "postgresql.conf",
        "pg_hba.conf",
        "pg_ident.conf",
        "check-data-dir.sh",
        "init-roles.sh",
        "bootstrap-replica.sh",
        "hot-standby-order.sh",
        "start-member.sh",
        "switchover-check.sh",
      ] as const
    ).map((name) => rendered(name, `${layout.configDir}/${name}`)),
    memberTls: [
      tls("tls.crt", `${layout.tlsDir}/${PGBACKREST_TLS_FILES.serverCert}`),
      tls("tls.key", `${layout.tlsDir}/${PGBACKREST_TLS_FILES.serverKey}`),
      tls("ca.crt", `${layout.tlsDir}/${PGBACKREST_TLS_FILES.ca}`),
    ],
    caOnly: [tls("ca.crt", `${layout.tlsDir}/${PGBACKREST_TLS_FILES.ca}`)],
    passwords: [
      password(SECRET_FILES.superuserPassword),
      password(SECRET_FILES.replicationPassword),
      password(SECRET_FILES.appPassword),
    ],
    replicationPassword: [password(SECRET_FILES.replicationPassword)],
    memberPgbackrest: [
      rendered("pgbackrest.conf", `${layout.pgbackrestConfigDir}/pgbackrest.conf`),
      {
        path: `${layout.pgbackrestIncludeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
        source: { secret: sources.pgbackrest },
        key: PGBACKREST_SECRET_INCLUDE_FILE,
      } satisfies MountedFile,
    ],
    runner: [
      // The runner's commands read `<runner.configDir>/pgbackrest.conf`.
      rendered("pgbackrest-runner.conf", `${layout.runner.configDir}/pgbackrest.conf`),
      {
        path: `${layout.runner.includeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
        source: { secret: sources.pgbackrest },
        key: PGBACKREST_SECRET_INCLUDE_FILE,
      } satisfies MountedFile,
      tls("tls.crt", `${layout.runner.tlsDir}/${PGBACKREST_TLS_FILES.runnerCert}`),
      tls("tls.key", `${layout.runner.tlsDir}/${PGBACKREST_TLS_FILES.runnerKey}`),
      tls("ca.crt", `${layout.runner.tlsDir}/${PGBACKREST_TLS_FILES.ca}`),
      rendered("verify-repository.sh", `${layout.configDir}/verify-repository.sh`),
      ...(spec.monitoring.enabled
        ? [{ path: reportJobScriptPath(spec), source: { configMap: sources.files }, key: REPORT_JOB_SCRIPT }]
        : []),
      ...(spec.monitoring.enabled && spec.tls
        ? [
            {
              path: reportCertificatesScriptPath(spec),
              source: { configMap: sources.files },
              key: REPORT_CERTIFICATES_SCRIPT,
            },
          ]
        : []),
    ],
  };
}
