import type { ClusterSpec } from "../spec/cluster-spec";

/** What a Docker object of the stack is for. */
export type DockerRole =
  | "primary"
  | "replica"
  | "backup-runner"
  | "object-store"
  | "object-store-setup"
  | "switchover-gate"
  | "network"
  | "image"
  | "exporter"
  | "prometheus"
  | "alertmanager"
  | "pushgateway";

/** Label keys on every container, volume and network of a stack: `docker ps --filter label=pgstack.stack=dev`. */
export const STACK_LABEL = "pgstack.stack";
export const CLUSTER_LABEL = "pgstack.cluster";
export const ROLE_LABEL = "pgstack.role";
/** Member a data volume or container serves (`primary`, `replica-1`, ...). */
export const MEMBER_LABEL = "pgstack.member";

/** Docker labels (the provider's `{label, value}` list) saying which stack and role an object has. */
export function dockerLabels(
  spec: ClusterSpec,
  role: DockerRole,
  extra: Readonly<Record<string, string>> = {},
): { label: string; value: string }[] {
  const labels: Record<string, string> = {
    [STACK_LABEL]: spec.stack,
    [CLUSTER_LABEL]: spec.name,
    [ROLE_LABEL]: role,
    "pgstack.project": spec.project,
    "pgstack.managed-by": "pulumi",
    ...extra,
  };
  return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
