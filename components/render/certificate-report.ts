import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { CERTIFICATE_NOT_AFTER, PUSH_JOB } from "./job-metrics";
import { PGBACKREST_TLS_FILES } from "./pgbackrest-conf";
import { shellQuote } from "./shell-quote";

/** Seconds one connection and TLS handshake may take before the member counts as unreadable. */
const HANDSHAKE_TIMEOUT_SECONDS = 10;

/** Where the runner finds report-certificates.sh, beside report-job.sh. */
export function reportCertificatesScriptPath(model: ClusterModel): string {
  return `${model.layout.configDir}/report-certificates.sh`;
}

/**
 * report-certificates.sh: the backup runner pushes the expiry (notAfter, Unix time) of the stack's
 * certificates to the Pushgateway, as `pgstack_certificate_not_after_timestamp_seconds{certificate}`:
 *
 * - each member's server certificate as PostgreSQL presents it: `openssl s_client -starttls
 *   postgres` (the SSLRequest, then the TLS handshake; nothing is sent after it, so no login is
 *   tried and PostgreSQL logs nothing). PostgreSQL and the pgBackRest TLS server load the mounted
 *   server.crt at start (a renewal rolls the member), so this is the certificate the processes
 *   use, not a copy of what should be there;
 * - the runner's own client certificate and the stack CA, from the files mounted in its container.
 *
 * Dates are read without verifying the chain: an expired certificate still gives its date. When a
 * certificate cannot be read the script names it and pushes nothing (exit 1): every series keeps
 * its last value, and a renewal not yet seen leaves the older date, which alerts early, never late.
 * Otherwise the push is a PUT of the whole group: a member removed from the stack drops out.
 * openssl comes with the image's ca-certificates package (a dependency); curl as for report-job.sh.
 */
export function renderCertificateReportScript(model: ClusterModel): string {
  const { layout, monitoring } = model;
  const file = (name: string) => shellQuote(`${layout.runner.tlsDir}/${name}`);
  const header = commentLines([
    ...generatedHeader(model, "report-certificates.sh"),
    "",
    "Usage: report-certificates.sh (on the backup runner; the Pushgateway's URL in $PGSTACK_PUSHGATEWAY).",
    `Pushes ${CERTIFICATE_NOT_AFTER}{certificate}: each member's certificate as PostgreSQL presents it,`,
    "the runner's client certificate and the stack CA.",
  ]);
  const group = `/metrics/job/${PUSH_JOB}/${monitoring.clusterLabel}/${model.name}/step/certificates`;
  const members = model.members.map(
    (member) =>
      `record ${shellQuote(member.name)} "$(served ${shellQuote(layout.hosts[member.name] as string)})"`,
  );
  return `#!/bin/sh
${header.join("\n")}
set -u

gateway=\${PGSTACK_PUSHGATEWAY:?report-certificates.sh: set PGSTACK_PUSHGATEWAY to the Pushgateway URL}
body=""
unreadable=""

# record <certificate> <PEM text>: adds the certificate's notAfter as a series.
record() {
  at=""
  end=$(printf '%s\\n' "$2" | openssl x509 -noout -enddate 2>/dev/null) &&
    at=$(date -u -d "\${end#notAfter=}" +%s 2>/dev/null)
  if [ -z "$at" ]; then
    unreadable="$unreadable $1"
    return 0
  fi
  body="\${body}${CERTIFICATE_NOT_AFTER}{certificate=\\"$1\\"} $at
"
}

# served <host>: the certificate PostgreSQL on <host> presents.
served() {
  timeout ${HANDSHAKE_TIMEOUT_SECONDS} openssl s_client -starttls postgres -connect "$1:${layout.port}" -servername "$1" \\
    </dev/null 2>/dev/null
}

${members.join("\n")}
record runner "$(cat ${file(PGBACKREST_TLS_FILES.runnerCert)} 2>/dev/null)"
record ca "$(cat ${file(PGBACKREST_TLS_FILES.ca)} 2>/dev/null)"

if [ -n "$unreadable" ]; then
  echo "report-certificates.sh: could not read the certificate of:$unreadable; nothing pushed" >&2
  exit 1
fi
printf '%s' "$body" |
  curl --silent --show-error --fail --max-time 10 -X PUT --data-binary @- "$gateway${group}"
`;
}
