import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { prometheusRuleGroups } from "../render/alert-rules";
import type { ClusterSpec } from "../spec/cluster-spec";
import { METRICS_PORT_NAME } from "./exporter";
import { componentSelector, MEMBER_LABEL, recommendedLabels } from "./labels";

/** The pod label naming the member, as Prometheus' Kubernetes discovery exposes it. */
const MEMBER_META_LABEL = `__meta_kubernetes_pod_label_${MEMBER_LABEL.replaceAll(/[^a-zA-Z0-9_]/g, "_")}`;

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
  return [podMonitor, rules, metricsPolicy];
}
