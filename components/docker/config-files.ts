import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { reportCertificatesScriptPath } from "../render/certificate-report";
import { PGBACKREST_SECRET_INCLUDE_FILE, PGBACKREST_TLS_FILES } from "../render/pgbackrest-conf";
import { SECRET_FILES } from "../render/secret-files";
import { reportJobScriptPath } from "../render/verify-repository";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import { pgbackrestSecretInclude, type S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec, RenderedFiles } from "../spec/cluster-spec";
import type { IssuedCertificate } from "./certificates";

/**
 * How rendered files and secrets reach the containers: Docker `uploads`, copied into the
 * container before it first starts.
 *
 * An upload is not read-only by itself, so ownership makes it so. Configuration and scripts are
 * owned by root, mode 0444/0555, in directories Docker creates root-owned 0755; every pgstack
 * container runs as the postgres user (uid 999 of the official image) with all capabilities
 * dropped and no-new-privileges, so nothing inside can write, replace or chmod them. Secrets are
 * owned by postgres, mode 0400: PostgreSQL, pgBackRest and libpq refuse keys and passfiles that
 * others can read. Bind mounts would need files on the host (secrets on the developer's disk,
 * outside Pulumi's encrypted state), and a volume filled once would go stale when the config
 * changes; an upload is replaced with the container on every change of content.
 */
export type Upload = docker.types.input.ContainerUpload;

/** uid/gid of `postgres` in the official PostgreSQL image (Debian variant). */
export const POSTGRES_UID = "999";
export const ROOT_UID = "0";
/** The user every pgstack container runs as (uid:gid, so no lookup can pick another group). */
export const POSTGRES_USER = `${POSTGRES_UID}:${POSTGRES_UID}`;

const READ_ONLY_FILE = "0444";
const READ_ONLY_SCRIPT = "0555";
const SECRET_FILE = "0400";

/** File name of the backup schedule (supercronic crontab) in the runner's config directory. */
export const BACKUP_CRONTAB = "backup.crontab";

/** A configuration file uploaded root-owned and read-only (0444, or 0555 for a script). */
export function configFile(file: string, content: pulumi.Input<string>, mode = READ_ONLY_FILE): Upload {
  return { file, content, owner: ROOT_UID, group: ROOT_UID, permissions: mode };
}

function secretFile(file: string, content: pulumi.Input<string>, uid = POSTGRES_UID): Upload {
  return { file, content: pulumi.secret(content), owner: uid, group: uid, permissions: SECRET_FILE };
}

/** The rendered files a database member reads, at the paths the rendered commands name. */
export function memberConfigUploads(spec: ClusterSpec): Upload[] {
  const { layout, files } = spec;
  const inConfigDir = (name: keyof RenderedFiles, mode = READ_ONLY_FILE) =>
    configFile(`${layout.configDir}/${name}`, files[name], mode);
  const uploads = [
    inConfigDir("postgresql.conf"),
    inConfigDir("pg_hba.conf"),
    inConfigDir("pg_ident.conf"),
    inConfigDir("check-data-dir.sh", READ_ONLY_SCRIPT),
    inConfigDir("init-roles.sh", READ_ONLY_SCRIPT),
    inConfigDir("bootstrap-replica.sh", READ_ONLY_SCRIPT),
    inConfigDir("hot-standby-order.sh", READ_ONLY_SCRIPT),
    inConfigDir("start-member.sh", READ_ONLY_SCRIPT),
    inConfigDir("switchover-check.sh", READ_ONLY_SCRIPT),
    configFile(`${layout.pgbackrestConfigDir}/pgbackrest.conf`, files["pgbackrest.conf"]),
  ];
  return uploads;
}

/**
 * Password files (SECRET_FILES) and the pgBackRest include file (cipher pass, S3 keys) of a
 * member. Replicas get every password too: a promoted replica must be able to serve.
 */
