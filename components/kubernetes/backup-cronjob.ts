import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { objectNames } from "./names";
import { type RunnerDependencies, runnerPodTemplate } from "./runner-pod";

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

/**
 * The scheduled backups: full and differential CronJobs of the backup runner, a pgBackRest
 * repository host that reaches the primary only through its TLS server with the runner's
 * client certificate (no pods/exec, no SSH, no Kubernetes API access). Each run backs up
 * (init container) and then verifies the repository (main container): a verify failure fails
 * the Job, so a damaged repository is noticed when it happens, not at restore time.
 */
export function backupCronJobs(
  spec: ClusterSpec,
  deps: RunnerDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.CronJob[] {
  const names = objectNames(spec);
  const { commands } = spec;

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
              template: runnerPodTemplate(
                spec,
                deps,
                { name: `backup-${kind}`, command: backup },
                { name: "verify", command: commands.runnerVerify },
              ),
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
