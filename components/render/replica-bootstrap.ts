import type { ClusterModel } from "../spec/build-cluster-spec";
import { primaryHost } from "../spec/layout";
import { commentLines, generatedHeader } from "./generated-header";
import { PGBACKREST_TLS_FILES } from "./pgbackrest-conf";
import { SECRET_FILES } from "./secret-files";
import { shellQuote } from "./shell-quote";

/**
 * The libpq passfile the bootstrap writes in `layout.volumeDir` (beside the data directory, which
 * must be empty for pg_basebackup). primary_conninfo names it, so streaming keeps using it.
 */
export const REPLICATION_PASSFILE = "replication.pgpass";

/** Tries of the primary's reachability before giving up (2 s apart, plus pg_isready's own 5 s). */
const PRIMARY_WAIT_TRIES = 60;

/**
 * bootstrap-replica.sh SLOT: turns an empty replica volume into a streaming standby with
 * `pg_basebackup -R -X stream -C -S SLOT`, and leaves a non-empty data directory alone (never
 * wiped). A slot that already exists on the primary (the replica's volume was lost) is reused,
 * and the script says so.
 */
export function renderBootstrapReplica(model: ClusterModel): string {
  const { layout, postgres } = model;
  const slots = model.members.flatMap((member) => (member.slot === undefined ? [] : [member.slot]));
  const header = commentLines([
    ...generatedHeader(model, "bootstrap-replica.sh"),
    "",
    "Usage: bootstrap-replica.sh SLOT (POSIX sh; as the PostgreSQL OS user, before PostgreSQL starts).",
    `SLOT is the member's replication slot on the primary: ${slots.join(", ") || "(this stack has no replicas)"}.`,
    "Empty data directory: clone the primary with pg_basebackup and configure streaming (-R).",
    "Non-empty data directory: do nothing. It is never wiped; check-data-dir.sh vets it next.",
    `The replication password is copied from ${layout.secretsDir}/${SECRET_FILES.replicationPassword} into a 0600`,
    `passfile (${layout.volumeDir}/${REPLICATION_PASSFILE}): libpq ignores a passfile that group or others`,
    "can read, and secret mounts are group-readable. It never appears on a command line.",
  ]);
  const tlsEnvironment = model.tls
    ? `# TLS to the primary, verifying its certificate against the stack's CA and its DNS name.
export PGSSLMODE=verify-full
export PGSSLROOTCERT=${shellQuote(`${layout.tlsDir}/${PGBACKREST_TLS_FILES.ca}`)}
`
    : "";
  return `#!/bin/sh
${header.join("\n")}
set -eu

data_dir=${shellQuote(layout.dataDir)}
primary_host=${shellQuote(primaryHost(model))}
primary_port=${layout.port}
replication_user=${shellQuote(postgres.replicationUser)}
password_file=${shellQuote(`${layout.secretsDir}/${SECRET_FILES.replicationPassword}`)}
passfile=${shellQuote(`${layout.volumeDir}/${REPLICATION_PASSFILE}`)}

die() {
  echo "bootstrap-replica: $*" >&2
  exit 1
}

slot=\${1:-}
case "$slot" in
  ${slots.length > 0 ? slots.join(" | ") : "''"}) ;;
  *)
    echo "usage: $0 SLOT, where SLOT is one of: ${slots.join(" ") || "(none: this stack has no replicas)"}" >&2
    exit 2
    ;;
esac

if [ -e "$data_dir" ] && [ ! -d "$data_dir" ]; then
  die "$data_dir exists and is not a directory; remove it yourself if it is not needed."
fi
if [ -d "$data_dir" ] && [ -n "$(ls -A "$data_dir")" ]; then
  echo "bootstrap-replica: $data_dir is not empty: nothing to do (it is never wiped; check-data-dir.sh vets it)."
  exit 0
fi

# The 0600 passfile, written atomically. The password goes file -> shell variable -> file: printf
# is a shell builtin, so it never shows up in a process list.
[ -s "$password_file" ] || die "$password_file is missing or empty; it is mounted from the cluster's secrets."
umask 077
password=
IFS= read -r password <"$password_file" || [ -n "$password" ] || die "cannot read $password_file"
escaped=$(printf '%s' "$password" | sed 's/[\\\\:]/\\\\&/g')
printf '*:*:replication:%s:%s\\n' "$replication_user" "$escaped" >"$passfile.tmp"
mv -f "$passfile.tmp" "$passfile"
unset password escaped
export PGPASSFILE="$passfile"
${tlsEnvironment}
tries=0
until pg_isready -q -h "$primary_host" -p "$primary_port" -U "$replication_user" -d replication -t 5; do
  tries=$((tries + 1))
  [ "$tries" -lt ${PRIMARY_WAIT_TRIES} ] || die "the primary $primary_host:$primary_port is not accepting connections; start it first."
  sleep 2
done

# Does the slot exist already? Then this replica's earlier copy is gone (its volume was lost or
# re-created) and the slot has been holding WAL back on the primary ever since. Reuse it instead
# of failing on -C: streaming from it releases that WAL. If another member still streams from it,
# pg_basebackup stops with "replication slot ... is active": give each member its own slot.
slot_state=$(psql -X -A -t --no-password \\
  "host=$primary_host port=$primary_port user=$replication_user dbname=replication replication=true" \\
  -c "READ_REPLICATION_SLOT $slot") || die "cannot ask the primary about slot $slot (see the error above)."
create_slot=-C
case "$slot_state" in
  "physical||")
    # Made by a promotion (start-member.sh), for this member, and never used: nothing held back.
    echo "bootstrap-replica: slot $slot exists on the primary, not yet used (created when it was promoted); cloning from it." >&2
    create_slot=
    ;;
  physical*)
    echo "bootstrap-replica: slot $slot already exists on the primary (restart LSN and timeline: \${slot_state#physical|});" \\
      "reusing it for this new copy. Drop it on the primary (SELECT pg_drop_replication_slot('$slot')) only if the replica is retired." >&2
    create_slot=
    ;;
  logical*) die "slot $slot on the primary is a logical slot; a replica needs a physical slot of its own." ;;
esac

echo "bootstrap-replica: cloning $primary_host:$primary_port into $data_dir (slot $slot)."
# shellcheck disable=SC2086 # create_slot is empty or -C
pg_basebackup -h "$primary_host" -p "$primary_port" -U "$replication_user" --no-password \\
  -d "application_name=$slot" -D "$data_dir" -R -X stream $create_slot -S "$slot" --checkpoint=fast --verbose
echo "bootstrap-replica: $data_dir is a standby of $primary_host streaming from slot $slot."
`;
}
