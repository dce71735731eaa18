import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { INIT_COMMAND } from "../render/commands";
import { PUSHGATEWAY_ENV } from "../render/job-report";
import type { ClusterSpec } from "../spec/cluster-spec";
import { formatQuantity } from "../spec/units";
import { HISTORY_LIMITS, STARTING_DEADLINE_SECONDS } from "./backup-cronjob";
import { guaranteed } from "./container-resources";
import { fileMounts } from "./file-mounts";
import { componentSelector, recommendedLabels } from "./labels";
import { objectNames } from "./names";
import { drillFiles } from "./pod-files";
import { containerSecurityContext, restrictedPodSpec } from "./pod-security";
import type { WebIdentity } from "./web-identity";

/** Name of the drill pod's one container. */
export const DRILL_CONTAINER = "restore-drill";
/** Name of the drill's scratch volume (a generic ephemeral volume), mounted at layout.drill.scratchDir. */
export const DRILL_SCRATCH_VOLUME = "scratch";

/**
 * Longest a drill may run: a restore and a replay of a large database take hours; one still
 * running after this is stuck, and its failed Job is what alerts on it.
 */
export const DRILL_ACTIVE_DEADLINE_SECONDS = 12 * 3600;

export interface RestoreDrillDependencies {
  readonly namespace: pulumi.Input<string>;
  /** The drill's own service account (IRSA to its read-only role). */
  readonly serviceAccountName: pulumi.Input<string>;
  /** The scripts' ConfigMap and the drill's pgBackRest include Secret. */
  readonly sources: { readonly files: pulumi.Input<string>; readonly drillPgbackrest: pulumi.Input<string> };
  readonly webIdentity?: WebIdentity;
}

/**
 * The scheduled restore drill: a CronJob of its own (spec.archive.drillSchedule) running
 * restore-drill.sh in a pod that holds no member volume, no client certificate and no Kubernetes
 * API token, reaching only DNS and S3 (network policy restore-drill), as a service account whose
 * IAM role can only list and read the repository. It restores into a generic ephemeral volume at
 * layout.drill.scratchDir: a claim of its own on the stack's StorageClass, sized like a member's
 * volume (the copy can grow as large as the database), made for the pod and deleted with it. Not
 * an emptyDir: node-local disk of the database's size is rarely there, and an emptyDir over its
 * sizeLimit gets the pod evicted. The script also empties it itself before it ends.
 *
 * No retry (backoffLimit 0): a failed drill is reported and looked at, not repeated; one drill at
 * a time (Forbid). Requests equal limits, the restricted security context of every pod.
 */
export function restoreDrillCronJob(
  spec: ClusterSpec,
  deps: RestoreDrillDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.CronJob {
  const names = objectNames(spec);
  const mounted = fileMounts("drill-files", drillFiles(spec, deps.sources));
  const scratchSize = formatQuantity(spec.resources.storageBytes);
  const container: k8s.types.input.core.v1.Container = {
    name: DRILL_CONTAINER,
    image: spec.postgres.image,
    imagePullPolicy: "IfNotPresent",
    // tini as PID 1: the script starts PostgreSQL and pgBackRest forks workers; an init reaps them.
    command: [...INIT_COMMAND, ...spec.commands.restoreDrill],
    resources: guaranteed(spec.resources.drill),
    securityContext: containerSecurityContext,
    env: [
      ...(deps.webIdentity ? deps.webIdentity.env : []),
      ...(spec.monitoring.enabled ? [{ name: PUSHGATEWAY_ENV, value: spec.monitoring.pushgatewayUrl }] : []),
    ],
    volumeMounts: [
      ...mounted.mounts,
      { name: DRILL_SCRATCH_VOLUME, mountPath: spec.layout.drill.scratchDir },
      { name: "tmp", mountPath: "/tmp" },
      ...(deps.webIdentity ? [deps.webIdentity.mount] : []),
    ],
  };
  return new k8s.batch.v1.CronJob(
    names.restoreDrill,
    {
      metadata: {
        name: names.restoreDrill,
        namespace: deps.namespace,
        labels: recommendedLabels(spec, "restore-drill"),
      },
      spec: {
        schedule: spec.archive.drillSchedule,
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
        successfulJobsHistoryLimit: HISTORY_LIMITS.successful,
        failedJobsHistoryLimit: HISTORY_LIMITS.failed,
        jobTemplate: {
          metadata: { labels: recommendedLabels(spec, "restore-drill") },
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: DRILL_ACTIVE_DEADLINE_SECONDS,
            template: {
              metadata: {
                labels: {
                  ...recommendedLabels(spec, "restore-drill"),
                  ...componentSelector(spec, "restore-drill"),
                },
              },
              spec: {
                restartPolicy: "Never",
                ...restrictedPodSpec(deps.serviceAccountName),
                containers: [container],
                volumes: [
                  ...mounted.volumes,
                  // A claim made for this pod and deleted with it: never a member's volume.
                  {
                    name: DRILL_SCRATCH_VOLUME,
                    ephemeral: {
                      volumeClaimTemplate: {
                        metadata: { labels: recommendedLabels(spec, "restore-drill") },
                        spec: {
                          accessModes: ["ReadWriteOnce"],
                          ...(spec.resources.storageClass !== undefined
                            ? { storageClassName: spec.resources.storageClass }
                            : {}),
                          resources: { requests: { storage: scratchSize } },
                        },
                      },
                    },
                  },
                  { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                  ...(deps.webIdentity ? [deps.webIdentity.volume] : []),
                ],
              },
            },
          },
        },
      },
    },
    opts,
  );
}
