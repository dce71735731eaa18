import type { ClusterModel } from "../spec/build-cluster-spec";
import { primaryMember } from "../spec/layout";
import { INIT_COMMAND } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { REPLICATION_PASSFILE } from "./replica-bootstrap";
import { shellQuote } from "./shell-quote";
import {
  passfileLines,
  replicationConnectionOptions,
  SWITCHOVER_MAX_LAG_BYTES,
  walPositionLines,
} from "./switchover";

/**
 * The switchover gate: what `pulumi up` runs before it changes any member (a Job on Kubernetes, a
 * one-shot container on Docker; every member depends on it). Rendered from the new spec, it finds
 * which member answers as the primary now, and:
 * - the member `pgstack:primary` names answers as the primary already: nothing to switch (its
 *   writes are opened again, in case an earlier switchover stopped after fencing them);
 * - no member answers at all: a new stack (or every member stopped): nothing to order;
 * - a switchover: refuses (exit 1, naming the lag, nothing changed) unless the target streams and
 *   is caught up; then stops writes on the old primary cleanly (the fence below), and waits until
 *   the target has received every byte of WAL written until then. Only then do the members roll;
 *   the target promotes once the old primary's stop ends its stream (start-member.sh);
 * - a failover (`pgstack:failover`): refuses while the old primary still answers (two primaries),
 *   otherwise reports the target's received and replayed WAL, where the new timeline will start.
 */

/** Seconds the gate waits for the target to receive the WAL written up to the fence. */
export const GATE_CATCH_UP_SECONDS = 30;

/** Schema of the fence functions, in the `postgres` database (where the replication role may connect). */
const FENCE_SCHEMA = "pgstack";

/** SQL identifier, double-quoted. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * psql lines for init-roles.sh (every start of a primary): the two functions the gate calls as
 * the replication role, owned by the superuser and callable by nothing else, and the fence lifted,
 * because a member that starts as the primary takes writes.
 * - fence_writes(): the application database becomes read-only for every new session
 *   (default_transaction_read_only, a catalog setting, so it reaches the target by WAL too) and every
 *   client session is ended: its open transaction is rolled back, never acknowledged. Returns the
 *   WAL position after it.
 * - open_writes(): lifts that.
 */
export function fenceFunctionsSql(model: ClusterModel): string[] {
  const { postgres } = model;
  const database = ident(postgres.database);
  const replication = ident(postgres.replicationUser);
  const definer = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp";
  return [
    "-- The switchover gate stops writes on the old primary as the replication role, through these",
    "-- two functions only (switchover-gate.sh). A primary that starts takes writes: the fence is lifted.",
    `CREATE SCHEMA IF NOT EXISTS ${FENCE_SCHEMA};`,
    `CREATE OR REPLACE FUNCTION ${FENCE_SCHEMA}.fence_writes() RETURNS pg_lsn ${definer} AS $pgstack$`,
    "BEGIN",
    "  IF pg_is_in_recovery() THEN RAISE EXCEPTION 'not a primary: nothing to fence'; END IF;",
    `  ALTER DATABASE ${database} SET default_transaction_read_only = on;`,
    "  PERFORM pg_terminate_backend(pid) FROM pg_stat_activity",
    "    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();",
    "  RETURN pg_current_wal_lsn();",
    "END",
    "$pgstack$;",
    `CREATE OR REPLACE FUNCTION ${FENCE_SCHEMA}.open_writes() RETURNS void ${definer} AS $pgstack$`,
    "BEGIN",
    `  ALTER DATABASE ${database} RESET default_transaction_read_only;`,
    "END",
    "$pgstack$;",
    `REVOKE ALL ON FUNCTION ${FENCE_SCHEMA}.fence_writes(), ${FENCE_SCHEMA}.open_writes() FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${FENCE_SCHEMA} TO ${replication};`,
    `GRANT EXECUTE ON FUNCTION ${FENCE_SCHEMA}.fence_writes(), ${FENCE_SCHEMA}.open_writes() TO ${replication};`,
    `ALTER DATABASE ${database} RESET default_transaction_read_only;`,
  ];
}

