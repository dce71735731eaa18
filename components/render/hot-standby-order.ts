import type { ClusterModel } from "../spec/build-cluster-spec";
import { primaryHost, primaryMember } from "../spec/layout";
import { renderCommands } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { REPLICATION_PASSFILE } from "./replica-bootstrap";
import { shellCommand, shellQuote } from "./shell-quote";
import { passfileLines, standbyConninfo } from "./switchover";

/**
 * The settings a hot standby must run at least as high as its primary (PostgreSQL 15, "Hot
 * Standby", Administrator's Overview), each with the label pg_controldata reports it under: the
 * value the primary last started with, as this data directory last saw it.
 */
export const HOT_STANDBY_PARAMETERS: readonly { readonly name: string; readonly control: string }[] = [
  { name: "max_connections", control: "max_connections setting" },
  { name: "max_worker_processes", control: "max_worker_processes setting" },
  { name: "max_wal_senders", control: "max_wal_senders setting" },
  { name: "max_prepared_transactions", control: "max_prepared_xacts setting" },
  { name: "max_locks_per_transaction", control: "max_locks_per_xact setting" },
];

/**
 * Seconds a member waits for the others before it goes on. Within the startup probe's budget
 * (30 minutes) and the replicas' restart on Kubernetes, which rolls the members together.
 */
export const HOT_STANDBY_ORDER_WAIT_SECONDS = 600;

/**
 * hot-standby-order.sh ROLE [SLOT], run by start-member.sh before PostgreSQL starts: the order of
 * restarts PostgreSQL needs when a hot-standby parameter changes, enforced by the members
 * themselves (the platforms restart them together):
 * - raised: the primary waits until every running replica runs the new values (or is stopped,
 *   so it starts with them), then starts; otherwise its replicas would pause replay and refuse to
 *   restart with their old values. Bounded: after HOT_STANDBY_ORDER_WAIT_SECONDS it starts anyway,
 *   with a warning naming the replicas that lag.
 * - lowered: a replica cannot start with less than what its primary last ran with (pg_control,
 *   replayed from the primary's WAL). It follows the primary with the old values, on a private
 *   socket, until it has replayed the primary's restart with the new ones, then starts with them;
 *   after the bound it stops and fails, and its next start tries again.
 * The values compared are what `postgres -C` reads from the member's own configuration and what
 * pg_controldata reports; a replica's are read over the replication role's connection (SHOW).
 */
