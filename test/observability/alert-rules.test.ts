import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  type AlertRule,
  type AlertThresholds,
  alertGroups,
  alertThresholds,
  runbookAnchor,
} from "../../components/render/alert-rules";
import { EXPORTER_METRICS as M } from "../../components/render/exporter-queries";
import { CERTIFICATE_NOT_AFTER, JOB_METRICS as J } from "../../components/render/job-metrics";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import { memberDataClaim } from "../../components/spec/layout";
import { committedStackSpec, devSpecWith, promtool } from "./stack-specs";

/**
 * The rendered rule file of each committed stack, under Debian's promtool: it loads, and every
 * alert fires on series past its threshold and stays silent on series just inside it, with the
 * labels and annotations an operator receives. The `for:` durations are the production ones: an
 * alert with one fires when its condition has held that long, and stays pending when the condition
 * began one sample interval too late.
 */

/** Samples every minute for 30 minutes; alerts are evaluated at minute 20. */
const EVAL_SECONDS = 20 * 60;
const EVAL_AT = "20m";

type Labels = Record<string, string>;
interface Series {
  readonly series: string;
  readonly values: string;
}
/** Input series for one side of a case: `breach` true past the threshold, false just inside. */
interface Scenario {
  readonly series: (breach: boolean) => Series[];
  /** Labels of the alert besides alertname and severity. */
  readonly labels: Labels;
}

function selector(name: string, labels: Labels): string {
  return `${name}{${Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(",")}}`;
}
const constant = (value: number) => `${value}+0x30`;
const rising = (step: number) => `0+${step}x30`;

