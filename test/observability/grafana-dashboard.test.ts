import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertGroups, alertThresholds } from "../../components/render/alert-rules";
import { committedStackSpec, promtool } from "./stack-specs";

/** Metric names a PromQL expression reads (identifiers before a selector). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((match) => match[1]);
}

describe.each(["dev", "prod"] as const)("grafana-dashboard.json of the %s stack", (stack) => {
  const spec = committedStackSpec(stack);
  const dashboard = JSON.parse(spec.monitoringFiles["grafana-dashboard.json"]);
  const exprs: string[] = dashboard.panels.flatMap((panel: { targets: { expr: string }[] }) =>
    panel.targets.map((target) => target.expr),
  );

  it("queries only series the alert rules read, for this stack's cluster", () => {
    const ruleMetrics = new Set(
      alertGroups(spec).flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    for (const expr of exprs) {
      expect(metricNames(expr).length, expr).toBeGreaterThan(0);
      for (const name of metricNames(expr)) expect([...ruleMetrics], `${name} in ${expr}`).toContain(name);
      expect(expr).toContain(`pgstack_cluster="${spec.name}"`);
    }
  });

  it("every query is valid PromQL (promtool loads them as recording rules)", () => {
    const rules = stringify({
      groups: [
        { name: "dashboard", rules: exprs.map((expr, i) => ({ record: `pgstack:panel_${i}`, expr })) },
      ],
    });
    const run = promtool(["check", "rules", "panels.yaml"], { "panels.yaml": rules });
    expect(run.status, run.output).toBe(0);
  });

  it("draws the alerts' thresholds and leaves the data source to the import", () => {
    const t = alertThresholds(spec);
    const steps = (title: string) =>
      dashboard.panels
        .find((panel: { title: string }) => panel.title === title)
        .fieldConfig.defaults.thresholds.steps.map((step: { value: number | null }) => step.value);
    expect(steps("Client connections")).toEqual([null, t.connectionsWarning, t.connectionsCritical]);
    expect(steps("Newest archived WAL: age")).toEqual([null, t.archiveStaleSeconds]);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: "DS_PROMETHEUS", pluginId: "prometheus" }),
    ]);
  });
});
