import type { PolicyResource } from "@pulumi/policy";
import { kubernetesQuantityBytes } from "./cluster-view";
import { containersOf, K8S, LONG_RUNNING, namespaceOf, POD_CARRIERS, podTemplateOf } from "./pod-templates";
import {
  type Json,
  list,
  ofTypes,
  physicalName,
  record,
  resourcePolicy,
  stackPolicy,
  strings,
  text,
} from "./policy-kit";
import { inlineSecretInConfig, plaintextSecretReason } from "./secret-values";

const workload = (type: string, name: string, props: Json) =>
  `${type.split(":").pop()} ${physicalName({ props, name })}`;

export const k8sRequestsAndLimits = resourcePolicy<Json>({
  name: "k8s-requests-and-limits",
  description:
    "Every container requests CPU and memory and has a memory limit, so the scheduler places it where it fits and the kernel never kills PostgreSQL for a neighbour. (Limits equal to the requests, CPU included, are k8s-guaranteed-qos.)",
  severity: "high",
  remediationSteps:
    "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container.",
  types: POD_CARRIERS,
  validate: (props, args, report) => {
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    for (const { container, name } of containersOf(pod.spec)) {
      const resources = record(container.resources);
      const missing = [
        ["requests.cpu", record(resources?.requests)?.cpu],
        ["requests.memory", record(resources?.requests)?.memory],
        ["limits.memory", record(resources?.limits)?.memory],
      ]
        .filter(([, value]) => value === undefined || value === "")
        .map(([key]) => key);
      if (missing.length > 0) {
        report(
          `${workload(args.type, args.name, props)} container ${name} lacks resources.${missing.join(", resources.")}: set them (PostgreSQL's tuning assumes the memory limit pgstack:memoryLimit).`,
        );
      }
    }
  },
});

/** CPU in millicores (`4`, `500m`, `1.5`). */
function millicores(value: unknown): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(String(value ?? ""));
  if (!match) return undefined;
  return match[2] ? Number(match[1]) : Math.round(Number(match[1]) * 1000);
}

export const k8sGuaranteedQos = resourcePolicy<Json>({
  name: "k8s-guaranteed-qos",
  description:
    "Every container of every pod, init containers and sidecars included, requests exactly the CPU and memory it is limited to, so the pod's QoS class is Guaranteed: under node memory pressure the kubelet evicts Burstable pods first, and a node never promises PostgreSQL's memory to someone else.",
  severity: "high",
  remediationSteps:
    "Set resources.requests equal to resources.limits (cpu and memory) on every container; leave pgstack:memoryRequest unset (it defaults to the limit).",
  types: POD_CARRIERS,
  validate: (props, args, report) => {
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    for (const { container, name } of containersOf(pod.spec)) {
      const resources = record(container.resources) ?? {};
      const requests = record(resources.requests) ?? {};
      const limits = record(resources.limits) ?? {};
      const unequal: string[] = [];
      const cpu = [millicores(requests.cpu), millicores(limits.cpu)];
      if (cpu[0] === undefined || cpu[0] !== cpu[1])
        unequal.push(`cpu ${String(requests.cpu ?? "unset")}/${String(limits.cpu ?? "unset")}`);
      const memory = [kubernetesQuantityBytes(requests.memory), kubernetesQuantityBytes(limits.memory)];
      if (memory[0] === undefined || memory[0] !== memory[1])
        unequal.push(`memory ${String(requests.memory ?? "unset")}/${String(limits.memory ?? "unset")}`);
      if (unequal.length > 0) {
        report(
          `${workload(args.type, args.name, props)} container ${name} requests differ from its limits (request/limit: ${unequal.join(", ")}), so the pod is not Guaranteed: set requests equal to limits.`,
        );
      }
    }
  },
});

const DIGEST = /@sha256:[0-9a-f]{64}$/;

export const k8sImageDigest = resourcePolicy<Json>({
  name: "k8s-image-digest",
  description:
    "Every container image of every pod is pinned by digest: a tag can be moved to another image, which the nodes would then run with the database's data and secrets; an unset image registry means Docker Hub.",
  severity: "critical",
  remediationSteps:
    "Set pgstack:image to <registry>/<repository>@sha256:<digest> (the deploy workflow pushes image/Dockerfile to the stack's ECR repository and passes the digest).",
  types: POD_CARRIERS,
  validate: (props, args, report) => {
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    for (const { container, name } of containersOf(pod.spec)) {
      const image = text(container.image) ?? "";
      if (!DIGEST.test(image)) {
        report(
          `${workload(args.type, args.name, props)} container ${name} runs image "${image}", not pinned by digest: set pgstack:image to <registry>/<repository>@sha256:<digest>.`,
        );
      }
    }
  },
});

