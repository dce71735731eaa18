import { stringify } from "yaml";
import type { ClusterModel } from "../spec/build-cluster-spec";
import type { MemberSpec } from "../spec/cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { PUSH_JOB } from "./job-metrics";

/** Where a Prometheus of the stack reads its rules, and the file names in that directory. */
export const PROMETHEUS_RULES_DIR = "/etc/prometheus/rules";
export const ALERT_RULES_FILE = "alerts.yaml";

/** Scrape and evaluation interval of the dev Prometheus: well under the rules' shortest `for:` (1m). */
export const DEV_SCRAPE_INTERVAL = "30s";

export interface PrometheusSetupOptions {
  /** host:port of the exporter beside a member. */
  readonly exporterAddress: (member: MemberSpec) => string;
  /** host:port of each Alertmanager; none = alerts are evaluated but sent nowhere. */
  readonly alertmanagers?: readonly string[];
  /** host:port of the Pushgateway the backup runner pushes job results to, when one runs. */
  readonly pushgateway?: string;
  /** Directory holding alerts.yaml as Prometheus sees it. */
  readonly rulesDir?: string;
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
}

/** A Prometheus configuration for the stack, and the rule files it loads. */
export interface PrometheusSetup {
  /** prometheus.yml as an object (render with `yaml`). */
  readonly config: Record<string, unknown>;
  /** Absolute paths of the rule files named in `config.rule_files`. */
  readonly ruleFiles: readonly string[];
}

/**
 * How a Prometheus scrapes this stack: one target per member's exporter, labelled with the cluster
 * and member names the rules select on (as the Kubernetes PodMonitor labels them), and the rendered
 * alerts.yaml. The dev platform uses it as is; the proving ground passes its own addresses,
 * directory and shorter intervals (the rules keep their production `for:` durations).
 */
export function prometheusSetup(model: ClusterModel, options: PrometheusSetupOptions): PrometheusSetup {
  const { clusterLabel, memberLabel } = model.monitoring;
  const rulesDir = options.rulesDir ?? PROMETHEUS_RULES_DIR;
  const ruleFiles = [`${rulesDir}/${ALERT_RULES_FILE}`];
  const scrapeConfigs: Record<string, unknown>[] = [
    {
      job_name: "pgstack-exporter",
      static_configs: model.members.map((member) => ({
        targets: [options.exporterAddress(member)],
        labels: { [clusterLabel]: model.name, [memberLabel]: member.name },
      })),
    },
  ];
  if (options.pushgateway) {
    scrapeConfigs.push({
      job_name: PUSH_JOB,
      // The pushed series carry the runner's own job and cluster labels: keep them.
      honor_labels: true,
      static_configs: [{ targets: [options.pushgateway] }],
    });
  }
  return {
    config: {
      global: {
        scrape_interval: options.scrapeInterval ?? DEV_SCRAPE_INTERVAL,
        evaluation_interval: options.evaluationInterval ?? DEV_SCRAPE_INTERVAL,
      },
      rule_files: ruleFiles,
      ...(options.alertmanagers && options.alertmanagers.length > 0
        ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [...options.alertmanagers] }] }] } }
        : {}),
      scrape_configs: scrapeConfigs,
    },
    ruleFiles,
  };
}

export function renderPrometheusConfig(model: ClusterModel, options: PrometheusSetupOptions): string {
  const header = commentLines(generatedHeader(model, "prometheus.yml"));
  return `${header.join("\n")}\n${stringify(prometheusSetup(model, options).config, { lineWidth: 0 })}`;
}

/**
 * Alertmanager of a dev stack: alerts grouped per cluster, member and alert, kept and shown in its
 * UI and by `amtool`. The receiver has no integration: add a webhook, e-mail or chat config to it
 * to be notified.
 */
export function renderAlertmanagerConfig(model: ClusterModel): string {
  const { clusterLabel, memberLabel } = model.monitoring;
  const header = commentLines(generatedHeader(model, "alertmanager.yml"));
  const config = {
    route: {
      receiver: model.name,
      group_by: ["alertname", clusterLabel, memberLabel],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
    },
    receivers: [{ name: model.name }],
  };
  return `${header.join("\n")}\n${stringify(config, { lineWidth: 0 })}`;
}
