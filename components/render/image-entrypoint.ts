import type { ClusterModel } from "../spec/build-cluster-spec";
import { SECRET_FILES } from "./secret-files";

/**
 * How the official PostgreSQL image's entrypoint (docker-entrypoint.sh) is driven: on an empty
 * PGDATA it runs initdb, then every script in INITDB_SCRIPTS_DIR against a temporary server, then
 * execs the command. Both platforms start the primary through it, so both take these from here.
 */

/** Where the entrypoint looks for scripts to run once, right after initdb. */
export const INITDB_SCRIPTS_DIR = "/docker-entrypoint-initdb.d";

/**
 * initdb options. Page checksums: silent corruption is reported on read (and by pgBackRest
 * during backups) instead of being copied into every backup. They can only be chosen at initdb.
 */
export const INITDB_ARGS = "--data-checksums";

/**
 * The entrypoint's environment, as name → value: paths and names only, never a secret value
 * (the superuser's password is read from POSTGRES_PASSWORD_FILE).
 */
export function entrypointEnvironment(model: ClusterModel): Record<string, string> {
  const { layout, postgres } = model;
  return {
    PGDATA: layout.dataDir,
    POSTGRES_USER: postgres.superuser,
    POSTGRES_PASSWORD_FILE: `${layout.secretsDir}/${SECRET_FILES.superuserPassword}`,
    POSTGRES_INITDB_ARGS: INITDB_ARGS,
  };
}
