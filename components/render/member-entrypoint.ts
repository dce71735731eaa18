import type { ClusterModel } from "../spec/build-cluster-spec";
import { memberPgbackrest, renderCommands, restoreCommand } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { SECRET_FILES } from "./secret-files";
import { shellCommand, shellQuote } from "./shell-quote";

/**
 * start-member.sh: what every PostgreSQL container runs, on both platforms, under tini as PID 1
 * (`commands.memberStart`). It replaces the official image's docker-entrypoint.sh, so the pods,
 * the Docker containers and the proving ground run one script and nothing has to be imitated:
 * - creates the directories the rendered configuration writes to (spool, pgBackRest log and lock
 *   paths), which live on volumes that start empty;
 * - a replica clones the primary into an empty volume (bootstrap-replica.sh);
 * - vets the data directory (check-data-dir.sh) and stops on anything but a complete cluster;
 * - a primary with an empty volume initialises one only when the stack's repository holds no
 *   stanza: where the stack already has a database, an initdb would serve an empty one in its
 *   place, so it refuses and says how to restore;
 * - a primary applies roles and passwords from the secret files on every start (init-roles.sh,
 *   against a server listening on a private socket only, so no probe or client sees it early),
 *   and right after its initdb creates the stanza, so the very first WAL segment can be archived;
 * - then execs PostgreSQL, which tini supervises: tini reaps orphans (pgBackRest's detached
 *   archive-push workers, timed-out probes), which the postmaster would take for crashed backends.
 * No secret is read into the environment: initdb and psql read the password files themselves.
 */

/** Seconds the private-socket server may take to start (crash recovery of a large WAL backlog). */
export const ROLES_SERVER_START_TIMEOUT_SECONDS = 1800;

/** initdb options. Page checksums can only be chosen here: corruption is reported on read. */
export function initdbArguments(model: ClusterModel): string[] {
  const { layout, postgres } = model;
  return [
    `--username=${postgres.superuser}`,
    `--pwfile=${layout.secretsDir}/${SECRET_FILES.superuserPassword}`,
    "--auth-local=peer",
    "--auth-host=scram-sha-256",
    "--data-checksums",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ];
}

export function renderStartMember(model: ClusterModel): string {
  const { layout, postgres, archive } = model;
  const repoLs = memberPgbackrest(model, "repo-ls").filter((arg) => !arg.startsWith("--stanza="));
  const restore = restoreCommand(model, { type: "latest" });
  const stanzaCreate = memberPgbackrest(model, "stanza-create");
  const header = commentLines([
    ...generatedHeader(model, "start-member.sh"),
    "",
    "Usage: start-member.sh primary | replica SLOT (POSIX sh, as the PostgreSQL OS user, under tini).",
    "What every PostgreSQL container runs: runtime directories, replica bootstrap, integrity check,",
    "initdb only where the stack has no database yet, roles and passwords from the secret files,",
    "then exec postgres. Never deletes, moves or re-initialises an existing data directory.",
  ]);
  return `#!/bin/sh
${header.join("\n")}
set -eu

data_dir=${shellQuote(layout.dataDir)}
config_dir=${shellQuote(layout.configDir)}
stanza=${shellQuote(archive.stanza)}

die() {
  echo "pgstack: $*" >&2
  exit 1
}

role=\${1:-}
case "$role" in
  primary) ;;
  replica)
    slot=\${2:-}
    [ -n "$slot" ] || { echo "usage: $0 primary | replica SLOT" >&2; exit 2; }
    ;;
  *)
    echo "usage: $0 primary | replica SLOT" >&2
    exit 2
    ;;
esac

# Directories the rendered configuration writes to. They live on volumes that start empty (the
# data volume, /tmp), so they are made here on every start; pgBackRest does not create them.
umask 077
mkdir -p ${[layout.spoolPath, layout.pgbackrestLogPath, layout.pgbackrestLockPath].map(shellQuote).join(" ")}

if [ "$role" = replica ]; then
  sh "$config_dir/bootstrap-replica.sh" "$slot"
fi

sh "$config_dir/check-data-dir.sh" "$data_dir" ${postgres.version}

# refuse_initdb DETAIL...: the volume is empty but the stack may already have a database.
refuse_initdb() {
  {
    echo "pgstack: refusing to initialise a new database in $data_dir: $1"
    shift
    for line in "$@"; do
      echo "  $line"
    done
    echo "  Nothing was written to the data directory or to the repository."
  } >&2
  exit 1
}

if [ "$role" = primary ] && [ ! -f "$data_dir/PG_VERSION" ]; then
  # An empty volume is a restore, not an initdb, wherever the stack already has a database: ask
  # the repository (read-only) whether the stanza exists before initialising anything.
  # Only the listing (stdout) says what exists: warnings on stderr must not count as objects.
  errors=$(mktemp)
  for area in backup archive; do
    if ! listing=$(${shellCommand(repoLs)} "$area/$stanza" 2>"$errors"); then
      refuse_initdb "the repository could not be read, so it is unknown whether this stack already has a database:" \\
        "$(cat "$errors")" \\
        "The member retries on its next start; fix access to the repository (network, credentials, bucket)."
    fi
    if [ -n "$listing" ]; then
      refuse_initdb "the repository already holds stanza $stanza ($area/$stanza): this stack has a database," \\
        "and a new, empty one here would take its place. The volume was lost or replaced." \\
        "" \\
        "Restore it into this empty directory instead, as the postgres OS user, with this member stopped" \\
        "(latest backup plus every archived WAL segment):" \\
        "  ${shellCommand(restore)}" \\
        "or to a point in time: add --type=time --target='YYYY-MM-DD HH:MM:SS+00' --target-action=promote" \\
        "Then start the member again." \\
        "" \\
        "Only if this stack's data is meant to be discarded for good: stop archiving and delete the stanza" \\
        "(pgbackrest stop; pgbackrest stanza-delete --force), which removes every backup and archived WAL."
    fi
  done
  rm -f "$errors"
  echo "pgstack: $data_dir is empty and the repository has no stanza $stanza: initialising a new cluster."
  initdb -D "$data_dir" ${initdbArguments(model).map(shellQuote).join(" ")}
  initialised=yes
fi

if [ "$role" = primary ] && [ ! -f "$data_dir/standby.signal" ]; then
  # Roles and passwords from the secret files, on every start: a changed password reaches the
  # database with the next start. The server listens on a private socket only, so neither a
  # healthcheck nor a client can take it for the real one.
  private_socket=$(mktemp -d)
  pg_ctl start -D "$data_dir" -w -t ${ROLES_SERVER_START_TIMEOUT_SECONDS} -o "-c config_file=$config_dir/postgresql.conf -c listen_addresses='' -c unix_socket_directories=$private_socket"
  status=0
  PGHOST=$private_socket sh "$config_dir/init-roles.sh" || status=$?
  if [ "$status" -eq 0 ] && [ "\${initialised:-}" = yes ]; then
    # The stanza, before the first segment is archived. Not fatal: the backup runner creates it too
    # (idempotent) and checks archiving end to end.
    ${shellCommand(stanzaCreate)} --pg1-socket-path="$private_socket" ||
      echo "pgstack: WARNING: stanza-create failed; archiving waits for the backup runner to create it." >&2
  fi
  pg_ctl stop -D "$data_dir" -m fast -w -t ${ROLES_SERVER_START_TIMEOUT_SECONDS}
  rmdir "$private_socket"
  [ "$status" -eq 0 ] || die "init-roles.sh failed (exit $status): see its output above."
fi

exec ${shellCommand(renderCommands(model).postgres)}
`;
}
