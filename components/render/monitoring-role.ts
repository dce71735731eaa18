import type { ClusterModel } from "../spec/build-cluster-spec";

/**
 * The database the exporter connects to. Every statistic it reads is cluster-wide, and the
 * application database admits only its owner (init-roles revokes CONNECT from PUBLIC).
 */
export const MONITORING_DATABASE = "postgres";

/**
 * psql lines creating the exporter's role, for the role initialisation SQL (run as the superuser,
 * connected to any database). Safe to run on every start: an existing role is brought back to
 * exactly these attributes. The role holds pg_monitor (read-only statistics, pg_ls_waldir,
 * pg_ls_archive_statusdir) and nothing else; it has no password, and pg_hba admits it only by peer
 * over the local socket through the pg_ident map.
 */
export function monitoringRoleSql(model: ClusterModel): string[] {
  const role = `"${model.monitoring.role.replaceAll('"', '""')}"`;
  const literal = `'${model.monitoring.role.replaceAll("'", "''")}'`;
  return [
    "-- The exporter's role: pg_monitor's read-only statistics, no password (peer on the socket only).",
    `SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal}) AS pgstack_missing \\gset`,
    "\\if :pgstack_missing",
    `CREATE ROLE ${role};`,
    "\\endif",
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3 PASSWORD NULL;`,
    `GRANT pg_monitor TO ${role};`,
    "-- A scrape that hangs must not pile up: each query of the exporter ends within 10 seconds.",
    `ALTER ROLE ${role} SET statement_timeout = '10s';`,
  ];
}
