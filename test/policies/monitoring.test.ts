import { describe, expect, it } from "vitest";
import { k8sMonitoring, PROMETHEUS_OPERATOR } from "../../policies/rules/monitoring";
import { K8S } from "../../policies/rules/pod-templates";
import { resource, verdictOf, violations } from "./harness";

const NAMESPACE = "pgstack-prod";
const DATABASE = {
  "app.kubernetes.io/name": "postgresql",
  "app.kubernetes.io/instance": "pgstack-prod",
  "app.kubernetes.io/component": "database",
};

function member(containers: unknown[]) {
  return resource(K8S.statefulSet, "pgstack-prod-primary", {
    metadata: { name: "pgstack-prod-primary", namespace: NAMESPACE },
    spec: {
      template: {
        metadata: { labels: { ...DATABASE, "app.kubernetes.io/part-of": "pgstack" } },
        spec: { containers },
      },
    },
  });
}
const postgres = { name: "postgres", ports: [{ name: "postgresql", containerPort: 5432 }] };
const exporter = { name: "exporter", ports: [{ name: "metrics", containerPort: 9187 }] };

function podMonitor(namespace = NAMESPACE, port = "metrics") {
  return resource(PROMETHEUS_OPERATOR.podMonitor, "pgstack-prod-exporters", {
    metadata: { name: "pgstack-prod-exporters", namespace },
    spec: { selector: { matchLabels: DATABASE }, podMetricsEndpoints: [{ port }] },
  });
}
function prometheusRule(alerts: string[]) {
  return resource(PROMETHEUS_OPERATOR.prometheusRule, "pgstack-prod-alerts", {
    metadata: { name: "pgstack-prod-alerts", namespace: NAMESPACE },
    spec: { groups: [{ name: "g", rules: alerts.map((alert) => ({ alert, expr: "vector(1)" })) }] },
  });
}
const ALL = [
  "PgstackPostgresDown",
  "PgstackArchivingFailing",
  "PgstackArchivingStalled",
  "PgstackBackupTooOld",
  "PgstackDataVolumeAlmostFull",
];

describe("k8s-monitoring", () => {
  it("passes a member with its exporter scraped by a PodMonitor and the stack's alerts", async () => {
    expect(
      await violations(k8sMonitoring, [member([postgres, exporter]), podMonitor(), prometheusRule(ALL)]),
    ).toEqual([]);
  });

  it("refuses a member nobody scrapes: no PodMonitor, one in another namespace, or no exporter port", async () => {
    for (const resources of [
      [member([postgres, exporter]), prometheusRule(ALL)],
      [member([postgres, exporter]), podMonitor("monitoring"), prometheusRule(ALL)],
      [member([postgres]), podMonitor(), prometheusRule(ALL)],
    ]) {
      const [message] = await violations(k8sMonitoring, resources);
      expect(message).toMatch(/StatefulSet pgstack-prod-primary in pgstack-prod is scraped by no PodMonitor/);
    }
  });

  it("refuses a namespace whose rules lack an essential alert, naming it", async () => {
    const messages = await violations(k8sMonitoring, [
      member([postgres, exporter]),
      podMonitor(),
      prometheusRule(ALL.filter((alert) => alert !== "PgstackBackupTooOld")),
    ]);
    expect(messages).toEqual([expect.stringMatching(/has no PrometheusRule alerting PgstackBackupTooOld/)]);
  });

  it("does not apply to a stack without PostgreSQL members on Kubernetes", async () => {
    expect((await verdictOf(k8sMonitoring, [])).status).toBe("not-applicable");
  });
});
