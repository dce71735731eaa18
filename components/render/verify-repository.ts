import type { ClusterModel } from "../spec/build-cluster-spec";
import { runnerPgbackrest } from "./commands";
import { commentLines, generatedHeader } from "./generated-header";
import { shellCommand, shellQuote } from "./shell-quote";

/** Where the runner finds report-job.sh (spec.monitoringFiles), beside the other rendered scripts. */
export function reportJobScriptPath(model: ClusterModel): string {
  return `${model.layout.configDir}/report-job.sh`;
}

/**
 * File verify-repository.sh leaves while the last verify failed (removed when one passes): the
 * dev runner's healthcheck requires its absence, so a damaged repository turns the runner
 * unhealthy in `docker ps`. Survives a container restart, like the damage.
 */
export const VERIFY_FAILED_MARKER = "/tmp/pgstack-verify-failed";

/**
 * verify-repository.sh: `pgbackrest verify` that fails when the repository is damaged. pgBackRest's
 * verify exits 0 when a backed-up file or a WAL segment is corrupt or missing (reproduced with
 * 2.45: one byte changed → "checksum invalid: 1", exit 0); it says so only in its output
 * (`status: error`, and at log level info one line per bad file, quoted: "invalid checksum
 * '20261201-023048F/pg_data/base/5/2666.lz4'"). The script reads that output and exits 1 naming
 * each damaged backup and file, so the runner's job (a CronJob container, a crontab line) fails.
 *
 * With $PGSTACK_PUSHGATEWAY set (pgstack:monitoring), the outcome is pushed with report-job.sh; a
 * failed push is reported but never turns a verify's result into another.
 */
export function renderVerifyRepository(model: ClusterModel): string {
  const verify = shellCommand([
    ...runnerPgbackrest(model, "verify"),
    "--output=text",
    // Info is the level of the per-file lines ("invalid checksum '<backup>/<file>'").
    "--log-level-console=info",
    "--log-level-stderr=off",
  ]);
  const header = commentLines([
    ...generatedHeader(model, "verify-repository.sh"),
    "",
    "Usage: verify-repository.sh (POSIX sh; on the backup runner, as the PostgreSQL OS user).",
    `Runs pgbackrest verify on stanza ${model.archive.stanza} and exits 1 when the repository has errors,`,
    "naming the backups and files (pgBackRest's verify itself exits 0 on a corrupt file).",
  ]);
  return `#!/bin/sh
${header.join("\n")}
set -u

failed() {
  : > ${shellQuote(VERIFY_FAILED_MARKER)} || true
  report failed
  exit 1
}

report() {
  [ -n "\${PGSTACK_PUSHGATEWAY:-}" ] || return 0
  sh ${shellQuote(reportJobScriptPath(model))} verify "$1" ||
    echo "verify-repository.sh: could not push the outcome ($1) to $PGSTACK_PUSHGATEWAY" >&2
}

status=0
out=$(${verify}) || status=$?
printf '%s\\n' "$out"

if [ "$status" -ne 0 ]; then
  echo "verify-repository.sh: pgbackrest verify could not check the repository (exit $status); its output is above" >&2
  failed
fi

case "$out" in
  *"status: error"*)
    echo "verify-repository.sh: the repository of stanza ${model.archive.stanza} is damaged:" >&2
    # Each backup verify did not find valid, from the summary (printed once per output format).
    printf '%s\\n' "$out" | sed -n 's/^ *\\(backup: [^,]*, status: [^,]*\\),.*$/\\1/p' |
      grep -v 'status: valid$' | sort -u | sed 's/^/  /' >&2
    # Each damaged file, as pgBackRest named it: an INFO line quoting its repository path.
    printf '%s\\n' "$out" | sed -n "s/^.* P[0-9]* *INFO: \\(.*'[^']*'.*\\)$/  \\1/p" | sort -u >&2
    failed
    ;;
esac

rm -f ${shellQuote(VERIFY_FAILED_MARKER)}
report ok
`;
}
