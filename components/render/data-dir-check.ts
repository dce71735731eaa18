import type { ClusterModel } from "../spec/build-cluster-spec";
import { restoreCommand } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { shellCommand, shellQuote } from "./shell-quote";

/**
 * check-data-dir.sh: run before PostgreSQL starts (`commands.integrityCheck`). An absent or empty
 * data directory passes (initdb or the replica bootstrap fills it); anything else must be a
 * complete cluster of the expected major version, readable by the running user, or the script
 * refuses with a message naming the problem and the restore command.
 *
 * It never deletes, moves or re-initialises anything. Scripts that wipe a directory missing
 * `global/pg_control` and re-run initdb turn a recoverable incident into silent data loss: the
 * member comes back healthy and empty.
 */
export function renderCheckDataDir(model: ClusterModel): string {
  // Shown with the directory the script was given, so the advice fits the harness as well.
  const restore = shellCommand(restoreCommand(model, { type: "latest" }));
  const header = commentLines([
    ...generatedHeader(model, "check-data-dir.sh"),
    "",
    "Usage: check-data-dir.sh DATA_DIR MAJOR_VERSION (POSIX sh; run as the PostgreSQL OS user).",
    "Exit 0: absent or empty (first start: initdb or the replica bootstrap fills it), or a complete",
    "        cluster of MAJOR_VERSION readable by this user.",
    "Exit 1: anything else. PostgreSQL must not start on it; a message on stderr says why and how",
    "        to recover. Exit 2: wrong usage.",
    "Never deletes, moves or re-initialises anything: a damaged directory may hold the only copy",
    "of recent data, and an automatic initdb would bring the member back healthy and empty.",
  ]);
  return `#!/bin/sh
${header.join("\n")}
set -u

if [ "$#" -ne 2 ]; then
  echo "usage: $0 DATA_DIR MAJOR_VERSION" >&2
  exit 2
fi
data_dir=$1
expected_major=$2
case "$expected_major" in
  '' | *[!0-9]*)
    echo "check-data-dir: MAJOR_VERSION must be a number such as ${model.postgres.version}, got '$expected_major'" >&2
    exit 2
    ;;
esac

# explain PROBLEM [DETAIL...]: why PostgreSQL will not start, on stderr.
explain() {
  {
    echo "pgstack: refusing to start PostgreSQL on $data_dir: $1"
    shift
    for line in "$@"; do
      echo "  $line"
    done
    echo "  Nothing was changed: pgstack never deletes, moves or re-initialises a data directory."
  } >&2
}

# refuse PROBLEM [DETAIL...]: a problem only a person can resolve (no restore advice).
refuse() {
  explain "$@"
  exit 1
}

# refuse_damaged PROBLEM [DETAIL...]: the directory is not a usable cluster; recover from the repository.
refuse_damaged() {
  explain "$@"
  {
    echo ""
    echo "  To recover from the pgBackRest repository, as the postgres OS user, with this member's"
    echo "  PostgreSQL stopped and kept from restarting (on an empty directory it would initialise a"
    echo "  new, empty cluster):"
    echo "    1. keep the damaged directory for diagnosis:"
    printf '         mv %s %s\\n' "$data_dir" "$data_dir.damaged-$(date -u +%Y%m%dT%H%M%SZ)"
    echo "    2. restore the latest backup and all archived WAL into it:"
    printf '         %s --pg1-path=%s\\n' ${shellQuote(restore)} "$data_dir"
    echo "       or to a point in time: add --type=time --target='YYYY-MM-DD HH:MM:SS+00' --target-action=promote"
    echo "    3. start the member again."
    echo "  On a replica, step 1 is enough: the next start clones an empty data directory from the primary."
  } >&2
  exit 1
}

if [ ! -e "$data_dir" ] && [ ! -L "$data_dir" ]; then
  echo "check-data-dir: $data_dir does not exist yet: first start, it will be initialised."
  exit 0
fi
[ -d "$data_dir" ] || refuse "it exists but is not a directory." "Point the data directory at a directory, or remove what is there yourself."
if [ ! -r "$data_dir" ] || [ ! -x "$data_dir" ]; then
  refuse "it is not readable by $(id -un) (uid $(id -u))." \\
    "Give the directory back to the PostgreSQL user: chown -R $(id -un) '$data_dir' && chmod 0700 '$data_dir'"
fi
if [ -z "$(ls -A "$data_dir")" ]; then
  echo "check-data-dir: $data_dir is empty: first start, it will be initialised."
  exit 0
fi

# Not empty: it must be a complete cluster. Each missing item is named.
[ -f "$data_dir/PG_VERSION" ] || refuse_damaged "PG_VERSION is missing." \\
  "The directory holds files but is not a PostgreSQL cluster: an interrupted initdb, restore or clone," \\
  "or files lost from the volume."
[ -r "$data_dir/PG_VERSION" ] || refuse "PG_VERSION is not readable by $(id -un)." \\
  "Give the directory back to the PostgreSQL user: chown -R $(id -un) '$data_dir'"
found_major=
IFS= read -r found_major <"$data_dir/PG_VERSION" || true
if [ "$found_major" != "$expected_major" ]; then
  refuse "it holds a PostgreSQL '$found_major' cluster and this is PostgreSQL $expected_major." \\
    "A data directory of another major version is upgraded with pg_upgrade (or a dump and restore);" \\
    "initdb over it would destroy it. Run the image of version $found_major again, or upgrade the" \\
    "directory with pg_upgrade before setting postgresVersion to $expected_major."
fi
[ -f "$data_dir/global/pg_control" ] || refuse_damaged "global/pg_control is missing." \\
  "Without its control file PostgreSQL cannot know where recovery starts; the cluster is incomplete."
[ -d "$data_dir/base" ] || refuse_damaged "base/ is missing." "The databases' files are gone; the cluster is incomplete."
[ -d "$data_dir/global" ] || refuse_damaged "global/ is missing." "The shared catalogs are gone; the cluster is incomplete."
[ -d "$data_dir/pg_wal" ] || refuse_damaged "pg_wal/ is missing (or its link is broken)." \\
  "Without the write-ahead log PostgreSQL cannot recover to a consistent state."

# Every file and directory readable (and directories searchable) by this user: PostgreSQL would
# otherwise fail mid-startup or mid-query on the first file it cannot open.
unreadable=$(find "$data_dir" -exec sh -c '
  for path do
    if [ -d "$path" ]; then
      { [ -r "$path" ] && [ -x "$path" ]; } || printf "%s\\n" "$path"
    else
      [ -r "$path" ] || printf "%s\\n" "$path"
    fi
  done' check-data-dir {} + 2>/dev/null)
if [ -n "$unreadable" ]; then
  count=$(printf '%s\\n' "$unreadable" | wc -l | tr -d ' ')
  first=$(printf '%s\\n' "$unreadable" | head -n 5 | sed 's/^/    /')
  refuse "$count file(s) or directories are not readable by $(id -un) (uid $(id -u)), for example:" \\
    "$first" \\
    "Give the directory back to the PostgreSQL user: chown -R $(id -un) '$data_dir' && chmod 0700 '$data_dir'"
fi

echo "check-data-dir: $data_dir holds a complete PostgreSQL $expected_major cluster."
exit 0
`;
}
