import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { fileMounts } from "./file-mounts";
import { componentSelector, recommendedLabels } from "./labels";
import { objectNames } from "./names";
import { type FileSources, podFiles } from "./pod-files";
import { containerSecurityContext, podSecurityContext } from "./pod-security";

/** A run that has not started within an hour of its time (controller down) is skipped, not piled up. */
export const STARTING_DEADLINE_SECONDS = 3600;
/** Retries of a failed run; pgBackRest resumes an interrupted backup where it can. */
export const BACKOFF_LIMIT = 2;
/**
 * Longest a run may take. A full backup of a large volume takes hours; a run still going after
 * this is stuck (S3 or the primary unreachable), and the failed Job is what alerts on it.
 */
export const ACTIVE_DEADLINE_SECONDS = { full: 20 * 3600, diff: 8 * 3600 } as const;
export const HISTORY_LIMITS = { successful: 3, failed: 5 } as const;

/** The runner holds no data: pgBackRest compresses on the primary and streams to S3. */
const RUNNER_RESOURCES = {
  requests: { cpu: "250m", memory: "256Mi" },
  limits: { cpu: "1", memory: "1Gi" },
};

export interface BackupDependencies {
  readonly namespace: pulumi.Input<string>;
  readonly serviceAccountName: pulumi.Input<string>;
  /** Runner files: ConfigMap, pgBackRest secrets, and the runner's client certificate Secret. */
  readonly sources: FileSources;
}

/**
 * The scheduled backups: full and differential CronJobs of the backup runner, a pgBackRest
 * repository host that reaches the primary only through its TLS server with the runner's
 * client certificate (no pods/exec, no SSH, no Kubernetes API access). Each run backs up
 * (init container) and then verifies the repository (main container): a verify failure fails
 * the Job, so a damaged repository is noticed when it happens, not at restore time.
 */
export function backupCronJobs(
  spec: ClusterSpec,
  deps: BackupDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.CronJob[] {
  const names = objectNames(spec);
  const { layout, commands } = spec;
  const mounted = fileMounts("runner-files", podFiles(spec, deps.sources).runner);
  const volumes = [
    ...mounted.volumes,
    { name: "log", emptyDir: { sizeLimit: "1Gi" } },
    { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
  ];
  const volumeMounts = [
    ...mounted.mounts,
    { name: "log", mountPath: layout.runner.logPath },
    { name: "tmp", mountPath: "/tmp" },
  ];
  const step = (name: string, command: readonly string[]): k8s.types.input.core.v1.Container => ({
    name,
    image: spec.postgres.image,
    imagePullPolicy: "IfNotPresent",
    command: [...command],
    resources: RUNNER_RESOURCES,
    securityContext: containerSecurityContext,
    volumeMounts,
  });

  const cronJob = (name: string, kind: "full" | "diff", backup: readonly string[]) =>
    new k8s.batch.v1.CronJob(
      name,
      {
        metadata: { name, namespace: deps.namespace, labels: recommendedLabels(spec, "backup") },
        spec: {
          schedule: spec.archive.schedules[kind],
          // The schedules in stack config are UTC; a node's or controller's local zone never shifts them.
          timeZone: "Etc/UTC",
          // One run at a time per schedule; across the two, pgBackRest's backup lock on the primary refuses the second.
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
          successfulJobsHistoryLimit: HISTORY_LIMITS.successful,
          failedJobsHistoryLimit: HISTORY_LIMITS.failed,
          jobTemplate: {
            metadata: { labels: recommendedLabels(spec, "backup") },
            spec: {
              backoffLimit: BACKOFF_LIMIT,
              activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS[kind],
              template: {
                metadata: {
                  labels: { ...recommendedLabels(spec, "backup"), ...componentSelector(spec, "backup") },
                },
                spec: {
                  restartPolicy: "Never",
                  serviceAccountName: deps.serviceAccountName,
                  automountServiceAccountToken: false,
                  enableServiceLinks: false,
                  securityContext: podSecurityContext,
                  initContainers: [step(`backup-${kind}`, backup)],
                  containers: [step("verify", commands.runnerVerify)],
                  volumes,
                },
              },
            },
          },
        },
      },
      opts,
    );

  return [
    cronJob(names.backupFull, "full", commands.runnerBackupFull),
    cronJob(names.backupDiff, "diff", commands.runnerBackupDiff),
  ];
}
