import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { JOB_METRICS } from "./job-metrics";
import { shellCommand, shellQuote } from "./shell-quote";
import { reportJobScriptPath } from "./verify-repository";

/** `pgbackrest <command>` as the restore drill runs it: its own config and (read-only) credentials. */
export function drillPgbackrest(model: ClusterModel, command: string): string[] {
  const { drill } = model.layout;
  return [
    "pgbackrest",
    command,
    `--config=${drill.configDir}/pgbackrest.conf`,
    `--config-include-path=${drill.includeDir}`,
    `--stanza=${model.archive.stanza}`,
  ];
}

/** The restored copy's data directory inside the scratch directory. */
export function drillDataDir(model: ClusterModel): string {
  return `${model.layout.drill.scratchDir}/pgdata`;
}

/**
 * The drill's scratch directory may never be, hold or sit inside a member's volume: the drill
 * empties it at every start and end. Refused at render time, whatever a layout override says.
 */
export function assertDrillScratch(model: ClusterModel): void {
  const { scratchDir } = model.layout.drill;
  const within = (path: string, dir: string) =>
    path === dir || path.startsWith(`${dir.replace(/\/+$/, "")}/`);
  for (const live of [model.layout.volumeDir, model.layout.dataDir]) {
    if (within(scratchDir, live) || within(live, scratchDir)) {
      throw new Error(
        `restore drill: layout.drill.scratchDir ${scratchDir} overlaps the members' ${live}; the drill empties its scratch directory, so it must be a path of its own (e.g. /var/lib/postgresql/restore-drill)`,
      );
    }
  }
}

/**
 * Shared buffers of the drill's PostgreSQL. Recovery replays WAL in order and pg_amcheck reads
 * each relation once: a large buffer pool buys little, and in dev the drill shares the runner's
 * container and its memory limit.
 */
const DRILL_SHARED_BUFFERS = "128MB";

/**
 * restore-drill.sh: the scheduled restore drill of the backup runner (POSIX sh, as the PostgreSQL
 * OS user). It proves the repository restores, not only that its files are intact:
 *
 * 1. `pgbackrest restore` of the newest backup into an empty scratch directory, with the drill's
 *    own pgBackRest config (read-only credentials where the store has them) and
 *    `--archive-mode=off` (pgBackRest writes archive_mode=off into postgresql.auto.conf, so the
 *    copy can never push a timeline into the repository);
 * 2. PostgreSQL on it with a config of its own (no TCP listener, its socket in the scratch
 *    directory, archiving off, no primary_conninfo, hot_standby off), replaying the archive to
 *    its end (no recovery target: pgBackRest's `--type=default`), then promoting;
 * 3. `pg_amcheck --all` (heap and B-tree checks of every database);
 * 4. the measurements: restore and recovery seconds, database bytes, RTO (seconds per GB), and
 *    the newest transaction's age. The newest transaction is pg_last_xact_replay_timestamp(): the
 *    commit time of the last transaction replayed, which stays set after the promotion and needs no
 *    track_commit_timestamp. When recovery replayed no commit (a quiet database), the data is that
 *    of the backup: its stop time from `pgbackrest info` is used, and the summary says so;
 * 5. one summary line (`restore-drill: passed ...`), the measurements pushed with report-job.sh
 *    (with $PGSTACK_PUSHGATEWAY), and the copy removed: PostgreSQL stopped and the scratch
 *    directory emptied, by an EXIT trap, also when a step failed.
 *
 * It fails (exit 1, `restore-drill: FAILED: <why>`) when the restore fails (a damaged backup
 * file: pgBackRest's error, and the files `pgbackrest verify` finds damaged), when PostgreSQL stops during recovery (a WAL segment the
 * backup needs is missing: the segment archive-get could not find is named), when recovery ended
 * at a gap before the newest archived segment (data that is in the archive would be lost), and
 * when pg_amcheck reports corruption.
 */
