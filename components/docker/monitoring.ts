import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  EXPORTER_QUERIES_DIR,
  EXPORTER_QUERIES_FILE,
  exporterArgs,
  exporterDataSource,
} from "../render/exporter-command";
import {
  ALERT_RULES_FILE,
  PROMETHEUS_RULES_DIR,
  renderAlertmanagerConfig,
  renderPrometheusConfig,
} from "../render/prometheus-config";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { memberResourceName } from "../spec/layout";
import { PUSHGATEWAY_PORT, pushgatewayName } from "../spec/monitoring";
import { configFile } from "./config-files";
import { dockerLabels, MEMBER_LABEL } from "./labels";
import { PUBLISH_ADDRESS } from "./network";
import { logOptions, unprivileged } from "./runtime";

const PROMETHEUS_PORT = 9090;
const ALERTMANAGER_PORT = 9093;

/** Memory (MB) and CPUs of each monitoring container: small, fixed, never taken from PostgreSQL's budget. */
const MEMORY_MB = { exporter: 128, prometheus: 512, alertmanager: 128, pushgateway: 64 } as const;
const CPUS = { exporter: "0.25", prometheus: "0.5", alertmanager: "0.25", pushgateway: "0.25" } as const;

/** A busybox `wget` of a local URL: the Prometheus project's images ship busybox, not curl. */
const httpHealthcheck = (url: string, startPeriod = "30s"): docker.types.input.ContainerHealthcheck => ({
  tests: ["CMD", "wget", "-q", "-O", "/dev/null", url],
  interval: "30s",
  timeout: "5s",
  retries: 3,
  startPeriod,
});

/** Host name of a member's exporter on the stack's network. */
export function exporterHost(spec: ClusterSpec, member: MemberSpec): string {
  return `${spec.layout.hosts[member.name]}-exporter`;
}

/**
 * The Docker volume holding a member's PostgreSQL socket directory, which its exporter mounts
 * read-only. Docker fills a new volume from the image's directory (postgres-owned, mode 3777).
 */
export function memberSocketVolume(spec: ClusterSpec, member: MemberSpec, parent: pulumi.Resource) {
  const name = `${memberResourceName(spec.name, member)}-socket`;
  return new docker.Volume(
    name,
    {
      name,
      driver: "local",
      labels: dockerLabels(spec, member.role, { [MEMBER_LABEL]: member.name, "pgstack.content": "socket" }),
    },
    { parent },
  );
}

export interface DevMonitoringArgs {
  readonly spec: ClusterSpec;
  readonly network: docker.Network;
  /** Each member's socket volume, by member name. */
  readonly sockets: ReadonlyMap<string, docker.Volume>;
  /** The member containers: an exporter starts after its member. */
  readonly members: ReadonlyMap<string, docker.Container>;
}

/**
 * Monitoring of a dev stack: the postgres_exporter beside each member (always), and with
 * pgstack:monitoring Prometheus (the rendered alerts.yaml, its UI published on 127.0.0.1 only, on
 * a port Docker picks), Alertmanager and the Pushgateway for the runner's job results, on the
 * stack's network.
 */
export class DevMonitoring extends pulumi.ComponentResource {
  /** Address of the Prometheus UI on this host; undefined without pgstack:monitoring. */
  readonly prometheusUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: DevMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:docker:Monitoring", name, {}, opts);
    const { spec, network } = args;
    const { monitoring } = spec;
    const common = {
      restart: "unless-stopped",
      ...unprivileged(),
      ...logOptions(),
    };

    for (const member of spec.members) {
      const host = exporterHost(spec, member);
      new docker.Container(
        `${name}-${member.name}-exporter`,
        {
          name: `${memberResourceName(spec.name, member)}-exporter`,
          hostname: host,
          image: monitoring.images.exporter,
          // The OS user pg_ident maps to the monitoring role: no password exists for it.
          user: `${monitoring.osUid}:${monitoring.osUid}`,
          command: exporterArgs(spec),
          envs: [`DATA_SOURCE_NAME=${exporterDataSource(spec)}`],
          uploads: [
            configFile(
              `${EXPORTER_QUERIES_DIR}/${EXPORTER_QUERIES_FILE}`,
              spec.monitoringFiles["exporter-queries.yaml"],
            ),
          ],
          mounts: [
            {
              type: "volume",
              source: (args.sockets.get(member.name) as docker.Volume).name,
              target: spec.layout.socketDir,
              readOnly: true,
            },
          ],
          networksAdvanced: [{ name: network.name, aliases: [host] }],
          memory: MEMORY_MB.exporter,
          memorySwap: MEMORY_MB.exporter,
          cpus: CPUS.exporter,
          healthcheck: httpHealthcheck(`http://127.0.0.1:${monitoring.exporterPort}/`),
          labels: dockerLabels(spec, "exporter", { [MEMBER_LABEL]: member.name }),
          ...common,
        },
        {
          parent: this,
          dependsOn: [args.members.get(member.name) as docker.Container],
          deleteBeforeReplace: true,
        },
      );
    }

    if (!monitoring.enabled) {
      this.prometheusUrl = pulumi.output(undefined);
      this.registerOutputs({ prometheusUrl: this.prometheusUrl });
      return;
    }

