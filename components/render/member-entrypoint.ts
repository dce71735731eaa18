import type { ClusterModel } from "../spec/build-cluster-spec";
import { primaryHost, primaryMember } from "../spec/layout";
import { memberPgbackrest, renderCommands, restoreCommand } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { REPLICATION_PASSFILE } from "./replica-bootstrap";
import { SECRET_FILES } from "./secret-files";
import { shellCommand, shellQuote } from "./shell-quote";
import { passfileLines, rewindSourceConninfo, standbyConninfo } from "./switchover";

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
 * - a member whose data directory holds standby.signal is a standby, whatever its name: it
 *   streams from the primary the spec names (primary_conninfo and its slot on the command line,
 *   so a switchover repoints it on its next start);
 * - the member `pgstack:primary` names, found a standby (a switchover or failover to it):
 *   replays what it has, promotes (pg_promote, a new timeline), reports the LSN it took over at,
 *   and creates the other members' slots;
 * - a replica whose data directory is not a standby was the primary before a switchover or
 *   failover: it never starts as a primary again (fenced). It rejoins the new primary with
 *   pg_rewind (after a crash, pg_rewind runs its crash recovery first) and a standby.signal;
 *   only when pg_rewind refuses is it re-cloned, the old directory kept beside the new one;
 * - then execs PostgreSQL, which tini supervises: tini reaps orphans (pgBackRest's detached
 *   archive-push workers, timed-out probes), which the postmaster would take for crashed backends.
 * No secret is read into the environment: initdb and psql read the password files themselves.
 */

/** Tries of the new primary's reachability before a former primary gives up rejoining (2 s apart). */
const PRIMARY_WAIT_TRIES = 60;

/** Seconds a standby being promoted waits at most for its replay to stand still. */
const PROMOTE_SETTLE_SECONDS = 60;

/** Seconds the private-socket server may take to start (crash recovery of a large WAL backlog). */
export const ROLES_SERVER_START_TIMEOUT_SECONDS = 1800;

