import type { ClusterModel } from "../spec/build-cluster-spec";
import { primaryHost, primaryMember } from "../spec/layout";
import { commentLines, generatedHeader } from "./generated-header";
import { PGBACKREST_TLS_FILES } from "./pgbackrest-conf";
import { REPLICATION_PASSFILE } from "./replica-bootstrap";
import { SECRET_FILES } from "./secret-files";
import { shellQuote } from "./shell-quote";

/**
 * How far (bytes of WAL) the target of a switchover may be behind the primary when the switch
 * starts: one WAL segment. The old primary's clean stop sends it the rest, and the target replays
 * it before promoting, so this bounds the write outage, not the data kept (nothing is lost).
 */
export const SWITCHOVER_MAX_LAG_BYTES = 16 * 1024 * 1024;

/** Samples of both positions the check takes, a second apart: a target that does not move is not streaming. */
const CHECK_SAMPLES = 3;

/**
 * libpq connection options every member-to-primary connection of the replication role uses:
 * the passfile start-member.sh keeps (never a password on a command line), and TLS verifying the
 * primary's name against the stack's CA.
 */
export function replicationConnectionOptions(
  model: ClusterModel,
  passfile = `${model.layout.volumeDir}/${REPLICATION_PASSFILE}`,
): string {
  const { layout, postgres } = model;
  const tls = model.tls ? ` sslmode=verify-full sslrootcert=${layout.tlsDir}/${PGBACKREST_TLS_FILES.ca}` : "";
  return `port=${layout.port} user=${postgres.replicationUser} passfile=${passfile}${tls}`;
}

/**
 * primary_conninfo of a standby, without its application_name (the slot, added by the script):
 * the primary's host from the spec, so a switchover repoints every standby on its next start.
 */
export function standbyConninfo(model: ClusterModel): string {
  return `host=${primaryHost(model)} ${replicationConnectionOptions(model)}`;
}

/**
 * What pg_rewind of a former primary reads the new primary's files over: the replication role on
 * the `postgres` database (pg_hba admits it from the cluster network; init-roles.sh grants it the
 * four functions pg_rewind calls, and nothing else).
 */
export function rewindSourceConninfo(model: ClusterModel): string {
  return `host=${primaryHost(model)} dbname=postgres ${replicationConnectionOptions(model)}`;
}

/**
 * Shell functions reading WAL positions over the replication protocol ("$passfile" and "$work"
 * set by the caller): `position HOST PORT` prints "SYSTEMID TIMELINE LSN" (IDENTIFY_SYSTEM: on a
 * standby, the WAL it has received and flushed), `bytes LSN` an LSN as a byte offset.
 */
export function walPositionLines(model: ClusterModel): string {
  return `# position HOST PORT: "SYSTEMID TIMELINE LSN" of the server at HOST:PORT (IDENTIFY_SYSTEM: on a
# standby, the WAL it has received and flushed).
position() {
  identified=$(psql -X -A -t -F ' ' --no-password \\
    "${replicationConnectionOptions(model, "$passfile")} host=$1 port=$2 dbname=replication replication=true connect_timeout=5" \\
    -c IDENTIFY_SYSTEM 2>"$work/error") || return 1
  echo "$identified" | cut -d ' ' -f 1-3
}

# bytes LSN: an LSN (hex HIGH/LOW) as a byte offset.
bytes() {
  high=\${1%/*}
  low=\${1#*/}
  echo $((0x$high * 4294967296 + 0x$low))
}`;
}

/** The functions pg_rewind calls on its source server (PostgreSQL 15 docs, pg_rewind, Notes). */
export const REWIND_FUNCTIONS = [
  "pg_catalog.pg_ls_dir(text, boolean, boolean)",
  "pg_catalog.pg_stat_file(text, boolean)",
  "pg_catalog.pg_read_binary_file(text)",
  "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
] as const;

/**
 * A shell function writing the replication role's 0600 passfile at "$passfile" (for replication
 * and for the rewind source): file → shell variable → file, with printf, a builtin, so the
 * password never shows in a process list. libpq ignores a passfile that group or others can read.
 */
export function passfileLines(model: ClusterModel): string {
  const { layout, postgres } = model;
  const passwordFile = shellQuote(`${layout.secretsDir}/${SECRET_FILES.replicationPassword}`);
  const passfile = '"$passfile"';
  return `write_replication_passfile() {
  [ -s ${passwordFile} ] || die "${layout.secretsDir}/${SECRET_FILES.replicationPassword} is missing or empty; it is mounted from the cluster's secrets."
  (
    umask 077
    password=
    IFS= read -r password <${passwordFile} || [ -n "$password" ] || die "cannot read the replication password file"
    escaped=$(printf '%s' "$password" | sed 's/[\\\\:]/\\\\&/g')
    printf '*:*:replication:%s:%s\\n*:*:postgres:%s:%s\\n' ${shellQuote(postgres.replicationUser)} "$escaped" ${shellQuote(postgres.replicationUser)} "$escaped" >"$passfile.tmp"
    mv -f "$passfile.tmp" ${passfile}
  )
}`;
}