/** switchover-gate.sh TARGET: see the module comment. */
export function renderSwitchoverGate(model: ClusterModel): string {
  const { layout } = model;
  const target = primaryMember(model);
  const others = model.members.filter((member) => member.name !== target.name);
  const failover = model.switchover.failover;
  const header = commentLines([
    ...generatedHeader(model, "switchover-gate.sh"),
    "",
    `Usage: switchover-gate.sh ${target.name} (POSIX sh, as the PostgreSQL OS user). Run by \`pulumi up\` before any`,
    "member changes (Kubernetes: a Job; Docker: a one-shot container): every member depends on it.",
    `pgstack:primary names ${target.name}${failover ? " (pgstack:failover: the old primary is lost)" : ""}. When another member answers as the`,
    failover
      ? "primary it refuses (a failover would make two); otherwise it reports the target's WAL position."
      : "primary, it refuses unless the target streams and is caught up, then stops writes on it cleanly",
    failover
      ? ""
      : "and waits until the target has received all of its WAL. Exit 1 stops `pulumi up` before any member changes.",
  ]);
  const sqlOptions = replicationConnectionOptions(model, "$passfile");
  return `#!/bin/sh
${header.join("\n")}
set -eu

target_member=${shellQuote(target.name)}
target_host=${shellQuote(layout.hosts[target.name] ?? "")}
port=${layout.port}
failover=${failover ? "yes" : "no"}
max_lag=${SWITCHOVER_MAX_LAG_BYTES}

die() {
  echo "switchover-gate: $*" >&2
  exit 1
}

[ "\${1:-}" = "$target_member" ] || die "usage: $0 $target_member (rendered for pgstack:primary=$target_member, called with '\${1:-}')"

${passfileLines(model)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passfile="$work/${REPLICATION_PASSFILE}"
write_replication_passfile

# sql HOST STATEMENT: one statement on HOST's postgres database, as the replication role.
sql() {
  psql -X -A -t -q --no-password "${sqlOptions} host=$1 dbname=postgres connect_timeout=5" -c "$2" 2>"$work/error"
}

${walPositionLines(model)}

# What each member answers now: f (a primary), t (a standby), or nothing (down, or unreachable).
target_state=$(sql "$target_host" "SELECT pg_is_in_recovery()") || target_state=
if [ "$target_state" = f ]; then
  sql "$target_host" "SELECT ${FENCE_SCHEMA}.open_writes()" >/dev/null || die "$target_member is the primary, but lifting a fence failed: $(cat "$work/error")"
  echo "switchover-gate: $target_member is the primary already: nothing to switch."
  exit 0
fi
old_member=
old_host=
for candidate in ${others.map((member) => `${shellQuote(member.name)}=${shellQuote(layout.hosts[member.name] ?? "")}`).join(" ")}; do
  if [ "$(sql "\${candidate#*=}" "SELECT pg_is_in_recovery()" || true)" = f ]; then
    old_member=\${candidate%%=*}
    old_host=\${candidate#*=}
  fi
done

if [ "$failover" = yes ]; then
  [ -z "$old_member" ] || die "refusing the failover to $target_member: $old_member ($old_host) answers as a primary, so promoting $target_member would make two. Stop it, or switch over instead: pulumi config rm pgstack:failover. Nothing was changed."
  [ -n "$target_state" ] || die "refusing the failover: the target $target_member ($target_host) does not answer: $(cat "$work/error"). Nothing was changed."
  positions=$(sql "$target_host" "SELECT coalesce(pg_last_wal_receive_lsn()::text, 'none') || ' ' || coalesce(pg_last_wal_replay_lsn()::text, 'none')")
  echo "switchover-gate: failover to $target_member, which received WAL up to \${positions% *} and replayed up to \${positions#* }. It promotes after replaying what it received and what the repository holds; what the lost primary acknowledged after that is lost (start-member.sh reports the point)."
  exit 0
fi

if [ -z "$old_member" ]; then
  if [ -z "$target_state" ]; then
    echo "switchover-gate: no member answers (a new stack, or every member stopped): nothing to switch; the members start as the spec says."
    exit 0
  fi
  die "refusing the switchover to $target_member: no member answers as a primary. If the primary is lost, this is a failover: pulumi config set pgstack:failover true, and pulumi up. Nothing was changed."
fi
[ -n "$target_state" ] || die "refusing the switchover: the target $target_member ($target_host) does not answer: $(cat "$work/error"). Nothing was changed."

# Streaming and caught up: three samples of both positions, a second apart. Not streaming: the
# target's WAL stays where it was at the first sample while the primary's moves.
sample=0
first_target_lsn=
first_old_lsn=
while :; do
  old=$(position "$old_host" "$port") || die "cannot read the WAL position of the primary $old_member: $(cat "$work/error"). Nothing was changed."
  target=$(position "$target_host" "$port") || die "cannot read the WAL position of $target_member: $(cat "$work/error"). Nothing was changed."
  set -- $old
  old_system=$1 old_timeline=$2 old_lsn=$3
  set -- $target
  [ "$1" = "$old_system" ] || die "refusing the switchover: $target_member belongs to another cluster (system $1, the primary's is $old_system). Nothing was changed."
  [ "$2" = "$old_timeline" ] || die "refusing the switchover: $target_member is on timeline $2, the primary $old_member on $old_timeline: it does not follow it. Nothing was changed."
  target_lsn=$3
  lag=$(( $(bytes "$old_lsn") - $(bytes "$target_lsn") ))
  [ "$lag" -ge 0 ] || lag=0
  first_target_lsn=\${first_target_lsn:-$target_lsn}
  first_old_lsn=\${first_old_lsn:-$old_lsn}
  sample=$((sample + 1))
  [ "$sample" -lt 3 ] || break
  sleep 1
done
streaming=yes
if [ "$lag" -gt 0 ] && [ "$target_lsn" = "$first_target_lsn" ] && [ "$old_lsn" != "$first_old_lsn" ]; then
  streaming=no
fi
if [ "$lag" -gt "$max_lag" ]; then
  not_streaming=
  [ "$streaming" = yes ] || not_streaming=", and is not streaming (its WAL stays there while the primary's moves)"
  die "refusing the switchover: $target_member lags the primary $old_member by $lag bytes of WAL ($target_lsn against $old_lsn; at most $max_lag)$not_streaming. Wait for it to catch up and run pulumi up again. Nothing was changed."
fi
if [ "$streaming" = no ]; then
  die "refusing the switchover: $target_member is not streaming (its WAL stays at $target_lsn while the primary $old_member's moved to $old_lsn, $lag bytes ahead). Check its replication (pg_stat_wal_receiver on $target_member) and run pulumi up again. Nothing was changed."
fi
echo "switchover-gate: $target_member streams from $old_member and is $lag bytes behind ($target_lsn against $old_lsn on timeline $old_timeline)."

# Stop writes on the old primary cleanly: new sessions are read-only, every client session ends
# (open transactions roll back, never acknowledged). Twice: a session that connected while the
# first call ran did not see its setting yet. Then the position every acknowledged commit is under.
sql "$old_host" "SELECT ${FENCE_SCHEMA}.fence_writes()" >/dev/null || die "could not stop writes on $old_member: $(cat "$work/error"). Nothing was changed."
sql "$old_host" "SELECT ${FENCE_SCHEMA}.fence_writes()" >/dev/null || die "could not stop writes on $old_member: $(cat "$work/error")"
fence_lsn=$(sql "$old_host" "SELECT pg_current_wal_lsn()") || die "could not read the position of $old_member: $(cat "$work/error")"
waited=0
while :; do
  set -- $(position "$target_host" "$port" || echo - - 0/0)
  [ "$(bytes "$3")" -lt "$(bytes "$fence_lsn")" ] || break
  waited=$((waited + 1))
  if [ "$waited" -ge ${GATE_CATCH_UP_SECONDS} ]; then
    sql "$old_host" "SELECT ${FENCE_SCHEMA}.open_writes()" >/dev/null || true
    die "refusing the switchover: $target_member received WAL up to $3 only, not $fence_lsn, within ${GATE_CATCH_UP_SECONDS} s of writes stopping on $old_member. Writes are open again on $old_member; nothing else was changed."
  fi
  sleep 1
done
echo "switchover-gate: writes stopped on $old_member at WAL $fence_lsn, and $target_member has received all of it: the members roll now; $target_member promotes once $old_member has stopped."
`;
}

/** The gate's argv on both platforms: tini as PID 1 (psql children are reaped), then the script and its target. */
export function switchoverGateCommand(spec: Pick<ClusterModel, "layout" | "members">): string[] {
  return [...INIT_COMMAND, "sh", `${spec.layout.configDir}/switchover-gate.sh`, primaryMember(spec).name];
}