/** A restore_command fetching WAL from the stack's repository (pgBackRest archive-get), for pg_rewind. */
function rewindRestoreCommand(model: ClusterModel): string {
  return `${shellCommand(memberPgbackrest(model, "archive-get"))} %f "%p"`;
}

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
  const primary = primaryMember(model);
  const repoLs = memberPgbackrest(model, "repo-ls").filter((arg) => !arg.startsWith("--stanza="));
  const restore = restoreCommand(model, { type: "latest" });
  const stanzaCreate = memberPgbackrest(model, "stanza-create");
  const header = commentLines([
    ...generatedHeader(model, "start-member.sh"),
    "",
    "Usage: start-member.sh primary | replica SLOT (POSIX sh, as the PostgreSQL OS user, under tini).",
    "What every PostgreSQL container runs: runtime directories, replica bootstrap, integrity check,",
    "initdb only where the stack has no database yet, roles and passwords from the secret files,",
    `then exec postgres. pgstack:primary names ${primary.name} (${primaryHost(model)}): found a standby, it is`,
    "promoted; a replica that was a primary rejoins by pg_rewind, and never starts as a primary.",
    "Never deletes or re-initialises an existing data directory; a re-clone keeps the old one beside it.",
  ]);
  const otherSlots = model.members.flatMap((member) => (member.slot === undefined ? [] : [member.slot]));
  const slotList = otherSlots.map((slot) => `'${slot}'`).join(", ");
  return `#!/bin/sh
${header.join("\n")}
set -eu

data_dir=${shellQuote(layout.dataDir)}
config_dir=${shellQuote(layout.configDir)}
stanza=${shellQuote(archive.stanza)}
primary_member=${shellQuote(primary.name)}
primary_host=${shellQuote(primaryHost(model))}
primary_port=${layout.port}
passfile=${shellQuote(`${layout.volumeDir}/${REPLICATION_PASSFILE}`)}
rewind_source=${shellQuote(rewindSourceConninfo(model))}

die() {
  echo "pgstack: $*" >&2
  exit 1
}

${passfileLines(model)}

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

# Vetted before anything runs on it, the rejoin's crash recovery below included.
sh "$config_dir/check-data-dir.sh" "$data_dir" ${postgres.version}

# A replica whose data directory is not a standby was the primary until pgstack:primary named
# another member. Starting it as it is would make a second primary: it is fenced, and rejoins
# the new primary instead, by pg_rewind (which replays a crashed directory to a clean state
# first), or, only when pg_rewind refuses, by a fresh clone beside the kept old directory.
if [ "$role" = replica ] && [ -f "$data_dir/PG_VERSION" ] && [ ! -f "$data_dir/standby.signal" ]; then
  echo "pgstack: $data_dir is not a standby: this member was the primary, and pgstack:primary now names $primary_member. It will not start as a primary; rejoining $primary_host as a standby (slot $slot)."
  write_replication_passfile
  # Until the member the spec names is a primary (promoted, not a standby still): rewinding to a
  # standby would follow the old timeline. Meanwhile this member does not listen, so the target
  # cannot stream from it and its promotion goes ahead.
  tries=0
  until [ "$(psql -X -A -t --no-password -c "SELECT pg_is_in_recovery()" "$rewind_source connect_timeout=5" 2>/dev/null)" = f ]; do
    tries=$((tries + 1))
    [ "$tries" -lt ${PRIMARY_WAIT_TRIES} ] || die "$primary_member ($primary_host:$primary_port) is not a primary accepting connections yet; this member stays down (fenced) and tries again on its next start."
    sleep 2
  done
  # pg_rewind needs a cleanly stopped directory. After a crash (a lost primary) its own crash
  # recovery runs postgres --single with the data directory's initdb configuration, which is not
  # this stack's: finish it here with the stack's, on a private socket, archiving off, then stop.
  if ! pg_controldata "$data_dir" | grep -Eq '^Database cluster state: +shut down( in recovery)?$'; then
    echo "pgstack: $data_dir was not shut down cleanly: completing its crash recovery (private socket, not a primary to anyone) before pg_rewind."
    recovery_socket=$(mktemp -d)
    pg_ctl start -D "$data_dir" -w -t ${ROLES_SERVER_START_TIMEOUT_SECONDS} -o "-c config_file=$config_dir/postgresql.conf -c listen_addresses='' -c unix_socket_directories=$recovery_socket -c archive_mode=off"
    pg_ctl stop -D "$data_dir" -m fast -w -t ${ROLES_SERVER_START_TIMEOUT_SECONDS}
    rmdir "$recovery_socket"
  fi
  # pg_rewind reads this member's WAL back to the last checkpoint both share; segments its clean
  # stop removed (archived already) come from the repository: --restore-target-wal runs the data
  # directory's restore_command, given here in postgresql.auto.conf (pg_rewind then copies the new
  # primary's over it).
  printf '%s\\n' ${shellQuote(`restore_command = '${rewindRestoreCommand(model).replaceAll("'", "''")}'`)} >>"$data_dir/postgresql.auto.conf"
  if pg_rewind --target-pgdata="$data_dir" --source-server="$rewind_source" --restore-target-wal --progress; then
    echo "pgstack: $data_dir rewound to the new primary's timeline; what this member wrote after the two diverged (named above) is discarded."
  else
    status=$?
    kept="$data_dir.before-rejoin-$(date -u +%Y%m%dT%H%M%SZ)"
    echo "pgstack: pg_rewind refused (exit $status, see above): re-cloning from $primary_host. The old data directory is kept as $kept: delete it once this member streams." >&2
    mv "$data_dir" "$kept"
    sh "$config_dir/bootstrap-replica.sh" "$slot"
  fi
  # A standby from now on, streaming from the primary the spec names (below).
  : >"$data_dir/standby.signal"
fi

# A raised hot-standby setting (max_connections...) starts the primary after its replicas; lowered, the reverse.
sh "$config_dir/hot-standby-order.sh" "$role" "\${slot:-}"

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

