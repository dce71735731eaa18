import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { switchoverGateCommand } from "../render/switchover-gate";
import type { ClusterSpec } from "../spec/cluster-spec";
import { primaryMember } from "../spec/layout";
import { guaranteed } from "./container-resources";
import { fileMounts } from "./file-mounts";
import { componentSelector, recommendedLabels } from "./labels";
import { type FileSources, podFiles } from "./pod-files";
import { containerSecurityContext, restrictedPodSpec } from "./pod-security";

/** The gate's own checks take seconds; its wait for the target to catch up is bounded by the script. */
const GATE_DEADLINE_SECONDS = 300;

export interface SwitchoverGateDependencies {
  readonly namespace: pulumi.Input<string>;
  /** The members' service account: the gate talks to the members as they talk to each other. */
  readonly serviceAccountName: pulumi.Input<string>;
  /** The scripts' ConfigMap, the passwords Secret, and a member's TLS Secret (for its ca.crt only). */
  readonly sources: FileSources;
}

/**
 * The switchover gate (switchover-gate.sh) as a Job that every member StatefulSet depends on, so
 * Pulumi runs it, and waits for it to complete, before it changes any member; a refusal fails the
 * Job and `pulumi up` stops there, naming why, with nothing changed. Its pod carries the database
 * component's labels and no member or role label: the NetworkPolicy admits it to the members'
 * PostgreSQL port, and no Service selects it. The Job's template names the primary, so a change
 * of pgstack:primary (or pgstack:failover) replaces the Job and runs the gate again.
 */
export function switchoverGateJob(
  spec: ClusterSpec,
  deps: SwitchoverGateDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.Job {
  const name = `${spec.name}-switchover-gate`;
  const files = podFiles(spec, deps.sources);
  const mounted = fileMounts("gate-files", [
    {
      path: `${spec.layout.configDir}/switchover-gate.sh`,
      source: { configMap: deps.sources.files },
      key: "switchover-gate.sh",
    },
    ...files.replicationPassword,
    ...files.caOnly,
  ]);
  const primary = primaryMember(spec);
  return new k8s.batch.v1.Job(
    name,
    {
      metadata: {
        name,
        namespace: deps.namespace,
        labels: recommendedLabels(spec, "database"),
        annotations: {
          "pgstack.io/primary": primary.name,
          // A refused gate stays failed: the next `up` replaces it and checks again.
          "pulumi.com/replaceUnready": "true",
        },
      },
      spec: {
        // A refusal is an answer, not a flake: no retry.
        backoffLimit: 0,
        activeDeadlineSeconds: GATE_DEADLINE_SECONDS,
        template: {
          metadata: {
            labels: { ...recommendedLabels(spec, "database"), ...componentSelector(spec, "database") },
          },
          spec: {
            restartPolicy: "Never",
            ...restrictedPodSpec(deps.serviceAccountName),
            containers: [
              {
                name: "switchover-gate",
                image: spec.postgres.image,
                imagePullPolicy: "IfNotPresent",
                command: switchoverGateCommand(spec),
                resources: guaranteed(spec.resources.settingsReloader),
                securityContext: containerSecurityContext,
                volumeMounts: [...mounted.mounts, { name: "tmp", mountPath: "/tmp" }],
              },
            ],
            volumes: [...mounted.volumes, { name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
          },
        },
      },
    },
    // Jobs are immutable: a changed template replaces it, the old one deleted first (fixed name).
    { ...opts, deleteBeforeReplace: true },
  );
}

/**
 * During a failover (pgstack:failover) `pulumi up` does not wait for the members other than the
 * new primary: the lost one cannot become ready (its pod stays Pending while its volume is
 * unavailable; when the volume returns it starts fenced and rejoins by pg_rewind), and Pulumi
 * would otherwise fail the update after its 10-minute wait. The new primary is awaited as always.
 */
export function failoverAwait(
  spec: ClusterSpec,
  member: { readonly role: string },
): Record<string, string> | undefined {
  return spec.switchover.failover && member.role !== "primary"
    ? { "pulumi.com/skipAwait": "true" }
    : undefined;
}