export function renderHotStandbyOrder(model: ClusterModel): string {
  const { layout } = model;
  const primary = primaryMember(model);
  const replicas = model.members.filter((member) => member.role === "replica");
  const replicaHosts = replicas.map((member) => {
    const host = layout.hosts[member.name];
    if (host === undefined)
      throw new Error(`pgstack: layout.hosts has no host for the replica ${member.name}`);
    return host;
  });
  const postgres = renderCommands(model).postgres;
  const names = HOT_STANDBY_PARAMETERS.map((parameter) => parameter.name);
  const header = commentLines([
    ...generatedHeader(model, "hot-standby-order.sh"),
    "",
    "Usage: hot-standby-order.sh primary | replica SLOT (POSIX sh, as the PostgreSQL OS user, from",
    "start-member.sh before PostgreSQL starts). A standby must run these settings at least as high as its",
    `primary: ${names.join(", ")}.`,
    `Raised: the primary (${primary.name}) waits until each running replica runs the new values, up to ${HOT_STANDBY_ORDER_WAIT_SECONDS} s.`,
    "Lowered: a replica follows the primary with its old values, on a private socket, until the primary runs",
    `the new ones, then starts with them (fails after ${HOT_STANDBY_ORDER_WAIT_SECONDS} s; its next start tries again).`,
    "Changes no setting and no file but the replication passfile.",
  ]);
  return `#!/bin/sh
${header.join("\n")}
set -eu

data_dir=${shellQuote(layout.dataDir)}
passfile=${shellQuote(`${layout.volumeDir}/${REPLICATION_PASSFILE}`)}
primary_host=${shellQuote(primaryHost(model))}
port=${layout.port}
replica_hosts=${shellQuote(replicaHosts.join(" "))}
wait_seconds=${HOT_STANDBY_ORDER_WAIT_SECONDS}

die() {
  echo "hot-standby-order: $*" >&2
  exit 1
}

${passfileLines(model)}

role=\${1:-}
slot=\${2:-}
case "$role" in
  primary) ;;
  replica) [ -n "$slot" ] || { echo "usage: $0 primary | replica SLOT" >&2; exit 2; } ;;
  *)
    echo "usage: $0 primary | replica SLOT" >&2
    exit 2
    ;;
esac

# Nothing ran here yet (an empty volume, an initdb to come): there is nothing to order.
[ -f "$data_dir/global/pg_control" ] || exit 0

# configured NAME: the value this member starts with, as PostgreSQL reads its configuration.
configured() {
  ${shellCommand(postgres)} -C "$1"
}

# read_control, then control LABEL: the value the primary last started with, as pg_control of this
# data directory holds it (a standby's is updated as it replays the primary's restart). Empty when
# pg_controldata caught the file being rewritten.
read_control() {
  controldata=$(pg_controldata "$data_dir" 2>/dev/null) || controldata=
}
control() {
  printf '%s\n' "$controldata" | sed -n "s/^$1: *//p"
}

parameters='${HOT_STANDBY_PARAMETERS.map((parameter) => `${parameter.name}:${parameter.control}`).join("\n")}'

# A switchover in progress (this member is promoted, or rejoins) is start-member.sh's to order.
if [ "$role" = primary ] && [ -f "$data_dir/standby.signal" ]; then exit 0; fi
if [ "$role" = replica ] && [ ! -f "$data_dir/standby.signal" ]; then exit 0; fi

read_control
if [ "$role" = primary ]; then
  raised=
  wanted=
  while IFS=: read -r name label; do
    want=$(configured "$name") || die "cannot read $name from this member's configuration (see above)."
    ran=$(control "$label")
    wanted="$wanted $want"
    if [ -n "$ran" ] && [ "$want" -gt "$ran" ]; then raised="$raised $name $ran -> $want;"; fi
  done <<EOF
$parameters
EOF
  [ -n "$raised" ] || exit 0
  [ -n "$replica_hosts" ] || exit 0
  echo "hot-standby-order: raised:$raised a standby must run these at least as high as its primary, so the replicas restart first. Waiting up to $wait_seconds s for each running replica to run the new values."
  write_replication_passfile
  started=$(date +%s)
  reported=
  while :; do
    lagging=
    for host in $replica_hosts; do
      status=0
      pg_isready -q -h "$host" -p "$port" -t 5 || status=$?
      case "$status" in
        0)
          # Its running values, over the replication role's connection (the walsender answers SHOW).
          # standbyConninfo names the primary's host; in a libpq conninfo the later host= wins.
          if running=$(psql -X -A -t --no-password "${standbyConninfo(model)} host=$host dbname=replication replication=true connect_timeout=5" \\
            ${names.map((name) => `-c "SHOW ${name}"`).join(" ")} 2>&1); then
            set -- $running
            for want in $wanted; do
              if [ "\${1:-0}" -lt "$want" ]; then
                lagging="$lagging $host (runs $(echo $running | tr ' ' /), needs $(echo $wanted | tr ' ' /))"
                break
              fi
              shift
            done
          else
            lagging="$lagging $host (cannot read its settings: $running)"
          fi
          ;;
        1) lagging="$lagging $host (starting or stopping)" ;;
        # Not running: whenever it starts, it starts with the new values.
        *) ;;
      esac
    done
    if [ -z "$lagging" ]; then
      echo "hot-standby-order: every running replica runs the new values: starting the primary after $(($(date +%s) - started)) s."
      exit 0
    fi
    if [ "$lagging" != "$reported" ]; then
      echo "hot-standby-order: waiting for:$lagging"
      reported=$lagging
    fi
    if [ $(($(date +%s) - started)) -ge "$wait_seconds" ]; then
      echo "hot-standby-order: WARNING: starting the primary after $wait_seconds s although$lagging. Until they restart with the new values, they pause replay (insufficient parameter settings)." >&2
      exit 0
    fi
    sleep 2
  done
fi

# A replica: lowered below what the primary last ran with?
lowered=
overrides=
wanted=
while IFS=: read -r name label; do
  want=$(configured "$name") || die "cannot read $name from this member's configuration (see above)."
  ran=$(control "$label")
  wanted="$wanted $want"
  if [ -n "$ran" ] && [ "$want" -lt "$ran" ]; then
    lowered="$lowered $name $ran -> $want;"
    overrides="$overrides -c $name=$ran"
  fi
done <<EOF
$parameters
EOF
[ -n "$lowered" ] || exit 0

echo "hot-standby-order: lowered:$lowered a standby cannot start with less than its primary last ran with. Following $primary_host with the old values (private socket, no clients) until the primary runs the new ones, up to $wait_seconds s."
write_replication_passfile
socket=$(mktemp -d)
# shellcheck disable=SC2086 # overrides: -c name=value words
${shellCommand(postgres)} -c listen_addresses= -c "unix_socket_directories=$socket" \\
  -c "primary_conninfo=${standbyConninfo(model)} application_name=$slot" -c "primary_slot_name=$slot" $overrides &
server=$!
# Stopped meanwhile (the pod deleted): PostgreSQL stops too, with a fast shutdown.
trap 'kill -INT "$server" 2>/dev/null; exit 143' INT TERM
started=$(date +%s)
while :; do
  # Replayed the primary's restart: pg_control holds values no higher than this member's.
  behind=
  read_control
  set -- $wanted
  while IFS=: read -r name label; do
    ran=$(control "$label")
    if [ -z "$ran" ] || [ "$ran" -gt "$1" ]; then behind="$behind $name"; fi
    shift
  done <<EOF
$parameters
EOF
  [ -n "$behind" ] || break
  kill -0 "$server" 2>/dev/null || die "PostgreSQL following the primary with the old values exited (see its log above); the next start tries again."
  if [ $(($(date +%s) - started)) -ge "$wait_seconds" ]; then
    pg_ctl stop -D "$data_dir" -m fast -w >/dev/null
    die "after $wait_seconds s the primary $primary_host still runs more than$lowered: restart it with the new values first. This member stops; its next start tries again."
  fi
  sleep 1
done
pg_ctl stop -D "$data_dir" -m fast -w >/dev/null
wait "$server" || true
rmdir "$socket"
echo "hot-standby-order: the primary runs the new values (replayed after $(($(date +%s) - started)) s): starting with them."
`;
}