export function memberSecretUploads(
  spec: ClusterSpec,
  secrets: ClusterSecretValues,
  s3: S3Credentials | undefined,
): Upload[] {
  const { layout } = spec;
  return [
    secretFile(`${layout.secretsDir}/${SECRET_FILES.superuserPassword}`, secrets.superuserPassword),
    secretFile(`${layout.secretsDir}/${SECRET_FILES.replicationPassword}`, secrets.replicationPassword),
    secretFile(`${layout.secretsDir}/${SECRET_FILES.appPassword}`, secrets.appPassword),
    secretFile(
      `${layout.pgbackrestIncludeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
      pgbackrestSecretInclude(spec, secrets.repoCipherPass, s3),
    ),
  ];
}

/** The member's certificate (its host name in the SAN), key and the stack CA, in `layout.tlsDir`. */
export function memberTlsUploads(
  spec: ClusterSpec,
  certificate: IssuedCertificate,
  caPem: pulumi.Input<string>,
): Upload[] {
  const dir = spec.layout.tlsDir;
  return [
    configFile(`${dir}/${PGBACKREST_TLS_FILES.serverCert}`, certificate.certPem),
    secretFile(`${dir}/${PGBACKREST_TLS_FILES.serverKey}`, certificate.keyPem),
    configFile(`${dir}/${PGBACKREST_TLS_FILES.ca}`, caPem),
  ];
}

/**
 * The backup runner's config, secrets, client certificate and schedule, and the restore drill's
 * config, script and secret include file (the cipher pass and the drill's own S3 keys).
 */
export function runnerUploads(
  spec: ClusterSpec,
  secrets: ClusterSecretValues,
  s3: { readonly runner: S3Credentials | undefined; readonly drill: S3Credentials | undefined },
  certificate: IssuedCertificate,
  caPem: pulumi.Input<string>,
  crontab: string,
): Upload[] {
  const { runner, drill } = spec.layout;
  return [
    configFile(`${runner.configDir}/pgbackrest.conf`, spec.files["pgbackrest-runner.conf"]),
    configFile(`${spec.layout.configDir}/${BACKUP_CRONTAB}`, crontab),
    configFile(
      `${spec.layout.configDir}/verify-repository.sh`,
      spec.files["verify-repository.sh"],
      READ_ONLY_SCRIPT,
    ),
    ...(spec.monitoring.enabled
      ? [configFile(reportJobScriptPath(spec), spec.monitoringFiles["report-job.sh"], READ_ONLY_SCRIPT)]
      : []),
    ...(spec.monitoring.enabled && spec.tls
      ? [
          configFile(
            reportCertificatesScriptPath(spec),
            spec.monitoringFiles["report-certificates.sh"],
            READ_ONLY_SCRIPT,
          ),
        ]
      : []),
    secretFile(
      `${runner.includeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
      pgbackrestSecretInclude(spec, secrets.repoCipherPass, s3.runner),
    ),
    configFile(`${drill.configDir}/pgbackrest.conf`, spec.files["pgbackrest-drill.conf"]),
    configFile(`${spec.layout.configDir}/restore-drill.sh`, spec.files["restore-drill.sh"], READ_ONLY_SCRIPT),
    secretFile(
      `${drill.includeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
      pgbackrestSecretInclude(spec, secrets.repoCipherPass, s3.drill),
    ),
    configFile(`${runner.tlsDir}/${PGBACKREST_TLS_FILES.runnerCert}`, certificate.certPem),
    secretFile(`${runner.tlsDir}/${PGBACKREST_TLS_FILES.runnerKey}`, certificate.keyPem),
    configFile(`${runner.tlsDir}/${PGBACKREST_TLS_FILES.ca}`, caPem),
  ];
}

/** A root-owned read-only file, for containers of other images (the S3 store). */
export function rootConfigFile(file: string, content: pulumi.Input<string>): Upload {
  return configFile(file, content);
}

/** A 0400 secret file owned by `uid`, for containers of other images that run as that user. */
export function secretFileOwnedBy(file: string, content: pulumi.Input<string>, uid: string): Upload {
  return secretFile(file, content, uid);
}
