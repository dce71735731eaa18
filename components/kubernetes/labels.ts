import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";

/** What a pod of the stack is: a database member, the backup runner, its restore drill, or the Pushgateway. */
export type Component = "database" | "backup" | "restore-drill" | "monitoring";

/** Label naming the member a database pod serves (`primary`, `replica-1`, ...). */
export const MEMBER_LABEL = "pgstack.io/member";
/** Label naming the role of a database pod; the read-write and read-only Services select on it. */
export const ROLE_LABEL = "pgstack.io/role";

/**
 * Kubernetes' recommended labels, on every object of the stack, so `kubectl get -l
 * app.kubernetes.io/instance=pgstack-prod` lists all of it and policies can find it.
 */
export function recommendedLabels(spec: ClusterSpec, component?: Component): Record<string, string> {
  return {
    "app.kubernetes.io/name": "postgresql",
    "app.kubernetes.io/instance": spec.name,
    ...(component ? { "app.kubernetes.io/component": component } : {}),
    "app.kubernetes.io/part-of": "pgstack",
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/version": String(spec.postgres.version),
  };
}

/**
 * The stable subset that selects pods. StatefulSet selectors are immutable, so nothing that
 * changes over the life of a stack (version) is in it.
 */
export function componentSelector(spec: ClusterSpec, component: Component): Record<string, string> {
  return {
    "app.kubernetes.io/name": "postgresql",
    "app.kubernetes.io/instance": spec.name,
    "app.kubernetes.io/component": component,
  };
}

export function memberSelector(spec: ClusterSpec, member: MemberSpec): Record<string, string> {
  return { ...componentSelector(spec, "database"), [MEMBER_LABEL]: member.name };
}

export function roleSelector(spec: ClusterSpec, role: MemberSpec["role"]): Record<string, string> {
  return { ...componentSelector(spec, "database"), [ROLE_LABEL]: role };
}

/** Labels of a member's pods: recommended, plus member and role for the Services. */
export function memberPodLabels(spec: ClusterSpec, member: MemberSpec): Record<string, string> {
  return { ...recommendedLabels(spec, "database"), [MEMBER_LABEL]: member.name, [ROLE_LABEL]: member.role };
}
