import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import type { BackupDependencies } from "./backup-cronjob";
import { fileMounts } from "./file-mounts";
import { componentSelector, recommendedLabels } from "./labels";
import { podFiles } from "./pod-files";
import { containerSecurityContext, podSecurityContext } from "./pod-security";

/** Ten minutes: stanza-create and check take seconds; check waits for one WAL segment to be archived. */
const STANZA_JOB_DEADLINE_SECONDS = 600;

/**
 * Runs once the primary is ready, as the backup runner: `stanza-create` (idempotent: on an
 * existing, matching stanza it changes nothing), then `check`, which proves the whole chain
 * (runner → TLS server → PostgreSQL → archive_command → S3). Pulumi waits for the Job, so
 * `pulumi up` fails, naming the step, when archiving does not work, instead of WAL silently
 * piling up on the primary's volume. A new Job (a changed image or config) runs it again.
 */
export function stanzaJob(
  spec: ClusterSpec,
  deps: BackupDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.Job {
  const name = `${spec.name}-stanza`;
  const mounted = fileMounts("runner-files", podFiles(spec, deps.sources).runner);
  const volumeMounts = [
    ...mounted.mounts,
    { name: "log", mountPath: spec.layout.runner.logPath },
    { name: "tmp", mountPath: "/tmp" },
  ];
  const step = (stepName: string, command: readonly string[]): k8s.types.input.core.v1.Container => ({
    name: stepName,
    image: spec.postgres.image,
    imagePullPolicy: "IfNotPresent",
    command: [...command],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    securityContext: containerSecurityContext,
    volumeMounts,
  });
  return new k8s.batch.v1.Job(
    name,
    {
      metadata: { name, namespace: deps.namespace, labels: recommendedLabels(spec, "backup") },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: STANZA_JOB_DEADLINE_SECONDS,
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
            initContainers: [step("stanza-create", spec.commands.runnerStanzaCreate)],
            containers: [step("check", spec.commands.runnerCheck)],
            volumes: [
              ...mounted.volumes,
              { name: "log", emptyDir: { sizeLimit: "256Mi" } },
              { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ],
          },
        },
      },
    },
    // Jobs are immutable: a changed template replaces it, creating the new one after the old is gone.
    { ...opts, deleteBeforeReplace: true },
  );
}
