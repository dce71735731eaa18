import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { prometheusRuleGroups } from "../render/alert-rules";
import type { ClusterSpec } from "../spec/cluster-spec";
import { PUSHGATEWAY_PORT, pushgatewayName } from "../spec/monitoring";
import { formatQuantity } from "../spec/units";
import { METRICS_PORT_NAME } from "./exporter";
import { componentSelector, MEMBER_LABEL, recommendedLabels } from "./labels";
import { containerSecurityContext, podSecurityContext } from "./pod-security";

/** The pod label naming the member, as Prometheus' Kubernetes discovery exposes it. */
const MEMBER_META_LABEL = `__meta_kubernetes_pod_label_${MEMBER_LABEL.replaceAll(/[^a-zA-Z0-9_]/g, "_")}`;

/**
 * The service account of kube-prometheus's Prometheus. Its RBAC covers only a few namespaces
 * (default, kube-system, monitoring): the stack lets it discover its own pods. A Prometheus with
 * cluster-wide discovery (kube-prometheus-stack's Helm chart) does not need this grant.
 */
export const PROMETHEUS_SERVICE_ACCOUNT = "prometheus-k8s";

/** Scrape interval of the exporters: a few queries each time, well under the rules' 1m `for:`s. */
export const SCRAPE_INTERVAL = "30s";

/**
 * The stack's monitoring objects for the Prometheus operator (kube-prometheus): a PodMonitor
 * scraping every member's exporter, labelled as the rules select (cluster and member), and a
 * PrometheusRule holding exactly the rendered alerts.yaml; plus the NetworkPolicy admitting the
 * monitoring namespace to the metrics port, and nothing else. The operator's CRDs must exist.
 */
export function stackMonitoring(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): pulumi.Resource[] {
  const { monitoring } = spec;
  const labels = recommendedLabels(spec, "database");
  const database = componentSelector(spec, "database");
  const podMonitor = new k8s.apiextensions.CustomResource(
    `${spec.name}-exporters`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name: `${spec.name}-exporters`, namespace, labels },
      spec: {
        selector: { matchLabels: database },
        podMetricsEndpoints: [
          {
            port: METRICS_PORT_NAME,
            interval: SCRAPE_INTERVAL,
            relabelings: [
              { action: "replace", targetLabel: monitoring.clusterLabel, replacement: spec.name },
              { action: "replace", sourceLabels: [MEMBER_META_LABEL], targetLabel: monitoring.memberLabel },
            ],
          },
        ],
      },
    },
    opts,
  );
  const rules = new k8s.apiextensions.CustomResource(
    `${spec.name}-alerts`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: `${spec.name}-alerts`, namespace, labels },
      spec: { groups: prometheusRuleGroups(spec) },
    },
    opts,
  );
  const metricsPolicy = new k8s.networking.v1.NetworkPolicy(
    `${spec.name}-metrics`,
    {
      metadata: { name: `${spec.name}-metrics`, namespace, labels: recommendedLabels(spec) },
      spec: {
        podSelector: { matchLabels: database },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": monitoring.namespace },
                },
              },
            ],
            ports: [{ protocol: "TCP", port: monitoring.exporterPort }],
          },
        ],
      },
    },
    opts,
  );
  // Discovery of the member pods (read-only, pods only) for the monitoring namespace's Prometheus.
  const discovery = new k8s.rbac.v1.Role(
    `${spec.name}-prometheus-discovery`,
    {
      metadata: { name: `${spec.name}-prometheus-discovery`, namespace, labels },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
    },
    opts,
  );
  const discoveryBinding = new k8s.rbac.v1.RoleBinding(
    `${spec.name}-prometheus-discovery`,
    {
      metadata: { name: `${spec.name}-prometheus-discovery`, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: discovery.metadata.name },
      subjects: [
        { kind: "ServiceAccount", name: PROMETHEUS_SERVICE_ACCOUNT, namespace: monitoring.namespace },
      ],
    },
    opts,
  );
  return [
    podMonitor,
    rules,
    metricsPolicy,
    discovery,
    discoveryBinding,
    ...pushgateway(spec, namespace, opts),
  ];
}

/** The Pushgateway's volume: a few KB of job results; 1 GiB is the smallest size volumes commonly get. */
const PUSHGATEWAY_STORAGE_BYTES = 1024 ** 3;
const PUSHGATEWAY_RESOURCES = { cpu: "100m", memory: "64Mi" };

