import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { DRILL_MEASUREMENTS, JOB_METRICS, PUSH_JOB } from "./job-metrics";

/** The runner's jobs whose outcome the alert rules read. */
export const REPORTED_STEPS = ["backup-full", "backup-diff", "verify", "drill"] as const;
export type ReportedStep = (typeof REPORTED_STEPS)[number];

/** Environment variable naming the Pushgateway's base URL (no secret: an address). */
export const PUSHGATEWAY_ENV = "PGSTACK_PUSHGATEWAY";

/**
 * report-job.sh: pushes the outcome of one job of the backup runner to the Pushgateway, as the
 * series the alert rules read. Usage: `report-job.sh <step> <ok|failed> [finished-at] [series-file]`
 * with the Pushgateway's URL in $PGSTACK_PUSHGATEWAY; `finished-at` is a Unix time (default: now,
 * also when empty), for a job reported after it ended. A passed drill adds its measurements
 * (DRILL_MEASUREMENTS, `name value` lines of `series-file`); any other line is refused.
 *
 * Each step is its own group (job, cluster, step), and the push is a POST, which replaces only the
 * series it carries: a failed drill sets `pgstack_drill_last_success 0` and keeps the time of the
 * last drill that passed, so both alerts (failed, too old) stay right. A failed backup pushes
 * nothing: its age alert is what reports it. Needs curl in the runner's image.
 */
export function renderJobReportScript(model: ClusterModel): string {
  const header = commentLines([
    ...generatedHeader(model, "report-job.sh"),
    "",
    "Usage: report-job.sh <backup-full|backup-diff|verify|drill> <ok|failed> [finished-at] [series-file]",
    `Pushes the job's outcome to the Pushgateway at $${PUSHGATEWAY_ENV} (job ${PUSH_JOB}).`,
  ]);
  const J = JOB_METRICS;
  const group = `/metrics/job/${PUSH_JOB}/${model.monitoring.clusterLabel}/${model.name}/step`;
  return `#!/bin/sh
${header.join("\n")}
set -eu

usage() {
  echo "usage: report-job.sh <${REPORTED_STEPS.join("|")}> <ok|failed> [finished-at] [series-file]" >&2
  exit 2
}
[ "$#" -ge 2 ] || usage
step=$1
outcome=$2
finished=\${3:-$(date +%s)}
series=\${4:-}
case "$finished" in
  ''|*[!0-9]*) echo "report-job.sh: finished-at must be a Unix time, got '$finished'" >&2; exit 2 ;;
esac
gateway=\${${PUSHGATEWAY_ENV}:?report-job.sh: set ${PUSHGATEWAY_ENV} to the Pushgateway URL}

case "$step:$outcome" in
  backup-full:ok) body='${J.backupLastSuccess}{type="full"} '"$finished" ;;
  backup-diff:ok) body='${J.backupLastSuccess}{type="diff"} '"$finished" ;;
  backup-full:failed|backup-diff:failed)
    echo "report-job.sh: $step failed; the backup age alerts report it" >&2
    exit 0
    ;;
  verify:ok) body='${J.verifyLastSuccess} 1' ;;
  verify:failed) body='${J.verifyLastSuccess} 0' ;;
  drill:ok) body='${J.drillLastSuccess} 1
${J.drillLastSuccessTime} '"$finished" ;;
  drill:failed) body='${J.drillLastSuccess} 0' ;;
  *) usage ;;
esac

if [ -n "$series" ]; then
  [ "$step:$outcome" = drill:ok ] || { echo "report-job.sh: only a passed drill carries measurements" >&2; exit 2; }
  # Only the drill's own series, each a name and a plain number: nothing else reaches the gateway.
  if grep -Ev '^(${DRILL_MEASUREMENTS.join("|")}) [0-9]+(\\.[0-9]+)?$' "$series" >&2; then
    echo "report-job.sh: the lines above of $series are not drill measurements" >&2
    exit 2
  fi
  body="$body
$(cat "$series")"
fi

printf '%s\\n' "$body" |
  curl --silent --show-error --fail --max-time 10 --data-binary @- "$gateway${group}/$step"
`;
}
