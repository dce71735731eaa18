import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { monitoringRoleSql } from "./monitoring-role";
import { SECRET_FILES } from "./secret-files";
import { REWIND_FUNCTIONS } from "./switchover";
import { fenceFunctionsSql } from "./switchover-gate";

/** An SQL identifier, double-quoted. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An SQL string literal. */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A file path as a single-quoted shell word (psql runs backtick commands through the shell). */
function shellPath(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * psql lines that create `role` (or, when it exists, reset it) with the password in `file`.
 * The password goes file → psql variable → quoted literal: never through argv or the environment.
 */
function upsertRole(role: string, attributes: string, file: string): string[] {
  return [
    `\\set pgstack_password \`cat ${shellPath(file)}\``,
    `SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(role)}) AS pgstack_missing \\gset`,
    "\\if :pgstack_missing",
    `CREATE ROLE ${quoteIdent(role)} WITH ${attributes} PASSWORD :'pgstack_password';`,
    "\\else",
    `ALTER ROLE ${quoteIdent(role)} WITH ${attributes} PASSWORD :'pgstack_password';`,
    "\\endif",
    "\\unset pgstack_password",
  ];
}

/**
 * init-roles.sh: creates the replication role, the application role and database, and the
 * pg_stat_statements extension. The official image runs it once at initdb from
 * /docker-entrypoint-initdb.d (sourced by bash, or executed); the proving ground runs it with sh.
 * Running it again is safe: existing roles get their password from the secret files again,
 * nothing is dropped.
 */
export function renderInitRoles(model: ClusterModel): string {
  const { postgres, layout } = model;
  const secret = (name: string) => `${layout.secretsDir}/${name}`;
  const header = commentLines([
    ...generatedHeader(model, "init-roles.sh"),
    "",
    "Runs once at initdb (the official image sources or executes /docker-entrypoint-initdb.d/*.sh),",
    "or by hand as the postgres OS user. Safe to run again: existing roles get their passwords",
    "reset from the secret files; nothing is dropped.",
    `Passwords are read by psql from ${layout.secretsDir}: never on a command line or in the`,
    "environment; logging is off for the session, so they never reach the server log either.",
    "Everything lives in one function with prefixed names: when sourced it must not disturb the",
    "entrypoint's variables, and a failure returns non-zero (the entrypoint runs with set -e).",
  ]);
  const sql = [
    "\\set ON_ERROR_STOP on",
    // Terse errors: a failing statement is not echoed back (LINE 1: ... PASSWORD '...').
    "\\set VERBOSITY terse",
    "-- Statements below carry passwords: keep them out of the server log and pg_stat_statements.",
    "SET log_statement = 'none';",
    "SET log_min_duration_statement = -1;",
    "SET log_min_error_statement = 'panic';",
    "SET log_duration = off;",
    "SET pg_stat_statements.track_utility = off;",
    "",
    "-- The role replicas stream as: replication only, no superuser, no database access (pg_hba).",
    ...upsertRole(postgres.replicationUser, "LOGIN REPLICATION", secret(SECRET_FILES.replicationPassword)),
    "",
    "-- pg_rewind of a former primary reads this server's files as the replication role: the four",
    "-- functions it calls, and nothing else (PostgreSQL 15 docs, pg_rewind: a non-superuser source role).",
    ...REWIND_FUNCTIONS.map(
      (fn) => `GRANT EXECUTE ON FUNCTION ${fn} TO ${quoteIdent(postgres.replicationUser)};`,
    ),
    "",
    "-- The application role, owner of the application database.",
    ...upsertRole(postgres.appUser, "LOGIN NOREPLICATION", secret(SECRET_FILES.appPassword)),
    "",
    "-- The superuser's password, when the platform provides it (the socket uses peer regardless).",
    "\\if :pgstack_superuser_password",
    `\\set pgstack_password \`cat ${shellPath(secret(SECRET_FILES.superuserPassword))}\``,
    `ALTER ROLE ${quoteIdent(postgres.superuser)} WITH PASSWORD :'pgstack_password';`,
    "\\unset pgstack_password",
    "\\endif",
    "-- No statement_timeout for the superuser (admin work, pgBackRest's backups): pg_backup_start",
    "-- waits for a full checkpoint, which with a large shared_buffers outlasts a server-wide timeout.",
    `ALTER ROLE ${quoteIdent(postgres.superuser)} SET statement_timeout = 0;`,
    "",
    `SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = ${quoteLiteral(postgres.database)}) AS pgstack_missing \\gset`,
    "\\if :pgstack_missing",
    `CREATE DATABASE ${quoteIdent(postgres.database)} OWNER ${quoteIdent(postgres.appUser)};`,
    "\\endif",
    "-- Only its owner (and the superuser) may connect: other roles get access by an explicit grant.",
    `REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(postgres.database)} FROM PUBLIC;`,
    "",
    "",
    ...monitoringRoleSql(model),
    "",
    ...fenceFunctionsSql(model),
    "",
    "-- Query statistics in the application database (the library is preloaded by postgresql.conf).",
    `\\connect ${quoteIdent(postgres.database)}`,
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
  ];
  const required = [SECRET_FILES.replicationPassword, SECRET_FILES.appPassword];
  return `#!/bin/sh
${header.join("\n")}

pgstack_init_roles() {
  pgstack_secrets=${shellPath(layout.secretsDir)}
  for pgstack_file in ${required.join(" ")}; do
    if [ ! -s "$pgstack_secrets/$pgstack_file" ]; then
      echo "init-roles: $pgstack_secrets/$pgstack_file is missing or empty; it is mounted from the cluster's secrets" >&2
      return 1
    fi
  done
  pgstack_superuser_password=false
  if [ -s "$pgstack_secrets/${SECRET_FILES.superuserPassword}" ]; then
    pgstack_superuser_password=true
  fi
  # PGHOST/PGPORT win when set: the image's temporary initdb server listens on PGPORT.
  psql --no-psqlrc --quiet \\
    -h "\${PGHOST:-${layout.socketDir}}" -p "\${PGPORT:-${layout.port}}" \\
    -U ${postgres.superuser} -d postgres \\
    -v pgstack_superuser_password="$pgstack_superuser_password" <<'SQL' || return 1
${sql.join("\n")}
SQL
  echo "init-roles: roles ${postgres.replicationUser} and ${postgres.appUser}, database ${postgres.database} ready."
}

pgstack_init_roles
`;
}
