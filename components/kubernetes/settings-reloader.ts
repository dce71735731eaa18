import type * as k8s from "@pulumi/kubernetes";
import { INIT_COMMAND } from "../render/commands";
import { shellQuote } from "../render/shell-quote";
import type { ClusterSpec } from "../spec/cluster-spec";

/** Seconds between two looks at the mounted settings; the kubelet itself takes up to a minute. */
export const RELOAD_INTERVAL_SECONDS = 10;
/** Where the loop proves it is alive, for its probes. */
const HEARTBEAT = "/tmp/pgstack-settings-reloader.alive";

/**
 * The loop of the settings reloader: when the mounted postgresql.conf or pg_hba.conf changes
 * (the kubelet rewrites a ConfigMap mount in place), it asks PostgreSQL to reload, as the
 * superuser over the shared socket (peer: no password). A reload that fails (the server is
 * starting or stopping) is retried on the next turn. PostgreSQL applies every changed
 * reload-level setting and logs the restart-level ones as pending; those roll the pod.
 * Argument: the interval in seconds.
 */
export function reloaderScript(spec: Pick<ClusterSpec, "layout" | "postgres">): string {
  const { layout, postgres } = spec;
  const files = `${shellQuote(`${layout.configDir}/postgresql.conf`)} ${shellQuote(`${layout.configDir}/pg_hba.conf`)}`;
  return [
    "set -u",
    "interval=$1",
    `seen=$(cat ${files} | cksum)`,
    "while :; do",
    `  touch ${HEARTBEAT}`,
    '  sleep "$interval"',
    `  now=$(cat ${files} | cksum) || continue`,
    '  [ "$now" = "$seen" ] && continue',
    `  if psql -X -q -A -t -h ${shellQuote(layout.socketDir)} -p ${layout.port} -U ${shellQuote(postgres.superuser)} -d postgres -c 'select pg_reload_conf()' >/dev/null; then`,
    '    echo "settings changed: PostgreSQL reloaded them"',
    "    seen=$now",
    "  fi",
    "done",
  ].join("\n");
}

/** argv of the reloader: `sh -c <script> reloader <interval>`. */
export function reloaderCommand(
  spec: Pick<ClusterSpec, "layout" | "postgres">,
  intervalSeconds = RELOAD_INTERVAL_SECONDS,
): string[] {
  return ["sh", "-c", reloaderScript(spec), "settings-reloader", String(intervalSeconds)];
}

/** The reloader's container, beside PostgreSQL in every member pod. */
export function reloaderContainer(
  spec: ClusterSpec,
  mounts: k8s.types.input.core.v1.VolumeMount[],
  resources: k8s.types.input.core.v1.ResourceRequirements,
): Omit<k8s.types.input.core.v1.Container, "image" | "securityContext"> & { name: string } {
  // Alive while the loop turns: its heartbeat is at most three intervals old.
  const alive = {
    exec: {
      command: [
        "sh",
        "-c",
        `[ $(( $(date +%s) - $(stat -c %Y ${HEARTBEAT}) )) -lt ${3 * RELOAD_INTERVAL_SECONDS} ]`,
      ],
    },
    periodSeconds: RELOAD_INTERVAL_SECONDS,
  };
  return {
    name: "settings-reloader",
    command: [...INIT_COMMAND, ...reloaderCommand(spec)],
    resources,
    startupProbe: { ...alive, failureThreshold: 6 },
    readinessProbe: { ...alive, failureThreshold: 3 },
    livenessProbe: { ...alive, failureThreshold: 6 },
    volumeMounts: mounts,
  };
}