if [ "$role" = primary ]; then
  # Roles and passwords from the secret files, on every start: a changed password reaches the
  # database with the next start. The server listens on a private socket only, so neither a
  # healthcheck nor a client can take it for the real one.
  private_socket=$(mktemp -d)
  sql() {
    psql -X -A -t -v ON_ERROR_STOP=1 -h "$private_socket" -p ${layout.port} -U ${shellQuote(postgres.superuser)} -d postgres -c "$1"
  }
  pg_ctl start -D "$data_dir" -w -t ${ROLES_SERVER_START_TIMEOUT_SECONDS} -o "-c config_file=$config_dir/postgresql.conf -c listen_addresses='' -c unix_socket_directories=$private_socket"
  status=0
  if [ -f "$data_dir/standby.signal" ]; then
    # pgstack:primary names this standby: a switchover (the old primary stopped cleanly and sent
    # it all its WAL) or a failover. Replay what it has received and what the repository holds,
    # until replay stands still, then promote: a new timeline, archived to the same repository.
    # A standby still streaming has a live primary: promoting it now would make two. The old
    # primary's clean stop ends the stream (a switchover); a failover's is gone already.
    tries=0
    while :; do
      streaming=$(sql "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")
      [ "$streaming" != 0 ] || break
      tries=$((tries + 1))
      if [ "$tries" -ge ${PROMOTE_SETTLE_SECONDS} ]; then
        sender=$(sql "SELECT sender_host FROM pg_stat_wal_receiver") || sender=unknown
        pg_ctl stop -D "$data_dir" -m fast -w
        die "refusing to promote $primary_member: it still streams from a running primary ($sender). Stop that member first (a switchover stops it before promoting), or it would be a second primary."
      fi
      sleep 1
    done
    # Replay what it received and what the repository holds (restore_command), until replay stands still.
    previous=
    for _ in $(seq 1 ${PROMOTE_SETTLE_SECONDS}); do
      replayed=$(sql "SELECT pg_last_wal_replay_lsn()")
      [ "$replayed" = "$previous" ] && break
      previous=$replayed
      sleep 1
    done
    if [ "$(sql "SELECT pg_promote(true, ${ROLES_SERVER_START_TIMEOUT_SECONDS})")" = t ]; then
      promoted=yes
      echo "pgstack: promoted $primary_member at WAL $replayed (all it had replayed): a new timeline starts there, archived to the same repository.${model.switchover.failover ? " Failover: what the lost primary acknowledged after that and neither streamed nor archived is not in this database." : ""}"
    else
      echo "pgstack: pg_promote did not finish on $primary_member (see the server log above)." >&2
      status=1
    fi
  fi
  [ "$status" -ne 0 ] || PGHOST=$private_socket sh "$config_dir/init-roles.sh" || status=$?${
    otherSlots.length === 0
      ? ""
      : `
  if [ "$status" -eq 0 ] && [ "\${promoted:-}" = yes ]; then
    # The replicas' slots, created where missing (a promoted standby has none). Not reserved until
    # a replica first streams: a member away for long (a lost old primary) holds no WAL here; it
    # reads what it needs from the repository.
    sql "SELECT count(pg_create_physical_replication_slot(slot, false)) FROM unnest(ARRAY[${slotList}]) AS slot WHERE slot NOT IN (SELECT slot_name FROM pg_replication_slots)" >/dev/null ||
      status=$?
  fi`
  }
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

if [ -f "$data_dir/standby.signal" ] && [ "$role" = replica ]; then
  # Streams from the primary the spec names, from its own slot: on the command line, so it wins
  # over what pg_basebackup or pg_rewind wrote in postgresql.auto.conf, and a switchover repoints
  # every standby on its next start. The passfile is rewritten from the secret on every start.
  write_replication_passfile
  exec ${shellCommand(renderCommands(model).postgres)} -c "primary_conninfo=${standbyConninfo(model)} application_name=$slot" -c "primary_slot_name=$slot"
fi
exec ${shellCommand(renderCommands(model).postgres)}
`;
}
