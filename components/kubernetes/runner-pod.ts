import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { INIT_COMMAND } from "../render/commands";
import { PUSHGATEWAY_ENV } from "../render/job-report";
import type { ClusterSpec } from "../spec/cluster-spec";
import { guaranteed } from "./container-resources";
import { fileMounts } from "./file-mounts";
import { componentSelector, recommendedLabels } from "./labels";
import { type FileSources, podFiles } from "./pod-files";
import { containerSecurityContext, restrictedPodSpec } from "./pod-security";
import type { WebIdentity } from "./web-identity";

export interface RunnerDependencies {
  readonly namespace: pulumi.Input<string>;
  readonly serviceAccountName: pulumi.Input<string>;
  /** Runner files: ConfigMap, pgBackRest secrets, and the runner's client certificate Secret. */
  readonly sources: FileSources;
  /** IRSA: how the runner reaches S3 (web-id key type). */
  readonly webIdentity?: WebIdentity;
}

/** One step of a runner pod: a container name and the rendered command it runs. */
export interface RunnerStep {
  readonly name: string;
  readonly command: readonly string[];
}

/**
 * The pod template of the backup runner, the pgBackRest repository host: `first` runs as an init
 * container and `then` only after it succeeded, so a failure of either fails the pod (and its Job).
 * It reaches the primary only through its TLS server with the runner's client certificate: no
 * Kubernetes API token, no exec, no SSH. Its root filesystem is read-only; pgBackRest writes its
 * log and lock files to emptyDirs at the layout's paths.
 */
export function runnerPodTemplate(
  spec: ClusterSpec,
  deps: RunnerDependencies,
  first: RunnerStep,
  then: RunnerStep,
): k8s.types.input.core.v1.PodTemplateSpec {
  const mounted = fileMounts("runner-files", podFiles(spec, deps.sources).runner);
  const volumeMounts = [
    ...mounted.mounts,
    { name: "log", mountPath: spec.layout.runner.logPath },
    { name: "tmp", mountPath: "/tmp" },
    ...(deps.webIdentity ? [deps.webIdentity.mount] : []),
  ];
  const container = (step: RunnerStep): k8s.types.input.core.v1.Container => ({
    name: step.name,
    image: spec.postgres.image,
    imagePullPolicy: "IfNotPresent",
    // tini as PID 1: pgBackRest forks its own processes (process-max); an init reaps what they leave.
    command: [...INIT_COMMAND, ...step.command],
    resources: guaranteed(spec.resources.runner),
    securityContext: containerSecurityContext,
    env: [
      ...(deps.webIdentity ? deps.webIdentity.env : []),
      // The Pushgateway's address (no secret) for report-job.sh, with pgstack:monitoring.
      ...(spec.monitoring.enabled ? [{ name: PUSHGATEWAY_ENV, value: spec.monitoring.pushgatewayUrl }] : []),
    ],
    volumeMounts,
  });
  return {
    metadata: { labels: { ...recommendedLabels(spec, "backup"), ...componentSelector(spec, "backup") } },
    spec: {
      restartPolicy: "Never",
      ...restrictedPodSpec(deps.serviceAccountName),
      initContainers: [container(first)],
      containers: [container(then)],
      volumes: [
        ...mounted.volumes,
        { name: "log", emptyDir: { sizeLimit: "1Gi" } },
        { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
        ...(deps.webIdentity ? [deps.webIdentity.volume] : []),
      ],
    },
  };
}