function scenarios(spec: ClusterSpec, t: AlertThresholds): Record<string, Scenario> {
  const cluster = { pgstack_cluster: spec.name };
  const target = (member: string) => ({
    ...cluster,
    pgstack_member: member,
    instance: `${member}:9187`,
    job: "pgstack-exporter",
  });
  const primary = target("primary");
  const replicaRow = { ...primary, application_name: "replica-1" };
  const slot = { ...primary, slot_name: "replica_1" };
  const cert = { ...cluster, job: "pgstack_backup_runner", step: "certificates", certificate: "primary" };
  const runner = { ...cluster, job: "pgstack_backup_runner" };
  const claim = {
    namespace: spec.network.namespace,
    persistentvolumeclaim: memberDataClaim(spec.name, spec.members[0]),
    job: "kubelet",
  };
  const on = (name: string, labels: Labels, values: string): Series => ({
    series: selector(name, labels),
    values,
  });
  const isPrimary = on(M.inRecovery, primary, constant(0));
  /** A gauge just past / just inside a "greater than" threshold. */
  const above = (name: string, labels: Labels, threshold: number) => (breach: boolean) => [
    on(name, labels, constant(breach ? threshold + 1 : threshold)),
    isPrimary,
  ];
  /** A Unix timestamp `age` seconds before the evaluation. */
  const timestamp = (age: number) => constant(EVAL_SECONDS - age);

  return {
    PgstackPostgresDown: {
      series: (breach) => [on(M.up, primary, constant(breach ? 0 : 1)), on("up", primary, constant(1))],
      labels: primary,
    },
    PgstackSettingsPendingRestart: {
      series: (breach) => [on(M.settingsPendingRestart, primary, constant(breach ? 1 : 0))],
      labels: primary,
    },
    PgstackArchivingFailing: {
      series: (breach) => [
        on(M.archiveFailedCount, primary, breach ? "0x15 1+0x14" : constant(3)),
        isPrimary,
      ],
      labels: primary,
    },
    PgstackArchivingStalled: {
      // WAL is written all along; the newest archived file is just older / just younger than the bound.
      series: (breach) => [
        on(
          M.lastArchivedAgeSeconds,
          primary,
          constant(breach ? t.archiveStaleSeconds + 1 : t.archiveStaleSeconds),
        ),
        on(M.walPositionBytes, primary, rising(16 * 2 ** 20)),
        isPrimary,
      ],
      labels: primary,
    },
    PgstackWalPilingUp: {
      series: (breach) => [
        on(M.walReadyForArchive, primary, constant(breach ? t.walReadyFiles + 1 : t.walReadyFiles)),
        on(M.walDirBytes, primary, constant(t.walDirBytes)),
      ],
      labels: primary,
    },
    PgstackReplicaNotStreaming: {
      series: (breach) => [on(M.slotActive, slot, constant(breach ? 0 : 1)), isPrimary],
      labels: slot,
    },
    PgstackFewerReplicasThanConfigured: {
      series: (breach) => [
        on(M.streamingReplicas, primary, constant(spec.members.length - 1 - (breach ? 1 : 0))),
        isPrimary,
      ],
      labels: primary,
    },
    PgstackReplicaLagSeconds: {
      series: above(M.replicaReplayLagSeconds, replicaRow, t.replicaLagSeconds),
      labels: replicaRow,
    },
    PgstackReplicaLagBytes: {
      series: above(M.replicaReplayLagBytes, replicaRow, t.replicaLagBytes),
      labels: replicaRow,
    },
    PgstackSlotRetainingWal: {
      series: above(M.slotRetainedBytes, slot, t.slotRetainedWarningBytes),
      labels: slot,
    },
    PgstackSlotLost: {
      series: (breach) => [on(M.slotLost, slot, constant(breach ? 1 : 0))],
      labels: slot,
    },
    PgstackDataVolumeFilling: {
      // pg_wal holds 1 GiB; the databases the rest, up to just past / exactly at 80%.
      series: (breach) => [
        on(M.walDirBytes, primary, constant(2 ** 30)),
        on(M.databaseBytes, primary, constant(t.volumeWarningBytes - 2 ** 30 + (breach ? 1 : 0))),
      ],
      labels: primary,
    },
    PgstackDataVolumeAlmostFull: {
      series: (breach) => [
        on(M.walDirBytes, primary, constant(2 ** 30)),
        on(M.databaseBytes, primary, constant(t.volumeCriticalBytes - 2 ** 30 + (breach ? 1 : 0))),
      ],
      labels: primary,
    },
    PgstackDataVolumeSpaceLow: {
      // The kubelet's series of the primary's claim: just under / exactly at 10% of 1 GB available.
      series: (breach) => [
        on("kubelet_volume_stats_capacity_bytes", claim, constant(1e9)),
        on("kubelet_volume_stats_available_bytes", claim, constant(breach ? 1e8 - 1 : 1e8)),
      ],
      labels: claim,
    },
    PgstackConnectionsNearLimit: {
      series: above(M.connections, primary, t.connectionsWarning),
      labels: primary,
    },
    PgstackConnectionsExhausted: {
      series: above(M.connections, primary, t.connectionsCritical),
      labels: primary,
    },
    PgstackXidWraparoundApproaching: {
      series: above(M.oldestXidAge, primary, t.xidAgeWarning),
      labels: primary,
    },
    PgstackXidWraparoundImminent: {
      series: above(M.oldestXidAge, primary, t.xidAgeCritical),
      labels: primary,
    },
    PgstackLongRunningQuery: {
      series: above(M.longestQuerySeconds, primary, t.longQuerySeconds),
      labels: primary,
    },
    PgstackIdleInTransaction: {
      series: above(M.longestIdleInTransactionSeconds, primary, t.idleInTransactionSeconds),
      labels: primary,
    },
    PgstackFullBackupTooOld: {
      series: (breach) => [
        on(
          J.backupLastSuccess,
          { ...runner, type: "full" },
          timestamp(t.fullBackupMaxAgeSeconds + (breach ? 60 : -60)),
        ),
      ],
      labels: { ...runner, type: "full" },
    },
    PgstackBackupTooOld: {
      // The full is always old; the differential decides.
      series: (breach) => [
        on(J.backupLastSuccess, { ...runner, type: "full" }, timestamp(t.fullBackupMaxAgeSeconds + 3600)),
        on(
          J.backupLastSuccess,
          { ...runner, type: "diff" },
          timestamp(t.anyBackupMaxAgeSeconds + (breach ? 60 : -60)),
        ),
      ],
      labels: cluster,
    },
    PgstackVerifyFailed: {
      series: (breach) => [on(J.verifyLastSuccess, runner, constant(breach ? 0 : 1))],
      labels: runner,
    },
    PgstackRestoreDrillFailed: {
      series: (breach) => [on(J.drillLastSuccess, runner, constant(breach ? 0 : 1))],
      labels: runner,
    },
    PgstackRestoreDrillTooOld: {
      series: (breach) => [
        on(J.drillLastSuccessTime, runner, timestamp(t.drillMaxAgeSeconds + (breach ? 60 : -60))),
      ],
      labels: runner,
    },
    PgstackCertificateExpiring: {
      series: (breach) => [
        on(
          CERTIFICATE_NOT_AFTER,
          cert,
          constant(EVAL_SECONDS + t.certificateWarningSeconds + (breach ? -60 : 60)),
        ),
      ],
      labels: cert,
    },
    PgstackCertificateExpiringSoon: {
      series: (breach) => [
        on(
          CERTIFICATE_NOT_AFTER,
          cert,
          constant(EVAL_SECONDS + t.certificateCriticalSeconds + (breach ? -60 : 60)),
        ),
      ],
      labels: cert,
    },
  };
}