export const k8sProbes = resourcePolicy<Json>({
  name: "k8s-probes",
  description:
    "Every long-running container has startup, readiness and liveness probes: recovery after a crash can take minutes (startup), clients go only to a ready server (readiness), a hung one is restarted (liveness).",
  severity: "high",
  remediationSteps:
    "Add startupProbe (generous failureThreshold for crash recovery), readinessProbe and livenessProbe to each container.",
  types: LONG_RUNNING,
  validate: (props, args, report) => {
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    for (const { container, name, init } of containersOf(pod.spec)) {
      if (init) continue;
      const missing = ["startupProbe", "readinessProbe", "livenessProbe"].filter(
        (probe) => record(container[probe]) === undefined,
      );
      if (missing.length > 0) {
        report(
          `${workload(args.type, args.name, props)} container ${name} has no ${missing.join(", ")}: add them (for PostgreSQL, pg_isready; a startupProbe long enough for crash recovery).`,
        );
      }
    }
  },
});

const ALLOWED_ADDED_CAPABILITIES = ["NET_BIND_SERVICE"];
const RESTRICTED_SECCOMP = ["RuntimeDefault", "Localhost"];

/** Violations of the Kubernetes "restricted" Pod Security Standard in one pod spec. */
function restrictedViolations(podSpec: Json): string[] {
  const problems: string[] = [];
  const podContext = record(podSpec.securityContext) ?? {};
  for (const host of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (podSpec[host] === true) problems.push(`${host} is true`);
  }
  for (const volume of list(podSpec.volumes).map((v) => record(v) ?? {})) {
    if (volume.hostPath !== undefined) problems.push(`volume ${String(volume.name)} is a hostPath`);
  }
  for (const { container, name } of containersOf(podSpec)) {
    const context = record(container.securityContext) ?? {};
    const runAsNonRoot = context.runAsNonRoot ?? podContext.runAsNonRoot;
    if (runAsNonRoot !== true) problems.push(`container ${name}: runAsNonRoot is not true`);
    const runAsUser = context.runAsUser ?? podContext.runAsUser;
    if (runAsUser === 0) problems.push(`container ${name}: runAsUser is 0`);
    if (context.privileged === true) problems.push(`container ${name}: privileged`);
    if (context.allowPrivilegeEscalation !== false)
      problems.push(`container ${name}: allowPrivilegeEscalation is not false`);
    const capabilities = record(context.capabilities) ?? {};
    if (!strings(capabilities.drop).includes("ALL"))
      problems.push(`container ${name}: capabilities.drop lacks ALL`);
    const added = strings(capabilities.add).filter((c) => !ALLOWED_ADDED_CAPABILITIES.includes(c));
    if (added.length > 0) problems.push(`container ${name}: adds capabilities ${added.join(", ")}`);
    const seccomp =
      text(record(context.seccompProfile)?.type) ?? text(record(podContext.seccompProfile)?.type);
    if (seccomp === undefined || !RESTRICTED_SECCOMP.includes(seccomp)) {
      problems.push(`container ${name}: seccompProfile.type is ${seccomp ?? "unset"}, not RuntimeDefault`);
    }
  }
  return problems;
}

export const k8sRestrictedPodSecurity = resourcePolicy<Json>({
  name: "k8s-restricted-pod-security",
  description:
    "Pods meet the restricted Pod Security Standard and the stack's namespace enforces it: PostgreSQL runs as a non-root user with no privileges it does not need.",
  severity: "high",
  remediationSteps:
    "Set securityContext runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop [ALL], seccompProfile RuntimeDefault; label the namespace pod-security.kubernetes.io/enforce=restricted.",
  types: [...POD_CARRIERS, K8S.namespace],
  validate: (props, args, report) => {
    if (args.type === K8S.namespace) {
      const labels = record(record(props.metadata)?.labels) ?? {};
      if (labels["pod-security.kubernetes.io/enforce"] !== "restricted") {
        report(
          `namespace ${physicalName({ props, name: args.name })} does not enforce the restricted Pod Security Standard: label it pod-security.kubernetes.io/enforce=restricted.`,
        );
      }
      return;
    }
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    const problems = restrictedViolations(pod.spec);
    if (problems.length > 0) {
      report(
        `${workload(args.type, args.name, props)} is not restricted (${problems.join("; ")}): set runAsNonRoot, allowPrivilegeEscalation: false, capabilities.drop [ALL] and seccompProfile RuntimeDefault.`,
      );
    }
  },
});