export function renderRestoreDrill(model: ClusterModel): string {
  assertDrillScratch(model);
  const { layout, postgres } = model;
  const scratch = layout.drill.scratchDir;
  const data = drillDataDir(model);
  const info = shellCommand([...drillPgbackrest(model, "info"), "--output=json", "--log-level-console=warn"]);
  const restore = shellCommand([
    ...drillPgbackrest(model, "restore"),
    `--pg1-path=${data}`,
    `--process-max=${model.resources.drill.cpus}`,
    "--archive-mode=off",
    "--log-level-console=info",
  ]);
  // Read-only: names the damaged files when a restore failed (pgBackRest's restore error, e.g.
  // "lz4 error: ERROR_decompressionFailed", does not name the file).
  const verify = shellCommand([
    ...drillPgbackrest(model, "verify"),
    "--output=text",
    "--log-level-console=info",
    "--log-level-stderr=off",
  ]);
  const header = commentLines([
    ...generatedHeader(model, "restore-drill.sh"),
    "",
    "Usage: restore-drill.sh (POSIX sh; as the PostgreSQL OS user, on the backup runner's schedule).",
    `Restores the newest backup of stanza ${model.archive.stanza} into ${scratch}, replays the archive,`,
    "checks it with pg_amcheck, reports restore/recovery seconds, RTO and data age, removes the copy.",
  ]);
  const q = shellQuote;
  const M = JOB_METRICS;
  return `#!/bin/sh
${header.join("\n")}
set -u

scratch=${q(scratch)}
data=${q(data)}
log="$scratch/postgres.log"
pid=

fail() {
  echo "restore-drill: FAILED: $*" >&2
  report failed
  exit 1
}

report() {
  [ -n "\${PGSTACK_PUSHGATEWAY:-}" ] || return 0
  sh ${q(reportJobScriptPath(model))} drill "$@" ||
    echo "restore-drill: could not push the outcome ($1) to $PGSTACK_PUSHGATEWAY" >&2
}

# The copy never outlives the drill: PostgreSQL stopped, the scratch directory emptied.
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    pg_ctl stop --pgdata="$data" --mode=immediate --wait --timeout=60 >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
  fi
  find "$scratch" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
sql() { psql --no-psqlrc --quiet --tuples-only --no-align --host="$scratch" --port=${layout.port} --username=${q(postgres.superuser)} --dbname=postgres --no-password --command="$1"; }

# A drill that was killed leaves its copy (and in dev, where the runner lives on, perhaps its
# PostgreSQL): the scratch directory is the drill's alone, stopped and emptied first.
mkdir -p "$scratch" || fail "cannot create the scratch directory $scratch"
[ ! -f "$data/postmaster.pid" ] || pg_ctl stop --pgdata="$data" --mode=immediate --wait --timeout=60 >/dev/null 2>&1 || true
find "$scratch" -mindepth 1 -maxdepth 1 -exec rm -rf {} + || fail "cannot empty the scratch directory $scratch"
mkdir -m 0700 "$data" || fail "cannot create $data"

# The newest backup and the newest archived WAL segment, from the repository's own listing.
out=$(${info}) || fail "pgbackrest info could not read the repository: $out"
case "$out" in
  *'"status":{"code":0,'*) ;;
  *) fail "the repository of stanza ${model.archive.stanza} is not usable: $(printf '%s' "$out" | grep -o '"message":"[^"]*"' | head -n 1)" ;;
esac
label=$(printf '%s' "$out" | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
[ -n "$label" ] || fail "the repository of stanza ${model.archive.stanza} holds no backup"
backup_stop=$(printf '%s' "$out" | grep -o '"stop":[0-9][0-9]*' | tail -n 1 | cut -d: -f2)
archive_max=$(printf '%s' "$out" | grep -o '"max":"[0-9A-F]\\{24\\}"' | cut -d'"' -f4 | sort | tail -n 1)

echo "restore-drill: restoring backup $label of stanza ${model.archive.stanza} into $data"
started=$(now)
${restore} --set="$label" > "$scratch/restore.log" 2>&1
status=$?
cat "$scratch/restore.log"
if [ "$status" -ne 0 ]; then
  error=$(grep -A 2 'ERROR' "$scratch/restore.log" | grep -v 'restore command end' | head -n 3 | tr '\\n' ' ')
  echo "restore-drill: pgbackrest restore failed; pgbackrest verify names the damaged files:" >&2
  damaged=$(${verify} 2>&1 | sed -n "s/^.* P[0-9]* *INFO: \\(.*'[^']*'.*\\)$/\\1/p" | sort -u)
  printf '%s\\n' "$damaged" >&2
  fail "pgbackrest restore of backup $label exited $status: $error; verify: $(printf '%s' "$damaged" | tr '\\n' ';')"
fi
restored=$(now)

# The copy's own settings: no TCP listener, its socket here, never archiving, never streaming.
cat > "$scratch/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$scratch'
port = ${layout.port}
archive_mode = off
primary_conninfo = ''
hot_standby = off
shared_buffers = ${DRILL_SHARED_BUFFERS}
max_connections = 20
hba_file = '$scratch/pg_hba.conf'
ident_file = '$scratch/pg_ident.conf'
logging_collector = off
EOF
echo 'local all ${postgres.superuser} peer' > "$scratch/pg_hba.conf"
: > "$scratch/pg_ident.conf"

postgres -D "$data" -c config_file="$scratch/postgresql.conf" > "$log" 2>&1 &
pid=$!
until [ "$(sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    pid=
    tail -n 20 "$log" >&2
    missing=$(grep -o 'unable to find [0-9A-F]\\{24\\}' "$log" | tail -n 1 | cut -d' ' -f4)
    if [ -n "$missing" ]; then
      fail "recovery of backup $label stopped: WAL segment $missing, which the backup needs, is missing from the archive"
    fi
    fail "PostgreSQL stopped during recovery of backup $label; its log is above"
  fi
  sleep 1
done
recovered=$(now)

# Recovery ends at the first segment archive-get cannot find: before the newest archived one (of
# the same timeline), a segment in between is missing and the copy silently lacks what follows it.
ended_at=$(grep -o 'unable to find [0-9A-F]\\{24\\}' "$log" | tail -n 1 | cut -d' ' -f4)
if [ -n "$ended_at" ] && [ -n "$archive_max" ] &&
  [ "\${ended_at%????????????????}" = "\${archive_max%????????????????}" ] &&
  [ "$(printf '%s\\n%s\\n' "$ended_at" "$archive_max" | sort | head -n 1)" = "$ended_at" ] && [ "$ended_at" != "$archive_max" ]; then
  fail "recovery of backup $label ended at missing WAL segment $ended_at, but the archive holds WAL up to $archive_max"
fi
grep -E 'redo done|last completed transaction|selected new timeline' "$log" || true

newest=$(sql "SELECT coalesce(floor(extract(epoch FROM pg_last_xact_replay_timestamp()))::bigint, 0)") ||
  fail "cannot query the restored copy"
newest_source="newest replayed transaction"
if [ "$newest" = 0 ]; then
  newest=\${backup_stop:-0}
  newest_source="no transaction replayed: backup $label's stop time"
fi
bytes=$(sql 'SELECT sum(pg_database_size(oid))::bigint FROM pg_database') || fail "cannot size the restored copy"

echo "restore-drill: pg_amcheck --all on the restored copy"
if ! pg_amcheck --host="$scratch" --port=${layout.port} --username=${q(postgres.superuser)} --all --install-missing --no-password; then
  fail "pg_amcheck found corruption in backup $label (or could not check it); its findings are above"
fi

ended=$(date +%s)
restore_seconds=$(elapsed "$started" "$restored")
recovery_seconds=$(elapsed "$restored" "$recovered")
rto=$(awk -v r="$restore_seconds" -v c="$recovery_seconds" -v b="$bytes" 'BEGIN { printf "%.1f", (r + c) / (b / 1e9) }')
age=$((ended - newest))
newest_utc=$(date -u -d "@$newest" '+%Y-%m-%dT%H:%M:%SZ')
echo "restore-drill: passed backup=$label restore_seconds=$restore_seconds recovery_seconds=$recovery_seconds database_bytes=$bytes rto_seconds_per_gb=$rto data_age_seconds=$age newest=$newest_utc ($newest_source)"

cat > "$scratch/measurements" <<EOF
${M.drillRestoreSeconds} $restore_seconds
${M.drillRecoverySeconds} $recovery_seconds
${M.drillDatabaseBytes} $bytes
${M.drillRtoSecondsPerGigabyte} $rto
${M.drillDataAgeSeconds} $age
EOF
report ok "$ended" "$scratch/measurements"
exit 0
`;
}
