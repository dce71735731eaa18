import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { reportCertificatesScriptPath } from "../render/certificate-report";
import { shellCommand } from "../render/shell-quote";
import { reportJobScriptPath } from "../render/verify-repository";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { objectNames } from "./names";
import { type RunnerDependencies, runnerPodTemplate } from "./runner-pod";

/** A run that has not started within an hour of its time (controller down) is skipped, not piled up. */
export const STARTING_DEADLINE_SECONDS = 3600;
/**
 * Retries of a failed backup; pgBackRest resumes an interrupted backup where it can. A failed
 * verify is never retried (VERIFY_FAILS_JOB): a retry would take the backup again, and with
 * count-based retention extra fulls expire older ones and shrink the recovery window.
 */
export const BACKOFF_LIMIT = 2;

/** Name of the runner pod's container that runs verify-repository.sh after the backup. */
export const VERIFY_CONTAINER = "verify";

/**
 * A verify container that exits non-zero fails the Job at once, without another backup
 * (batch/v1 podFailurePolicy, beta and on by default since Kubernetes 1.26, GA in 1.31; needs
 * restartPolicy Never; `containerName` may name an app or init container, and exit code 0 is
 * never matched: API reference of PodFailurePolicyOnExitCodesRequirement, and kubernetes/website
 * examples/controllers/job-pod-failure-policy-example.yaml).
 */
export const VERIFY_FAILS_JOB = {
  rules: [
    {
      action: "FailJob",
      onExitCodes: { containerName: VERIFY_CONTAINER, operator: "NotIn", values: [0] },
    },
  ],
};
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
 * (init container; a success is pushed with report-job.sh) and then runs verify-repository.sh
 * (main container), which fails naming the damaged backups and files: that fails the Job (with
 * no retry, so no second backup), so a damaged repository is noticed when it happens, not at
 * restore time.
 */
/**
 * The backup, then (with pgstack:monitoring) its success pushed with report-job.sh. A failed push
 * is logged and never fails the backup; a failed backup pushes nothing (the age alerts report it).
 */
export function reportedBackup(
  spec: ClusterSpec,
  kind: "full" | "diff",
  backup: readonly string[],
): string[] {
  if (!spec.monitoring.enabled) return [...backup];
  const report = shellCommand(["sh", reportJobScriptPath(spec), `backup-${kind}`, "ok"]);
  // With pgstack:tls, then the certificates' expiry (report-certificates.sh); never fails the backup.
  const certificates = spec.tls
    ? ` && { ${shellCommand(["sh", reportCertificatesScriptPath(spec)])} || true; }`
    : "";
  return ["sh", "-c", `${shellCommand(backup)} && { ${report} || true; }${certificates}`];
}

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
              podFailurePolicy: VERIFY_FAILS_JOB,
              activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS[kind],
              template: runnerPodTemplate(
                spec,
                deps,
                { name: `backup-${kind}`, command: reportedBackup(spec, kind, backup) },
                { name: VERIFY_CONTAINER, command: commands.verifyRepository },
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