export const k8sVolumeRetention = resourcePolicy<Json>({
  name: "k8s-volume-retention",
  description:
    "Data volumes outlive what uses them: a StatefulSet retains its PVCs when deleted or scaled down, and any StorageClass or PersistentVolume the stack declares reclaims with Retain.",
  severity: "critical",
  remediationSteps:
    "Set persistentVolumeClaimRetentionPolicy {whenDeleted: Retain, whenScaled: Retain} on StatefulSets; reclaimPolicy: Retain on StorageClasses.",
  types: [K8S.statefulSet, K8S.storageClass, K8S.pv],
  validate: (props, args, report) => {
    const name = physicalName({ props, name: args.name });
    if (args.type === K8S.storageClass) {
      if (props.reclaimPolicy !== "Retain") {
        report(
          `StorageClass ${name} reclaims with ${String(props.reclaimPolicy ?? "Delete (the default)")}: set reclaimPolicy: Retain so deleting a claim never deletes the database's disk.`,
        );
      }
      return;
    }
    if (args.type === K8S.pv) {
      const policy = record(props.spec)?.persistentVolumeReclaimPolicy;
      if (policy !== "Retain")
        report(
          `PersistentVolume ${name} reclaims with ${String(policy)}: set persistentVolumeReclaimPolicy: Retain.`,
        );
      return;
    }
    const spec = record(props.spec) ?? {};
    if (list(spec.volumeClaimTemplates).length === 0)
      args.notApplicable("StatefulSet without volume claim templates");
    const retention = record(spec.persistentVolumeClaimRetentionPolicy) ?? {};
    for (const when of ["whenDeleted", "whenScaled"]) {
      if (retention[when] !== "Retain") {
        report(
          `StatefulSet ${name}: persistentVolumeClaimRetentionPolicy.${when} is ${String(retention[when] ?? "unset")}: set it to Retain explicitly so no rollout, scale-down or delete removes a data volume.`,
        );
      }
    }
  },
});

export const k8sPostgresNotExposed = resourcePolicy<Json>({
  name: "k8s-postgres-not-exposed",
  description: "PostgreSQL is reached only inside the cluster: no LoadBalancer, NodePort or external IPs.",
  severity: "critical",
  remediationSteps:
    "Use type ClusterIP (or a headless Service) and let the NetworkPolicy admit the client namespaces.",
  types: [K8S.service],
  validate: (props, args, report) => {
    const spec = record(props.spec) ?? {};
    const name = physicalName({ props, name: args.name });
    const type = text(spec.type) ?? "ClusterIP";
    if (type === "LoadBalancer" || type === "NodePort") {
      report(
        `Service ${name} is ${type}, which exposes PostgreSQL outside the cluster: use ClusterIP and admit clients with the NetworkPolicy.`,
      );
    }
    if (list(spec.externalIPs).length > 0) {
      report(`Service ${name} sets externalIPs: remove them; PostgreSQL is reached through ClusterIP only.`);
    }
  },
});

/** True when a NetworkPolicy's podSelector selects pods with these labels (empty selector: all pods). */
function selects(policy: Json, podLabels: Json): boolean {
  const selector = record(record(policy.spec)?.podSelector) ?? {};
  const matchLabels = record(selector.matchLabels) ?? {};
  if (list(selector.matchExpressions).length > 0) return false;
  return Object.entries(matchLabels).every(([key, value]) => podLabels[key] === value);
}

