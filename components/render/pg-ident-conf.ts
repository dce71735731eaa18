import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";

/** Name of the ident map pg_hba.conf's monitoring rule uses. */
export const MONITORING_IDENT_MAP = "pgstack_monitoring";

/**
 * pg_ident.conf: one map, letting the exporter's OS user (and no other) log in as the monitoring
 * role over the local socket with peer authentication. The exporter then holds no password at all.
 */
export function renderPgIdentConf(model: ClusterModel): string {
  const { osUser, role } = model.monitoring;
  const lines = commentLines([
    ...generatedHeader(model, "pg_ident.conf"),
    "",
    `The postgres_exporter beside each member runs as OS user ${osUser}; over the shared socket,`,
    `peer authentication sees that name and this map admits it as ${role} (pg_monitor) only.`,
  ]);
  lines.push("", "# MAPNAME  SYSTEM-USERNAME  PG-USERNAME", `${MONITORING_IDENT_MAP}  ${osUser}  ${role}`);
  return `${lines.join("\n")}\n`;
}
