import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { PUSHGATEWAY_ENV } from "../render/job-report";
import { RUNNER_CLIENT_CN } from "../render/pgbackrest-conf";
import { shellCommand } from "../render/shell-quote";
import { VERIFY_FAILED_MARKER } from "../render/verify-repository";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import type { S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec } from "../spec/cluster-spec";
import { primaryHost } from "../spec/layout";
import type { StackCertificateAuthority } from "./certificates";
import { BACKUP_CRONTAB, POSTGRES_USER, runnerUploads } from "./config-files";
import { dockerLabels } from "./labels";
import { dockerCpus, goDuration } from "./provider-forms";
import { type ContainerLimits, logOptions, unprivileged } from "./runtime";
import { backupCrontab, RUNNER_READY_MARKER, runnerStartScript } from "./startup-commands";

/**
 * The runner holds no data and compresses nothing (pgBackRest compresses on the primary, which
 * sends the files): it needs little.
 */
export const RUNNER_LIMITS: ContainerLimits = { memoryMb: 512, cpus: dockerCpus(1) };

/**
 * Seconds `pulumi up` waits for the runner to prove the chain and, on a new repository, take and
 * verify the first full backup (seconds for a new dev database).
 */
export const RUNNER_WAIT_TIMEOUT_SECONDS = 600;

/**
 * The runner's healthcheck: its ready marker, no failed verify (verify-repository.sh's marker),
 * then a ping of the primary's pgBackRest TLS server.
 */
export function runnerHealthcheck(spec: ClusterSpec): string[] {
  const { layout } = spec;
  const ping = shellCommand([
    "pgbackrest",
    "server-ping",
    `--config=${layout.runner.configDir}/pgbackrest.conf`,
    `--tls-server-port=${layout.pgbackrestServerPort}`,
    "--io-timeout=5",
    "--log-level-file=off",
    primaryHost(spec),
  ]);
  return [
    "CMD",
    "sh",
    "-c",
    `test -f ${shellCommand([RUNNER_READY_MARKER])} && test ! -e ${shellCommand([VERIFY_FAILED_MARKER])} && exec ${ping}`,
  ];
}

/** Seconds Docker lets a running backup finish after `docker stop` (supercronic waits for its jobs). */
const RUNNER_STOP_TIMEOUT_SECONDS = 300;

export interface BackupRunnerArgs {
  readonly spec: ClusterSpec;
  readonly image: pulumi.Input<string>;
  readonly network: docker.Network;
  readonly secrets: ClusterSecretValues;
  readonly s3: S3Credentials | undefined;
  /** The restore drill's S3 keys (read-only with the local store). */
  readonly drillS3: S3Credentials | undefined;
  readonly ca: StackCertificateAuthority;
  /** The primary: the runner starts once it is healthy. */
  readonly primary: docker.Container;
}

/**
 * The backup runner: pgBackRest's repository host. It reaches the primary through the pgBackRest
 * TLS server there with a client certificate of the stack's CA (CN RUNNER_CLIENT_CN, the only one
 * `tls-server-auth` admits), and runs the full and differential backups, each followed by verify,
 * on `spec.archive.schedules`, and the restore drill on `spec.archive.drillSchedule`, with
 * supercronic (see image/Dockerfile for why that scheduler). The drill restores into a scratch
 * directory of this container (no member volume is mounted here) with its own read-only keys.
 */
export function backupRunner(
  resourceName: string,
  args: BackupRunnerArgs,
  parent: pulumi.Resource,
): docker.Container {
  const { spec } = args;
  const { layout } = spec;
  const certificate = args.ca.issueClient("runner", RUNNER_CLIENT_CN);
  const crontabPath = `${layout.configDir}/${BACKUP_CRONTAB}`;
  const name = `${spec.name}-backup-runner`;
  return new docker.Container(
    resourceName,
    {
      name,
      hostname: name,
      image: args.image,
      user: POSTGRES_USER,
      command: ["sh", "-c", runnerStartScript(spec, crontabPath)],
      // The Pushgateway's address (no secret) for report-job.sh, with pgstack:monitoring.
      envs: [
        "TZ=UTC",
        ...(spec.monitoring.enabled ? [`${PUSHGATEWAY_ENV}=${spec.monitoring.pushgatewayUrl}`] : []),
      ],
      uploads: runnerUploads(
        spec,
        args.secrets,
        { runner: args.s3, drill: args.drillS3 },
        certificate,
        args.ca.certPem,
        backupCrontab(spec),
      ),
      networksAdvanced: [{ name: args.network.name }],
      healthcheck: {
        // Ready (the marker: stanza, check and a first backup done) and the primary's TLS server
        // alive: no WAL switch, no S3 request, no log file per probe. Backup results are in the
        // job log (`docker logs`).
        tests: runnerHealthcheck(spec),
        interval: goDuration(30),
        timeout: goDuration(10),
        retries: 3,
        // Covers the first start: stanza-create, check, the first full backup and its verify.
        startPeriod: goDuration(RUNNER_WAIT_TIMEOUT_SECONDS),
      },
      memory: RUNNER_LIMITS.memoryMb,
      memorySwap: RUNNER_LIMITS.memoryMb,
      memoryReservation: RUNNER_LIMITS.memoryMb,
      cpus: RUNNER_LIMITS.cpus,
      restart: "unless-stopped",
      init: true,
      stopTimeout: RUNNER_STOP_TIMEOUT_SECONDS,
      destroyGraceSeconds: RUNNER_STOP_TIMEOUT_SECONDS,
      ...unprivileged(),
      ...logOptions(),
      // `pulumi up` fails unless the runner turns healthy: archiving and backups proven, as prod's stanza Job does.
      wait: true,
      waitTimeout: RUNNER_WAIT_TIMEOUT_SECONDS,
      labels: dockerLabels(spec, "backup-runner"),
    },
    { parent, dependsOn: [args.primary], deleteBeforeReplace: true, additionalSecretOutputs: ["uploads"] },
  );
}
