import type { PolicyResource } from "@pulumi/policy";
import { containersOf, K8S, namespaceOf, podTemplateOf } from "./pod-templates";
import { type Json, list, ofTypes, physicalName, record, stackPolicy, text } from "./policy-kit";

/** Prometheus operator objects, by their Pulumi type tokens. */
export const PROMETHEUS_OPERATOR = {
  podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
  prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
} as const;

/** Alerts without which nobody learns that the database or its backups are gone. */
export const ESSENTIAL_ALERTS = [
  "PgstackPostgresDown",
  "PgstackArchivingFailing",
  "PgstackArchivingStalled",
  "PgstackBackupTooOld",
  "PgstackDataVolumeAlmostFull",
] as const;

const isDatabasePod = (labels: Json) =>
  labels["app.kubernetes.io/part-of"] === "pgstack" && labels["app.kubernetes.io/component"] === "database";

function selects(selector: Json | undefined, labels: Json): boolean {
  const matchLabels = record(selector?.matchLabels) ?? {};
  if (list(selector?.matchExpressions).length > 0 || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

function alertsOf(rule: PolicyResource): string[] {
  return list(record(rule.props.spec)?.groups).flatMap((group) =>
    list(record(group)?.rules)
      .map((r) => text(record(r)?.alert))
      .filter((alert): alert is string => alert !== undefined),
  );
}

export const k8sMonitoring = stackPolicy({
  name: "k8s-monitoring",
  description:
    "Every PostgreSQL member on Kubernetes runs a metrics exporter, a PodMonitor in its namespace scrapes it, and a PrometheusRule there holds the stack's alerts (at least server down, archiving failing or stalled, no recent backup, volume almost full): a production database nobody is alerted about fails silently.",
  severity: "high",
  remediationSteps:
    "Keep pgstack:monitoring true (the default) so the stack declares its PodMonitor and PrometheusRule, and install the Prometheus operator (kube-prometheus) in the cluster.",
  validate: (args, report) => {
    const members = ofTypes(args.resources, K8S.statefulSet).filter((resource) =>
      isDatabasePod(record(podTemplateOf(resource.type, resource.props)?.metadata.labels) ?? {}),
    );
    if (members.length === 0) args.notApplicable("no PostgreSQL members on Kubernetes in this stack");
    const podMonitors = ofTypes(args.resources, PROMETHEUS_OPERATOR.podMonitor);
    const rules = ofTypes(args.resources, PROMETHEUS_OPERATOR.prometheusRule);
    for (const member of members) {
      const pod = podTemplateOf(member.type, member.props);
      if (!pod) continue;
      const labels = record(pod.metadata.labels) ?? {};
      const namespace = namespaceOf(member.props);
      const name = physicalName(member);
      const metricsPorts = containersOf(pod.spec)
        .filter(({ init }) => !init)
        .flatMap(({ container }) => list(container.ports).map((p) => text(record(p)?.name)))
        .filter((port): port is string => port !== undefined);
      const scraped = podMonitors.some((monitor) => {
        const spec = record(monitor.props.spec) ?? {};
        const ports = list(spec.podMetricsEndpoints).map((e) => text(record(e)?.port));
        return (
          namespaceOf(monitor.props) === namespace &&
          selects(record(spec.selector), labels) &&
          ports.some((port) => port !== undefined && metricsPorts.includes(port))
        );
      });
      if (!scraped) {
        report(
          `StatefulSet ${name} in ${namespace} is scraped by no PodMonitor: run the exporter beside PostgreSQL and declare a PodMonitor selecting its pods and port (pgstack:monitoring=true).`,
          member.urn,
        );
      }
      const alerts = rules.filter((rule) => namespaceOf(rule.props) === namespace).flatMap(alertsOf);
      const missing = ESSENTIAL_ALERTS.filter((alert) => !alerts.includes(alert));
      if (missing.length > 0) {
        report(
          `namespace ${namespace} of StatefulSet ${name} has no PrometheusRule alerting ${missing.join(", ")}: declare the rendered alerts.yaml as a PrometheusRule there (pgstack:monitoring=true).`,
          member.urn,
        );
      }
    }
  },
});

export const monitoringPolicies = [k8sMonitoring];