export const k8sNetworkPolicy = stackPolicy({
  name: "k8s-network-policy",
  description:
    "Every pod the stack runs is selected by a NetworkPolicy in its namespace, and no ingress rule admits all sources: only the stack's members and the declared client namespaces reach PostgreSQL.",
  severity: "critical",
  remediationSteps:
    "Declare a NetworkPolicy in the stack's namespace selecting the PostgreSQL pods, with ingress rules naming podSelector/namespaceSelector/ipBlock sources.",
  validate: (args, report) => {
    const workloads = ofTypes(args.resources, ...POD_CARRIERS);
    if (workloads.length === 0) args.notApplicable("no Kubernetes workloads in this stack");
    const policies = ofTypes(args.resources, K8S.networkPolicy);
    for (const policy of policies) {
      const rules = list(record(policy.props.spec)?.ingress).map((r) => record(r) ?? {});
      for (const rule of rules) {
        if (list(rule.from).length === 0) {
          report(
            `NetworkPolicy ${physicalName(policy)} has an ingress rule without "from", which admits every source: list the allowed pods, namespaces or CIDRs.`,
            policy.urn,
          );
        }
      }
    }
    for (const resource of workloads) {
      const pod = podTemplateOf(resource.type, resource.props);
      if (!pod) continue;
      const namespace = namespaceOf(resource.props);
      const labels = record(pod.metadata.labels) ?? {};
      const covered = policies.some(
        (policy: PolicyResource) => namespaceOf(policy.props) === namespace && selects(policy.props, labels),
      );
      if (!covered) {
        report(
          `${workload(resource.type, resource.name, resource.props)} in namespace ${namespace} is selected by no NetworkPolicy: declare one in ${namespace} whose podSelector matches its pod labels, so only listed sources reach it.`,
          resource.urn,
        );
      }
    }
  },
});

export const k8sCronJobSafety = resourcePolicy<Json>({
  name: "k8s-cronjob-safety",
  description:
    "Backup CronJobs never overlap (concurrencyPolicy Forbid: pgBackRest would refuse the second anyway, after waiting on its lock) and a missed run is skipped after a deadline rather than piling up.",
  severity: "medium",
  remediationSteps: "Set concurrencyPolicy: Forbid and startingDeadlineSeconds (e.g. 3600) on the CronJob.",
  types: [K8S.cronJob],
  validate: (props, args, report) => {
    const spec = record(props.spec) ?? {};
    const name = physicalName({ props, name: args.name });
    if (spec.concurrencyPolicy !== "Forbid") {
      report(
        `CronJob ${name} has concurrencyPolicy ${String(spec.concurrencyPolicy ?? "Allow (the default)")}: set it to Forbid so backups never overlap.`,
      );
    }
    if (!(typeof spec.startingDeadlineSeconds === "number" && spec.startingDeadlineSeconds > 0)) {
      report(
        `CronJob ${name} has no startingDeadlineSeconds: set one (e.g. 3600) so a missed backup is skipped, not run hours late or piled up.`,
      );
    }
  },
});

export const k8sNoPlaintextSecrets = resourcePolicy<Json>({
  name: "k8s-no-plaintext-secrets",
  description:
    "No secret is written into a pod spec or a ConfigMap: passwords, cipher passes and keys come from Secrets (secretKeyRef or a Secret volume).",
  severity: "critical",
  remediationSteps:
    "Use env[].valueFrom.secretKeyRef or mount a Secret; keep ConfigMaps free of repo1-cipher-pass, S3 keys and passwords.",
  types: [...POD_CARRIERS, K8S.configMap],
  validate: (props, args, report) => {
    const name = physicalName({ props, name: args.name });
    if (args.type === K8S.configMap) {
      for (const [key, value] of Object.entries(record(props.data) ?? {})) {
        const reason = typeof value === "string" ? inlineSecretInConfig(value) : undefined;
        if (reason)
          report(
            `ConfigMap ${name} key ${key} ${reason}: move that setting into a Secret and include it from there.`,
          );
      }
      return;
    }
    const pod = podTemplateOf(args.type, props);
    if (!pod) return;
    for (const { container, name: containerName } of containersOf(pod.spec)) {
      for (const env of list(container.env).map((e) => record(e) ?? {})) {
        const envName = text(env.name) ?? "";
        const value = env.value;
        if (typeof value !== "string") continue;
        const reason = plaintextSecretReason(envName, value);
        if (reason) {
          report(
            `${workload(args.type, args.name, props)} container ${containerName} env ${envName} ${reason}: use valueFrom.secretKeyRef (or a Secret file) instead.`,
          );
        }
      }
    }
  },
});

export const kubernetesPolicies = [
  k8sRequestsAndLimits,
  k8sGuaranteedQos,
  k8sImageDigest,
  k8sProbes,
  k8sRestrictedPodSecurity,
  k8sVolumeRetention,
  k8sPostgresNotExposed,
  k8sNetworkPolicy,
  k8sCronJobSafety,
  k8sNoPlaintextSecrets,
];