/** An annotation as Prometheus expands it (the rules use only `{{ $labels.x }}`). */
/** promtool's expanding notation ("a+bxn", "axn", plain values, space-separated) as plain samples. */
function samples(values: string): number[] {
  return values.split(" ").flatMap((segment) => {
    const match = /^(-?[\d.]+)(?:([+-][\d.]+))?x(\d+)$/.exec(segment);
    if (!match) return [Number(segment)];
    const [start, step, count] = [Number(match[1]), Number(match[2] ?? 0), Number(match[3])];
    return Array.from({ length: count + 1 }, (_, i) => start + i * step);
  });
}

/** Minutes in a Prometheus duration of whole seconds ("90s", "1m", "15m"). */
function durationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  if (!match) throw new Error(`unexpected duration ${text}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

/**
 * The scenario's series inside the threshold until the breach begins `heldMinutes` before the
 * evaluation, then past it: the condition has held for less than the rule's `for:`.
 */
function lateBreach(scenario: Scenario, heldMinutes: number): Series[] {
  const inside = scenario.series(false);
  const since = EVAL_SECONDS / 60 - heldMinutes;
  return scenario.series(true).map((past) => {
    const before = inside.find((series) => series.series === past.series);
    if (!before) return past;
    const a = samples(before.values);
    const b = samples(past.values);
    return { series: past.series, values: [...a.slice(0, since), ...b.slice(since)].join(" ") };
  });
}

function expand(text: string, labels: Labels): string {
  return text.replaceAll(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? "");
}

function promtoolTests(spec: ClusterSpec): { rules: AlertRule[]; file: string } {
  const t = alertThresholds(spec);
  const cases = scenarios(spec, t);
  const rules = alertGroups(spec).flatMap((group) => group.rules);
  const tests = rules.flatMap((rule) => {
    const scenario = cases[rule.alert];
    if (!scenario) throw new Error(`no promtool scenario for ${rule.alert}`);
    const labels = { ...scenario.labels, severity: rule.severity };
    // With a `for:`, the condition held one sample interval less than it: pending, not firing.
    const heldBack = rule.for
      ? [
          {
            name: `${rule.alert} waits for its for: ${rule.for}`,
            interval: "1m",
            input_series: lateBreach(scenario, Math.ceil(durationSeconds(rule.for) / 60) - 1),
            alert_rule_test: [{ eval_time: EVAL_AT, alertname: rule.alert, exp_alerts: [] }],
          },
        ]
      : [];
    return [
      ...heldBack,
      ...[true, false].map((breach) => ({
        name: `${rule.alert} ${breach ? "fires past" : "stays silent inside"} its threshold`,
        interval: "1m",
        input_series: scenario.series(breach),
        alert_rule_test: [
          {
            eval_time: EVAL_AT,
            alertname: rule.alert,
            exp_alerts: breach
              ? [
                  {
                    exp_labels: labels,
                    exp_annotations: {
                      summary: expand(rule.summary, labels),
                      description: expand(rule.description, labels),
                      runbook_url: runbookAnchor(rule.alert),
                    },
                  },
                ]
              : [],
          },
        ],
      })),
    ];
  });
  return {
    rules,
    file: stringify({ rule_files: ["alerts.yaml"], evaluation_interval: "1m", tests }, { lineWidth: 0 }),
  };
}

describe.each(["dev", "prod"] as const)("alerts.yaml of the %s stack", (stack) => {
  const spec = committedStackSpec(stack);
  const alerts = spec.monitoringFiles["alerts.yaml"];

  it("passes promtool check rules", () => {
    const run = promtool(["check", "rules", "alerts.yaml"], { "alerts.yaml": alerts });
    expect(run.output).toContain("SUCCESS");
    expect(run.status, run.output).toBe(0);
  });

  it("has every alert of the issue, each with severity, summary, description and runbook", () => {
    const rules = parse(alerts).groups.flatMap((group: { rules: unknown[] }) => group.rules);
    expect(rules.map((rule: { alert: string }) => rule.alert).sort()).toEqual(
      [
        "PgstackArchivingFailing",
        "PgstackArchivingStalled",
        "PgstackBackupTooOld",
        "PgstackCertificateExpiring",
        "PgstackCertificateExpiringSoon",
        "PgstackConnectionsExhausted",
        "PgstackConnectionsNearLimit",
        "PgstackDataVolumeAlmostFull",
        "PgstackDataVolumeFilling",
        "PgstackFewerReplicasThanConfigured",
        "PgstackFullBackupTooOld",
        "PgstackIdleInTransaction",
        "PgstackLongRunningQuery",
        "PgstackPostgresDown",
        "PgstackReplicaLagBytes",
        "PgstackReplicaLagSeconds",
        "PgstackReplicaNotStreaming",
        "PgstackRestoreDrillFailed",
        "PgstackRestoreDrillTooOld",
        "PgstackSettingsPendingRestart",
        "PgstackSlotLost",
        "PgstackSlotRetainingWal",
        "PgstackVerifyFailed",
        "PgstackWalPilingUp",
        "PgstackXidWraparoundApproaching",
        "PgstackXidWraparoundImminent",
        // The filesystem as the kubelet measures it: Kubernetes only.
        ...(spec.platform === "kubernetes" ? ["PgstackDataVolumeSpaceLow"] : []),
      ].sort(),
    );
    for (const rule of rules) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations.description, rule.alert).toMatch(/\S/);
      expect(rule.annotations.runbook_url, rule.alert).toBe(`README.md#${rule.alert.toLowerCase()}`);
    }
  });

  it("fires each alert past its threshold and not inside it, and not before its for: has elapsed (promtool test rules)", () => {
    const { rules, file } = promtoolTests(spec);
    expect(rules.length).toBeGreaterThanOrEqual(25);
    const run = promtool(["test", "rules", "tests.yaml"], { "alerts.yaml": alerts, "tests.yaml": file });
    expect(run.output).toContain("SUCCESS");
    expect(run.status, run.output).toBe(0);
  }, 60_000);
});

