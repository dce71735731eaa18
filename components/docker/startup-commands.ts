import { reportCertificatesScriptPath } from "../render/certificate-report";
import { memberStartArguments } from "../render/commands";
import { shellCommand } from "../render/shell-quote";
import { reportJobScriptPath } from "../render/verify-repository";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";

/**
 * What each container runs, composed from `spec.commands` and nothing else: the commands are
 * quoted verbatim into one `sh -c` script per container, joined by `set -e` ordering. No value
 * is computed here.
 */

/** Seconds between restarts of the pgBackRest TLS server if it ever exits. */
const SERVER_RESTART_DELAY_SECONDS = 5;

/**
 * The primary: the pgBackRest TLS server as a second process, then the rendered start-member.sh
 * (integrity check, initdb where the stack has no database, roles, exec postgres).
 *
 * The TLS server runs in the primary's container, not a sidecar: it must share the primary's
 * network identity (the runner verifies the name `layout.hosts.primary` in its certificate) and
 * its socket directory, and Docker containers that share another's network namespace lose it
 * whenever that container restarts. It is started twice-forked, so its parent is the container's
 * init (tini, PID 1), never the postmaster: the postmaster treats an unknown child that dies by a
 * signal as a crashed backend and restarts every session. A loop restarts it if it exits; its
 * output goes to the container log.
 */
export function primaryStartScript(spec: ClusterSpec, member: MemberSpec): string {
  const server = shellCommand(spec.commands.pgbackrestServer);
  return [
    "set -eu",
    `( while :; do status=0; ${server} || status=$?; ` +
      `echo "pgstack: pgBackRest TLS server exited with status $status; restarting it in ${SERVER_RESTART_DELAY_SECONDS} s" >&2; ` +
      `sleep ${SERVER_RESTART_DELAY_SECONDS}; done & )`,
    `exec ${shellCommand(memberStartArguments(spec, member.name))}`,
  ].join("\n");
}

/**
 * What a member's container runs after its entrypoint (tini): a replica runs start-member.sh
 * directly (bootstrap, integrity check, postgres); the primary through primaryStartScript.
 */
export function memberStartCommand(spec: ClusterSpec, member: MemberSpec): string[] {
  return member.role === "primary"
    ? ["sh", "-c", primaryStartScript(spec, member)]
    : memberStartArguments(spec, member.name);
}

/**
 * File the runner writes once the chain is proven (stanza, `check`, and a backup exists): its
 * healthcheck requires it, and `pulumi up` waits for that health, so `up` fails while archiving
 * or backups are broken. Removed first on every start: a restarted container keeps its files.
 */
export const RUNNER_READY_MARKER = "/tmp/pgstack-runner-ready";

/**
 * How a runner job reports a success to the Pushgateway (pgstack:monitoring): report-job.sh, then
 * (with pgstack:tls) the certificates' expiry with report-certificates.sh. A failed push is logged
 * and never fails the job (the backup happened); a failed backup pushes nothing (the backup age
 * alerts report it).
 */
function reportSuccess(spec: ClusterSpec, step: "backup-full" | "backup-diff"): string {
  if (!spec.monitoring.enabled) return "";
  const certificates = spec.tls
    ? ` && { ${shellCommand(["sh", reportCertificatesScriptPath(spec)])} || true; }`
    : "";
  return ` && { ${shellCommand(["sh", reportJobScriptPath(spec), step, "ok"])} || true; }${certificates}`;
}

/**
 * The runner: creates the stanza (first start) and checks the whole chain once (runner → TLS
 * server on the primary → PostgreSQL → archive_command → repository). When the repository holds
 * no backup yet (a new stack, or a repository lost), it takes a full backup and verifies it at
 * once: supercronic never runs a slot that was missed (a laptop asleep at that hour), so waiting
 * for the schedule could leave a stack without any backup. Then it marks itself ready and hands
 * over to the scheduler. A failure exits, and Docker restarts it with a growing delay: its log
 * says why, and the missing marker keeps it unhealthy.
 */
export function runnerStartScript(spec: ClusterSpec, crontabPath: string): string {
  const { commands } = spec;
  const marker = shellCommand([RUNNER_READY_MARKER]);
  return [
    "set -eu",
    `rm -f ${marker}`,
    shellCommand(commands.runnerStanzaCreate),
    shellCommand(commands.runnerCheck),
    `info=$(${shellCommand([...commands.runnerInfo, "--output=json"])})`,
    'case "$info" in',
    `  *'"backup":[]'*)`,
    '    echo "pgstack: the repository has no backup yet: taking the first full backup now"',
    `    ${shellCommand(commands.runnerBackupFull)}`,
    `    ${shellCommand(commands.verifyRepository)}`,
    "    ;;",
    "esac",
    `touch ${marker}`,
    `exec supercronic ${shellCommand([crontabPath])}`,
  ].join("\n");
}

/**
 * The backup schedule as a crontab (supercronic runs each line with /bin/sh -c, times in the
 * container's TZ, which is UTC): each backup is followed by verify-repository.sh, which fails
 * (and reports) when the repository has errors. A failed line is never re-run by supercronic: a
 * failed verify cannot cause another backup. The restore drill is a line of its own, on its own
 * schedule (supercronic runs a line again only once its previous run ended).
 */
export function backupCrontab(spec: ClusterSpec): string {
  const { schedules, drillSchedule } = spec.archive;
  const { runnerBackupFull, runnerBackupDiff, verifyRepository, restoreDrill } = spec.commands;
  const verify = shellCommand(verifyRepository);
  return [
    `# Backup schedule of pgstack stack "${spec.stack}" (${spec.name}), times in UTC.`,
    "# Generated by pgstack from the stack configuration: do not edit by hand.",
    `${schedules.full} ${shellCommand(runnerBackupFull)}${reportSuccess(spec, "backup-full")} && ${verify}`,
    `${schedules.diff} ${shellCommand(runnerBackupDiff)}${reportSuccess(spec, "backup-diff")} && ${verify}`,
    `${drillSchedule} ${shellCommand(restoreDrill)}`,
    "",
  ].join("\n");
}