/**
 * switchover-check.sh TARGET: run before `pgstack:primary` is changed, in any member. It connects
 * as the replication role (the only role the members admit over the network for this), reads the
 * WAL position of the current primary and of the target with IDENTIFY_SYSTEM, a few times a second
 * apart, and refuses (exit 1, naming the lag) when the target is unreachable, on another system or
 * timeline, not streaming (its position stays while the primary's moves), or further behind than
 * SWITCHOVER_MAX_LAG_BYTES. When the primary cannot be reached it reports the target's position:
 * what a failover to it would start the new timeline from.
 */
export function renderSwitchoverCheck(model: ClusterModel): string {
  const primary = primaryMember(model);
  const replicas = model.members.filter((member) => member.role === "replica");
  const header = commentLines([
    ...generatedHeader(model, "switchover-check.sh"),
    "",
    "Usage: switchover-check.sh TARGET [PORT] (POSIX sh; as the PostgreSQL OS user, in a member: it reads the",
    "replication password and the CA mounted there). Run it before setting pgstack:primary=TARGET:",
    `checks that TARGET (${replicas.map((member) => member.name).join(", ") || "no replica"}) streams from the primary (${primary.name},`,
    `${primaryHost(model)}) and is caught up within ${SWITCHOVER_MAX_LAG_BYTES} bytes of WAL, and refuses, naming the lag,`,
    "otherwise. PORT is the target's, when it differs from the members' port. Changes nothing.",
  ]);
  return `#!/bin/sh
${header.join("\n")}
set -eu

primary_member=${shellQuote(primary.name)}
primary_host=${shellQuote(primaryHost(model))}
max_lag=${SWITCHOVER_MAX_LAG_BYTES}
target_member=\${1:-}
target_port=\${2:-${model.layout.port}}
case "$target_member" in
${replicas.map((member) => `  ${shellQuote(member.name)}) target_host=${shellQuote(model.layout.hosts[member.name] ?? "")} ;;`).join("\n")}
  *)
    echo "usage: $0 TARGET [PORT], where TARGET is a replica: ${replicas.map((member) => member.name).join(" ") || "(none: this stack has no replicas)"}" >&2
    exit 2
    ;;
esac

die() {
  echo "switchover-check: $*" >&2
  exit 1
}

${passfileLines(model)}

# The passfile goes to a private temporary directory: this script writes nothing on a member's volume.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passfile="$work/${REPLICATION_PASSFILE}"
write_replication_passfile

${walPositionLines(model)}

target=$(position "$target_host" "$target_port") ||
  die "cannot reach the target $target_member ($target_host) over replication: $(cat "$work/error"). Nothing was changed."
set -- $target
target_lsn=$3

sample=0
while :; do
  primary=$(position "$primary_host" ${model.layout.port}) ||
    die "cannot reach the primary $primary_member ($primary_host) over replication: $(cat "$work/error"). A switchover needs it. If it is lost, a failover to $target_member starts the new timeline from its WAL at $target_lsn; what the primary wrote after that and did not archive is lost (README, Switchover and failover). Nothing was changed."
  target=$(position "$target_host" "$target_port") ||
    die "cannot reach the target $target_member ($target_host) over replication: $(cat "$work/error"). Nothing was changed."
  set -- $primary
  primary_system=$1 primary_timeline=$2 primary_lsn=$3
  set -- $target
  [ "$1" = "$primary_system" ] || die "the target $target_member belongs to another cluster (system $1, the primary's is $primary_system). Nothing was changed."
  [ "$2" = "$primary_timeline" ] || die "the target $target_member is on timeline $2, the primary on $primary_timeline: it does not follow this primary. Nothing was changed."
  previous_target_lsn=\${target_lsn:-$3}
  previous_primary_lsn=\${last_primary_lsn:-$primary_lsn}
  target_lsn=$3
  last_primary_lsn=$primary_lsn
  lag=$(( $(bytes "$primary_lsn") - $(bytes "$target_lsn") ))
  [ "$lag" -ge 0 ] || lag=0
  sample=$((sample + 1))
  [ "$sample" -lt ${CHECK_SAMPLES} ] || break
  sleep 1
done

if [ "$lag" -gt 0 ] && [ "$target_lsn" = "$previous_target_lsn" ] && [ "$primary_lsn" != "$previous_primary_lsn" ]; then
  die "refusing the switchover: the target $target_member is not streaming (its WAL stays at $target_lsn while the primary's moved to $primary_lsn, $lag bytes ahead). Check its replication (pg_stat_wal_receiver on $target_member) and run pulumi up again. Nothing was changed."
fi
if [ "$lag" -gt "$max_lag" ]; then
  die "refusing the switchover: the target $target_member lags the primary by $lag bytes of WAL ($target_lsn against $primary_lsn; at most $max_lag). Wait for it to catch up and run pulumi up again. Nothing was changed."
fi
echo "switchover-check: $target_member streams from $primary_member and is $lag bytes behind ($target_lsn against $primary_lsn on timeline $primary_timeline): switching over."
`;
}