describe("README runbooks", () => {
  it("has a section for every alert of both stacks, where its runbook_url points", () => {
    const headings = readFileSync("README.md", "utf8")
      .split("\n")
      .filter((line) => line.startsWith("#### "))
      .map((line) => line.slice(5).trim());
    for (const stack of ["dev", "prod"] as const) {
      for (const group of alertGroups(committedStackSpec(stack))) {
        for (const rule of group.rules) {
          expect(headings, rule.alert).toContain(rule.alert);
          // GitHub's anchor of a heading: lowercased, spaces to dashes; alert names have neither.
          expect(runbookAnchor(rule.alert)).toBe(`README.md#${rule.alert.toLowerCase()}`);
        }
      }
    }
  });
});

describe("thresholds follow the stack config", () => {
  const expressions = (spec: ClusterSpec) =>
    Object.fromEntries(alertGroups(spec).flatMap((g) => g.rules.map((rule) => [rule.alert, rule.expr])));

  it("archive staleness follows archive_timeout, volume alerts follow storageSize", () => {
    const small = devSpecWith({ archiveTimeout: 30, storageSize: "10Gi" });
    const large = devSpecWith({ archiveTimeout: 300, storageSize: "500Gi" });
    const a = expressions(small);
    const b = expressions(large);
    expect(a.PgstackArchivingStalled).toContain("> 150 ");
    expect(b.PgstackArchivingStalled).toContain("> 960 ");
    expect(a.PgstackDataVolumeFilling).toMatch(/> 8589934592$/); // 80% of 10 GiB
    expect(b.PgstackDataVolumeFilling).toMatch(/> 429496729600$/); // 80% of 500 GiB
    expect(a.PgstackDataVolumeAlmostFull).not.toBe(b.PgstackDataVolumeAlmostFull);
    // The slot bound is max_slot_wal_keep_size (20% of the volume): 75% of it warns.
    expect(alertThresholds(small).slotBoundBytes).toBe(2 * 2 ** 30);
    expect(a.PgstackSlotRetainingWal).toMatch(/> 1610612736$/);
    expect(alertThresholds(large).slotBoundBytes).toBe(100 * 2 ** 30);
    // The replica lag bound is archive_timeout (at least 30 s).
    expect(a.PgstackReplicaLagSeconds).toMatch(/> 30$/);
    expect(b.PgstackReplicaLagSeconds).toMatch(/> 300$/);
  });

  it("connection alerts follow max_connections minus the reserved slots", () => {
    const spec = devSpecWith({ maxConnections: 100 });
    const t = alertThresholds(spec);
    expect(t.connectionSlots).toBe(97);
    expect(expressions(spec).PgstackConnectionsNearLimit).toMatch(/> 77$/);
    expect(expressions(spec).PgstackConnectionsExhausted).toMatch(/> 92$/);
  });

  it("backup and drill ages follow their cron schedules", () => {
    const weekly = devSpecWith({
      backupFullSchedule: "0 3 * * 0",
      backupDiffSchedule: "0 3 * * 1-6",
      restoreDrillSchedule: "0 4 * * *",
    });
    const weekdays = devSpecWith({
      backupFullSchedule: "0 2 1 * *",
      backupDiffSchedule: "30 2 * * 1-5",
      restoreDrillSchedule: "0 5 * * 1",
    });
    const hour = 3600;
    // A 10 Gi volume backs up well within the one-hour minimum grace.
    expect(alertThresholds(weekly).fullBackupMaxAgeSeconds).toBe(7 * 24 * hour + hour);
    expect(alertThresholds(weekly).anyBackupMaxAgeSeconds).toBe(24 * hour + hour);
    expect(alertThresholds(weekly).drillMaxAgeSeconds).toBe(24 * hour + hour);
    // Monthly fulls: the longest month; diffs on weekdays plus the first of the month: a weekend.
    expect(alertThresholds(weekdays).fullBackupMaxAgeSeconds).toBe(31 * 24 * hour + hour);
    expect(alertThresholds(weekdays).anyBackupMaxAgeSeconds).toBe(3 * 24 * hour + hour);
    expect(alertThresholds(weekdays).drillMaxAgeSeconds).toBe(7 * 24 * hour + hour);
  });

  it("a volume too large to back up in an hour widens the backup grace", () => {
    // 1 TiB at 50 MiB/s: 5.8 h, rounded up to 6 h.
    const t = alertThresholds(devSpecWith({ storageSize: "1Ti" }));
    expect(t.fullBackupMaxAgeSeconds).toBe(7 * 86_400 + 6 * 3600);
  });

  it("a stack without replicas has no replication alerts", () => {
    const rules = alertGroups(devSpecWith({ replicas: 0 })).flatMap((g) => g.rules.map((r) => r.alert));
    expect(rules).not.toContain("PgstackReplicaNotStreaming");
    expect(rules).not.toContain("PgstackSlotLost");
    expect(rules).toContain("PgstackArchivingStalled");
  });
});
