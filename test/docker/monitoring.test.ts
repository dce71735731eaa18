import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exporterHost } from "../../components/docker/monitoring";
import {
  PROMETHEUS_RULES_DIR,
  renderAlertmanagerConfig,
  renderPrometheusConfig,
} from "../../components/render/prometheus-config";
import {
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  MOCK_EPHEMERAL_PORT,
  ofType,
  uploadsOf,
} from "./mock-deployment";

let dev: Deployment;
let withoutMonitoring: Deployment;
beforeAll(async () => {
  dev = await deployDockerCluster("dev");
  withoutMonitoring = await deployDockerCluster("dev", { "pgstack:monitoring": "false" });
});

const upload = (container: string, file: string) =>
  uploadsOf(containerNamed(dev, container)).find((u) => u.file === file);

describe("the exporter beside each member", () => {
  it("runs the pinned postgres_exporter as nobody, on the member's socket volume read-only", () => {
    for (const member of dev.spec.members) {
      const exporter = containerNamed(dev, `pgstack-dev-${member.name}-exporter`);
      expect(exporter.inputs.image).toMatch(
        /^quay\.io\/prometheuscommunity\/postgres-exporter:v[\d.]+@sha256:[0-9a-f]{64}$/,
      );
      expect(exporter.inputs.user).toBe("65534:65534");
      expect(exporter.inputs.mounts).toEqual([
        {
          type: "volume",
          source: `pgstack-dev-${member.name}-socket`,
          target: "/var/run/postgresql",
          readOnly: true,
        },
      ]);
      const postgres = containerNamed(dev, `pgstack-dev-${member.name}`);
      expect(postgres.inputs.mounts).toContainEqual({
        type: "volume",
        source: `pgstack-dev-${member.name}-socket`,
        target: "/var/run/postgresql",
      });
      expect(exporter.inputs.capabilities).toEqual({ drops: ["ALL"] });
      expect(exporter.inputs.ports).toBeUndefined();
    }
  });

  it("holds no password: its environment is a socket path and a role name", () => {
    const exporter = containerNamed(dev, "pgstack-dev-primary-exporter");
    expect(exporter.inputs.envs).toEqual([
      "DATA_SOURCE_NAME=postgresql://pgstack_monitor@:5432/postgres?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable",
    ]);
    for (const secret of dev.secretValues) expect(JSON.stringify(exporter.inputs)).not.toContain(secret);
  });

  it("runs the rendered queries, uploaded read-only", () => {
    expect(
      upload("pgstack-dev-primary-exporter", "/etc/pgstack-exporter/exporter-queries.yaml"),
    ).toMatchObject({
      content: dev.spec.monitoringFiles["exporter-queries.yaml"],
      permissions: "0444",
      owner: "0",
    });
  });

  it("still runs with pgstack:monitoring=false, without Prometheus and Alertmanager", () => {
    const names = ofType(withoutMonitoring, CONTAINER).map((c) => String(c.inputs.name));
    expect(names).toContain("pgstack-dev-primary-exporter");
    expect(names.filter((n) => /prometheus|alertmanager/.test(n))).toEqual([]);
    expect(withoutMonitoring.outputs.prometheusUrl).toBeUndefined();
  });
});

describe("Prometheus and Alertmanager (pgstack:monitoring)", () => {
  it("loads exactly the rendered alerts.yaml and scrapes every exporter with cluster and member labels", () => {
    expect(upload("pgstack-dev-prometheus", `${PROMETHEUS_RULES_DIR}/alerts.yaml`)?.content).toBe(
      dev.spec.monitoringFiles["alerts.yaml"],
    );
    const config = parse(String(upload("pgstack-dev-prometheus", "/etc/prometheus/prometheus.yml")?.content));
    expect(config.rule_files).toEqual([`${PROMETHEUS_RULES_DIR}/alerts.yaml`]);
    expect(config.scrape_configs[0].static_configs).toEqual(
      dev.spec.members.map((member) => ({
        targets: [`${exporterHost(dev.spec, member)}:9187`],
        labels: { pgstack_cluster: "pgstack-dev", pgstack_member: member.name },
      })),
    );
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual([
      "pgstack-dev-alertmanager:9093",
    ]);
    // The runner's job results, with the labels they were pushed with.
    expect(config.scrape_configs[1]).toEqual({
      job_name: "pgstack_backup_runner",
      honor_labels: true,
      static_configs: [{ targets: ["pgstack-dev-pushgateway:9091"] }],
    });
  });

  it("publishes the UI on 127.0.0.1 only and names its address in the outputs", () => {
    const prometheus = containerNamed(dev, "pgstack-dev-prometheus");
    expect(prometheus.inputs.ports).toEqual([{ internal: 9090, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(dev.outputs.prometheusUrl).toBe(`http://127.0.0.1:${MOCK_EPHEMERAL_PORT}`);
    expect(containerNamed(dev, "pgstack-dev-alertmanager").inputs.ports).toBeUndefined();
  });

  it("their configs pass promtool check config and amtool check-config", () => {
    const dir = mkdtempSync(join(tmpdir(), "pgstack-prometheus-"));
    writeFileSync(join(dir, "alerts.yaml"), dev.spec.monitoringFiles["alerts.yaml"]);
    writeFileSync(
      join(dir, "prometheus.yml"),
      renderPrometheusConfig(dev.spec, {
        exporterAddress: (member) => `${exporterHost(dev.spec, member)}:9187`,
        alertmanagers: ["pgstack-dev-alertmanager:9093"],
        rulesDir: dir,
      }),
    );
    writeFileSync(join(dir, "alertmanager.yml"), renderAlertmanagerConfig(dev.spec));
    const prometheus = spawnSync("/usr/bin/promtool", ["check", "config", join(dir, "prometheus.yml")], {
      encoding: "utf8",
    });
    expect(prometheus.status, prometheus.stdout + prometheus.stderr).toBe(0);
    const alertmanager = spawnSync("/usr/bin/amtool", ["check-config", join(dir, "alertmanager.yml")], {
      encoding: "utf8",
    });
    expect(alertmanager.status, alertmanager.stdout + alertmanager.stderr).toBe(0);
    expect(upload("pgstack-dev-alertmanager", "/etc/alertmanager/alertmanager.yml")?.content).toBe(
      renderAlertmanagerConfig(dev.spec),
    );
  });

  it("runs the Pushgateway the runner's report-job.sh pushes to, its results kept on a volume", () => {
    const pushgateway = containerNamed(dev, "pgstack-dev-pushgateway");
    expect(pushgateway.inputs.image).toMatch(/^prom\/pushgateway:v[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(pushgateway.inputs.mounts).toEqual([
      { type: "volume", source: "pgstack-dev-pushgateway-store", target: "/pushgateway" },
    ]);
    expect(pushgateway.inputs.command).toContain("--persistence.file=/pushgateway/results.data");
    expect(pushgateway.inputs.ports).toBeUndefined();
    expect(dev.spec.monitoring.pushgatewayUrl).toBe("http://pgstack-dev-pushgateway:9091");
  });
});
