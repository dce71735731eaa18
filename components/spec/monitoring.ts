import type { StackConfig } from "../config/stack-config";
import type { MonitoringSpec } from "./cluster-spec";
import {
  ALERTMANAGER_IMAGE,
  POSTGRES_EXPORTER_IMAGE,
  PROMETHEUS_IMAGE,
  PUSHGATEWAY_IMAGE,
} from "./monitoring-images";

/** The exporter's default port (prometheus-community/postgres_exporter, `--web.listen-address`). */
export const EXPORTER_PORT = 9187;
/** The Pushgateway's default port. */
export const PUSHGATEWAY_PORT = 9091;

/** Name of the Pushgateway's container (Docker) or Service (Kubernetes). */
export function pushgatewayName(clusterName: string): string {
  return `${clusterName}-pushgateway`;
}

/**
 * The exporter runs as `nobody` (uid 65534), the user its image declares. The PostgreSQL image is
 * Debian, whose passwd names uid 65534 `nobody` too: peer authentication on the shared socket sees
 * that name, and pg_ident maps it to the monitoring role. No password exists for the role.
 */
const EXPORTER_OS_USER = "nobody";
const EXPORTER_UID = 65534;

/** Who scrapes the members and how their series are labelled, from the stack config. */
export function monitoringSpec(config: StackConfig, clusterName: string, namespace: string): MonitoringSpec {
  // Docker resolves container names on the stack's network; Kubernetes the Service's DNS name.
  const pushgatewayHost =
    config.platform === "docker"
      ? pushgatewayName(clusterName)
      : `${pushgatewayName(clusterName)}.${namespace}.svc.cluster.local`;
  return {
    enabled: config.monitoring,
    namespace: config.monitoringNamespace,
    role: "pgstack_monitor",
    osUser: EXPORTER_OS_USER,
    osUid: EXPORTER_UID,
    exporterPort: EXPORTER_PORT,
    clusterLabel: "pgstack_cluster",
    memberLabel: "pgstack_member",
    images: {
      exporter: POSTGRES_EXPORTER_IMAGE,
      prometheus: PROMETHEUS_IMAGE,
      alertmanager: ALERTMANAGER_IMAGE,
      pushgateway: PUSHGATEWAY_IMAGE,
    },
    pushgatewayUrl: `http://${pushgatewayHost}:${PUSHGATEWAY_PORT}`,
  };
}
