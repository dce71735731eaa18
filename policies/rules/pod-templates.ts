import { type Json, list, record, text } from "./policy-kit";

/** Kubernetes workload types and where each keeps its pod template. */
export const K8S = {
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  deployment: "kubernetes:apps/v1:Deployment",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  pod: "kubernetes:core/v1:Pod",
  service: "kubernetes:core/v1:Service",
  namespace: "kubernetes:core/v1:Namespace",
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  pv: "kubernetes:core/v1:PersistentVolume",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
} as const;

/** Workloads that run until stopped: they need probes. */
export const LONG_RUNNING = [K8S.statefulSet, K8S.deployment, K8S.daemonSet, K8S.replicaSet];
/** Everything that carries a pod spec. */
export const POD_CARRIERS = [...LONG_RUNNING, K8S.job, K8S.cronJob, K8S.pod];

/** The pod template (metadata + spec) of a workload's props, or undefined for other types. */
export function podTemplateOf(type: string, props: Json): { metadata: Json; spec: Json } | undefined {
  const spec = record(props.spec);
  if (type === K8S.pod) return { metadata: record(props.metadata) ?? {}, spec: spec ?? {} };
  const template =
    type === K8S.cronJob
      ? record(record(record(record(spec?.jobTemplate)?.spec)?.template))
      : POD_CARRIERS.includes(type as (typeof POD_CARRIERS)[number])
        ? record(spec?.template)
        : undefined;
  if (template === undefined) return undefined;
  return { metadata: record(template.metadata) ?? {}, spec: record(template.spec) ?? {} };
}

export interface ContainerRef {
  readonly container: Json;
  readonly name: string;
  readonly init: boolean;
}

/** Containers and init containers of a pod spec. */
export function containersOf(podSpec: Json): ContainerRef[] {
  const refs = (key: string, init: boolean) =>
    list(podSpec[key]).map((c, i) => {
      const container = record(c) ?? {};
      return { container, name: text(container.name) ?? `${key}[${i}]`, init };
    });
  return [...refs("initContainers", true), ...refs("containers", false)];
}

/** `metadata.namespace` of a namespaced object, as the API server would default it. */
export function namespaceOf(props: Json): string {
  return text(record(props.metadata)?.namespace) ?? "default";
}