    const alertmanagerHost = `${spec.name}-alertmanager`;
    new docker.Container(
      `${name}-alertmanager`,
      {
        name: alertmanagerHost,
        hostname: alertmanagerHost,
        image: monitoring.images.alertmanager,
        command: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
        uploads: [configFile("/etc/alertmanager/alertmanager.yml", renderAlertmanagerConfig(spec))],
        networksAdvanced: [{ name: network.name, aliases: [alertmanagerHost] }],
        memory: MEMORY_MB.alertmanager,
        memorySwap: MEMORY_MB.alertmanager,
        cpus: CPUS.alertmanager,
        healthcheck: httpHealthcheck(`http://127.0.0.1:${ALERTMANAGER_PORT}/-/ready`),
        labels: dockerLabels(spec, "alertmanager"),
        ...common,
      },
      // Container names are fixed: the old one must go before its replacement is created.
      { parent: this, deleteBeforeReplace: true },
    );

    // The backup runner's jobs push their outcome here (report-job.sh); kept on a volume, so a
    // restart does not forget when the last backup succeeded.
    const pushgatewayHost = pushgatewayName(spec.name);
    const pushgatewayStore = new docker.Volume(
      `${name}-pushgateway-store`,
      {
        name: `${spec.name}-pushgateway-store`,
        driver: "local",
        labels: dockerLabels(spec, "pushgateway", { "pgstack.content": "job-results" }),
      },
      { parent: this },
    );
    new docker.Container(
      `${name}-pushgateway`,
      {
        name: pushgatewayHost,
        hostname: pushgatewayHost,
        image: monitoring.images.pushgateway,
        command: [
          `--web.listen-address=:${PUSHGATEWAY_PORT}`,
          "--persistence.file=/pushgateway/results.data",
          "--persistence.interval=1m",
        ],
        mounts: [{ type: "volume", source: pushgatewayStore.name, target: "/pushgateway" }],
        networksAdvanced: [{ name: network.name, aliases: [pushgatewayHost] }],
        memory: MEMORY_MB.pushgateway,
        memorySwap: MEMORY_MB.pushgateway,
        cpus: CPUS.pushgateway,
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PUSHGATEWAY_PORT}/-/ready`),
        labels: dockerLabels(spec, "pushgateway"),
        ...common,
      },
      { parent: this, deleteBeforeReplace: true },
    );

    // Publishing needs a network with a gateway; the stack's own may be internal (MinIO).
    const publish = new docker.Network(
      `${name}-prometheus-publish`,
      {
        name: `${spec.name}-prometheus-publish`,
        driver: "bridge",
        internal: false,
        attachable: false,
        options: { "com.docker.network.bridge.host_binding_ipv4": PUBLISH_ADDRESS },
        labels: dockerLabels(spec, "network", { "pgstack.purpose": "prometheus-publish" }),
      },
      { parent: this },
    );
    const prometheusHost = `${spec.name}-prometheus`;
    // Metrics only: not protected like the database's data (losing them loses history, not data).
    const prometheusData = new docker.Volume(
      `${name}-prometheus-tsdb`,
      {
        name: `${spec.name}-prometheus-tsdb`,
        driver: "local",
        labels: dockerLabels(spec, "prometheus", { "pgstack.content": "metrics" }),
      },
      { parent: this },
    );
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        name: prometheusHost,
        hostname: prometheusHost,
        image: monitoring.images.prometheus,
        command: [
          "--config.file=/etc/prometheus/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          "--storage.tsdb.retention.time=15d",
          `--web.listen-address=:${PROMETHEUS_PORT}`,
        ],
        uploads: [
          configFile(
            "/etc/prometheus/prometheus.yml",
            renderPrometheusConfig(spec, {
              exporterAddress: (member) => `${exporterHost(spec, member)}:${monitoring.exporterPort}`,
              alertmanagers: [`${alertmanagerHost}:${ALERTMANAGER_PORT}`],
              pushgateway: `${pushgatewayHost}:${PUSHGATEWAY_PORT}`,
            }),
          ),
          configFile(`${PROMETHEUS_RULES_DIR}/${ALERT_RULES_FILE}`, spec.monitoringFiles["alerts.yaml"]),
        ],
        mounts: [{ type: "volume", source: prometheusData.name, target: "/prometheus" }],
        networksAdvanced: [{ name: network.name, aliases: [prometheusHost] }, { name: publish.name }],
        // Docker picks a free host port, on the loopback only; the stack output says which.
        ports: [{ internal: PROMETHEUS_PORT, ip: PUBLISH_ADDRESS, protocol: "tcp" }],
        memory: MEMORY_MB.prometheus,
        memorySwap: MEMORY_MB.prometheus,
        cpus: CPUS.prometheus,
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`),
        labels: dockerLabels(spec, "prometheus"),
        ...common,
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.prometheusUrl = prometheus.ports.apply((ports) => {
      const published = ports?.find((port) => port.internal === PROMETHEUS_PORT)?.external;
      return published === undefined ? undefined : `http://${PUBLISH_ADDRESS}:${published}`;
    });
    this.registerOutputs({ prometheusUrl: this.prometheusUrl });
  }
}