/**
 * The Pushgateway the backup runner's jobs push their outcome to (report-job.sh), with its
 * results on a small volume so a restart does not forget when the last backup succeeded; its
 * Service (spec.monitoring.pushgatewayUrl); a PodMonitor keeping the pushed labels; and the
 * NetworkPolicies admitting the runner and the monitoring namespace to it, nothing else.
 */
function pushgateway(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): pulumi.Resource[] {
  const name = pushgatewayName(spec.name);
  const labels = recommendedLabels(spec, "monitoring");
  const selector = componentSelector(spec, "monitoring");
  const claim = new k8s.core.v1.PersistentVolumeClaim(
    name,
    {
      metadata: { name, namespace, labels },
      spec: {
        accessModes: ["ReadWriteOnce"],
        ...(spec.resources.storageClass !== undefined
          ? { storageClassName: spec.resources.storageClass }
          : {}),
        resources: { requests: { storage: formatQuantity(PUSHGATEWAY_STORAGE_BYTES) } },
      },
    },
    // Holds when the last backup succeeded: protected like every volume of the stack.
    { ...opts, protect: spec.protect },
  );
  const probe = { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10, timeoutSeconds: 5 };
  const uid = spec.monitoring.osUid;
  const deployment = new k8s.apps.v1.Deployment(
    name,
    {
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        // One writer of the ReadWriteOnce volume at a time.
        strategy: { type: "Recreate" },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { ...podSecurityContext, runAsUser: uid, runAsGroup: uid, fsGroup: uid },
            containers: [
              {
                name: "pushgateway",
                image: spec.monitoring.images.pushgateway,
                imagePullPolicy: "IfNotPresent",
                args: [
                  `--web.listen-address=:${PUSHGATEWAY_PORT}`,
                  "--persistence.file=/pushgateway/results.data",
                  "--persistence.interval=1m",
                ],
                ports: [{ name: "http", containerPort: PUSHGATEWAY_PORT, protocol: "TCP" }],
                resources: { requests: PUSHGATEWAY_RESOURCES, limits: PUSHGATEWAY_RESOURCES },
                startupProbe: { ...probe, failureThreshold: 30 },
                readinessProbe: { ...probe, failureThreshold: 3 },
                livenessProbe: { ...probe, failureThreshold: 6 },
                securityContext: { ...containerSecurityContext, runAsUser: uid, runAsGroup: uid },
                volumeMounts: [{ name: "results", mountPath: "/pushgateway" }],
              },
            ],
            volumes: [{ name: "results", persistentVolumeClaim: { claimName: claim.metadata.name } }],
          },
        },
      },
    },
    opts,
  );
  const service = new k8s.core.v1.Service(
    name,
    {
      metadata: { name, namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "http", port: PUSHGATEWAY_PORT, targetPort: "http", protocol: "TCP" }],
      },
    },
    opts,
  );
  const podMonitor = new k8s.apiextensions.CustomResource(
    `${name}-monitor`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name, namespace, labels },
      spec: {
        selector: { matchLabels: selector },
        // The pushed series carry the runner's job and cluster labels: keep them.
        podMetricsEndpoints: [{ port: "http", interval: SCRAPE_INTERVAL, honorLabels: true }],
      },
    },
    opts,
  );
  const port = [{ protocol: "TCP", port: PUSHGATEWAY_PORT }];
  const ingress = new k8s.networking.v1.NetworkPolicy(
    name,
    {
      metadata: { name, namespace, labels: recommendedLabels(spec) },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: componentSelector(spec, "backup") } },
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": spec.monitoring.namespace },
                },
              },
            ],
            ports: port,
          },
        ],
        egress: [],
      },
    },
    opts,
  );
  const runnerEgress = new k8s.networking.v1.NetworkPolicy(
    `${spec.name}-backup-to-pushgateway`,
    {
      metadata: { name: `${spec.name}-backup-to-pushgateway`, namespace, labels: recommendedLabels(spec) },
      spec: {
        podSelector: { matchLabels: componentSelector(spec, "backup") },
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: { matchLabels: selector } }], ports: port }],
      },
    },
    opts,
  );
  return [claim, deployment, service, podMonitor, ingress, runnerEgress];
}
