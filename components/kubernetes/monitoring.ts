import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { prometheusRuleGroups } from "../render/alert-rules";
import type { ClusterSpec } from "../spec/cluster-spec";
import { METRICS_PORT_NAME } from "./exporter";
import { componentSelector, MEMBER_LABEL, recommendedLabels } from "./labels";

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
  return [podMonitor, rules, metricsPolicy, discovery, discoveryBinding];
}
