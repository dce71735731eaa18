import type { ClusterModel } from "../spec/build-cluster-spec";
import { MONITORING_DATABASE } from "./monitoring-role";

/** Where the exporter finds the rendered custom queries (read-only, beside the member's config). */
export const EXPORTER_QUERIES_DIR = "/etc/pgstack-exporter";
export const EXPORTER_QUERIES_FILE = "exporter-queries.yaml";

/**
 * The exporter's connection: the member's own socket, the monitoring role, the monitoring
 * database, no password (peer authentication). libpq reads the socket directory from `host`.
 */
export function exporterDataSource(model: ClusterModel, socketDir = model.layout.socketDir): string {
  const query = new URLSearchParams({ host: socketDir, sslmode: "disable" });
  return `postgresql://${model.monitoring.role}@:${model.layout.port}/${MONITORING_DATABASE}?${query}`;
}

/** The exporter's arguments: listen on the metrics port, run the rendered queries. */
export function exporterArgs(
  model: ClusterModel,
  queriesFile = `${EXPORTER_QUERIES_DIR}/${EXPORTER_QUERIES_FILE}`,
  listenAddress = `:${model.monitoring.exporterPort}`,
): string[] {
  return [`--web.listen-address=${listenAddress}`, `--extend.query-path=${queriesFile}`];
}
