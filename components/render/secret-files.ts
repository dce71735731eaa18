/**
 * Names of the password files in `layout.secretsDir`, mounted read-only from the cluster's
 * secrets. Scripts read passwords from these files only: never from a command line or an
 * environment value.
 */
export const SECRET_FILES = {
  /** Bootstrap superuser (POSTGRES_PASSWORD_FILE of the official image). */
  superuserPassword: "superuser-password",
  /** Replication role: replicas' pg_basebackup and streaming. */
  replicationPassword: "replication-password",
  /** Application role. */
  appPassword: "app-password",
} as const;
