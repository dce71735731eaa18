import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { type RunnerDependencies, runnerPodTemplate } from "./runner-pod";

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
  deps: RunnerDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.Job {
  const name = `${spec.name}-stanza`;
  return new k8s.batch.v1.Job(
    name,
    {
      metadata: {
        name,
        namespace: deps.namespace,
        labels: recommendedLabels(spec, "backup"),
        // A Job that failed (S3 unreachable, a wrong role) stays failed: without this every later
        // `up` waits on it again and fails. With it, the next `up` replaces it and runs the check anew.
        annotations: { "pulumi.com/replaceUnready": "true" },
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: STANZA_JOB_DEADLINE_SECONDS,
        template: runnerPodTemplate(
          spec,
          deps,
          { name: "stanza-create", command: spec.commands.runnerStanzaCreate },
          { name: "check", command: spec.commands.runnerCheck },
        ),
      },
    },
    // Jobs are immutable: a changed template replaces it, creating the new one after the old is gone.
    { ...opts, deleteBeforeReplace: true },
  );
}
