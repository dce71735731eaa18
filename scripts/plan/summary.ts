import { type AlertRule, alertGroups } from "../../components/render/alert-rules";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import type { PolicyReport, PolicyVerdict } from "./evaluate-policies";
import { primaryLine, topologyMermaid } from "./topology";

/** The settings a reviewer checks first, read from the spec (the same values the files carry). */
/** What `expire` keeps, in the words an operator plans with. */
function recoveryWindow(spec: ClusterSpec): string {
  const { retentionFull, retentionDiff } = spec.archive;
  const diffs = `${retentionDiff} differential backups`;
  return retentionFull.type === "time"
    ? `${retentionFull.days} days (point-in-time restore to any moment of the last ${retentionFull.days} days; extra backups never shorten it), ${diffs}`
    : `${retentionFull.fulls} full backups (count: each extra full shortens the window), ${diffs}`;
}

export function keySettings(spec: ClusterSpec): [string, string][] {
  const parameter = (name: string) =>
    spec.tuning.parameters.find((p) => p.name === name)?.value ?? "(PostgreSQL default)";
  const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)}MiB`;
  const budget = spec.tuning.memoryBudget;
  const replicas = spec.members.filter((m) => m.role === "replica").length;
  return [
    ["platform", spec.platform],
    ["PostgreSQL", `${spec.postgres.version} (${spec.postgres.image})`],
    ["primary", primaryLine(spec)],
    ["memory limit", mib(spec.resources.memoryLimitBytes)],
    [
      "memory budget",
      `${mib(budget.totalBytes)} of ${mib(budget.limitBytes)} (${budget.fits ? (budget.keepsHeadroom ? `fits, ${mib(budget.headroomBytes)} headroom kept` : "fits, headroom spent by overrides") : "DOES NOT FIT"})`,
    ],
    ...spec.tuning.warnings.map((warning): [string, string] => ["WARNING", warning]),
    ["shared_buffers", parameter("shared_buffers")],
    ["work_mem", parameter("work_mem")],
    ["max_connections", parameter("max_connections")],
    ["wal_level", parameter("wal_level")],
    ["archive_mode", parameter("archive_mode")],
    ["archive_timeout", parameter("archive_timeout")],
    [
      "replicas",
      `${replicas}${
        replicas > 0
          ? ` (${spec.members
              .filter((m) => m.slot)
              .map((m) => `${m.name} → slot ${m.slot}`)
              .join(", ")})`
          : ""
      }`,
    ],
    ["full backups", spec.archive.schedules.full],
    ["differential backups", spec.archive.schedules.diff],
    [
      "repository",
      `s3://${spec.archive.bucket}${spec.archive.path} (${spec.archive.store}, ${spec.archive.region})`,
    ],
    ["recovery window", recoveryWindow(spec)],
    ["restore drill", spec.archive.drillSchedule],
    [
      "monitoring",
      spec.monitoring.enabled
        ? spec.platform === "docker"
          ? "exporters, Prometheus and Alertmanager"
          : `exporters, PodMonitor and PrometheusRule (scraped from namespace ${spec.monitoring.namespace})`
        : "exporters only",
    ],
    ["protected", String(spec.protect)],
  ];
}

/** Every alert of alerts.yaml, as the summary lists it. */
export function alertRules(spec: ClusterSpec): AlertRule[] {
  return alertGroups(spec).flatMap((group) => group.rules);
}

const MARK: Record<PolicyVerdict["status"], string> = {
  pass: "pass",
  fail: "FAIL",
  "not-applicable": "n/a",
  disabled: "off",
};

function verdictLine(v: PolicyVerdict): string {
  const level = v.status === "fail" ? ` (${v.enforcementLevel})` : "";
  return `${MARK[v.status].padEnd(4)} ${v.policy}${level}`;
}

export interface PlanSummaryInput {
  readonly stack: string;
  readonly spec: ClusterSpec;
  readonly tree: readonly string[];
  readonly report: PolicyReport;
  readonly files: readonly string[];
}

export function textSummary(input: PlanSummaryInput): string {
  const { stack, spec, tree, report, files } = input;
  const settings = keySettings(spec);
  const width = Math.max(...settings.map(([k]) => k.length));
  const lines = [
    `pgstack plan: stack ${stack}`,
    "",
    "Key settings",
    ...settings.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    "",
    `Resources (${tree.length})`,
    ...tree.map((line) => `  ${line}`),
    "",
    `Alert rules (${alertRules(spec).length}, in alerts.yaml)`,
    ...alertRules(spec).map(
      (rule) =>
        `  ${rule.severity.padEnd(8)} ${rule.alert}${rule.for ? ` (for ${rule.for})` : ""}: ${rule.expr}`,
    ),
    "",
    "Policies",
    ...report.verdicts.flatMap((v) => [
      `  ${verdictLine(v)}`,
      ...v.violations.map((x) => `         - ${x.message}`),
    ]),
    "",
    `Files: ${files.join(", ")}`,
    report.mandatoryFailures.length > 0
      ? `BLOCKED: mandatory policy violations: ${report.mandatoryFailures.join(", ")}`
      : `OK: no mandatory policy violations (${report.verdicts.filter((v) => v.status === "fail").length} advisory).`,
  ];
  return `${lines.join("\n")}\n`;
}

const escapeCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function markdownSummary(input: PlanSummaryInput): string {
  const { stack, spec, tree, report, files } = input;
  const failing = report.verdicts.filter((v) => v.status === "fail");
  const headline =
    report.mandatoryFailures.length > 0
      ? `:x: **${report.mandatoryFailures.length} mandatory policy violation(s)**: ${report.mandatoryFailures.map((p) => `\`${p}\``).join(", ")}`
      : `:white_check_mark: no mandatory policy violations${failing.length > 0 ? ` (${failing.length} advisory)` : ""}`;
  const out = [
    `### pgstack plan: \`${stack}\``,
    "",
    headline,
    "",
    "| Setting | Value |",
    "| --- | --- |",
    ...keySettings(spec).map(([k, v]) => `| ${escapeCell(k)} | \`${escapeCell(v)}\` |`),
    "",
    "#### Topology",
    "",
    "```mermaid",
    topologyMermaid(spec),
    "```",
    "",
    "| Policy | Level | Verdict |",
    "| --- | --- | --- |",
    ...report.verdicts.map((v) => `| \`${v.policy}\` | ${v.enforcementLevel} | ${MARK[v.status]} |`),
    "",
  ];
  if (failing.length > 0) {
    out.push("#### Violations", "");
    for (const v of failing) {
      for (const violation of v.violations)
        out.push(`- **${v.policy}** (${v.enforcementLevel}): ${escapeCell(violation.message)}`);
    }
    out.push("");
  }
  const rules = alertRules(spec);
  out.push(
    `<details><summary>Alert rules (${rules.length}, thresholds from the config; alerts.yaml)</summary>`,
    "",
    "| Alert | Severity | For | Expression |",
    "| --- | --- | --- | --- |",
    ...rules.map(
      (rule) =>
        `| \`${rule.alert}\` | ${rule.severity} | ${rule.for ?? "-"} | \`${escapeCell(rule.expr)}\` |`,
    ),
    "",
    "</details>",
    "",
    `<details><summary>Resources (${tree.length})</summary>`,
    "",
    "```",
    ...tree,
    "```",
    "",
    "</details>",
    "",
    `Rendered: ${files.map((f) => `\`${f}\``).join(", ")}`,
    "",
  );
  return out.join("\n");
}
