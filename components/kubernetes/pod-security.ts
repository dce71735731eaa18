import type * as k8s from "@pulumi/kubernetes";

/** UID and GID of `postgres` in the official PostgreSQL (Debian) image, which pgstack's image extends. */
export const POSTGRES_UID = 999;
export const POSTGRES_GID = 999;

/** Labels that make the API server refuse any pod of the namespace below the restricted profile. */
export const RESTRICTED_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
} as const;

/**
 * Pod-level security of every pod of the stack (Pod Security Standards, restricted). fsGroup
 * makes the data volume and the mounted secrets readable by postgres; OnRootMismatch skips the
 * recursive chown of a large volume on every restart.
 */
export const podSecurityContext: k8s.types.input.core.v1.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: POSTGRES_UID,
  runAsGroup: POSTGRES_GID,
  fsGroup: POSTGRES_GID,
  fsGroupChangePolicy: "OnRootMismatch",
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Container-level security of every container. The root filesystem is read-only: everything
 * PostgreSQL and pgBackRest write goes to the data volume or an emptyDir (socket dir, /tmp).
 */
export const containerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
  runAsNonRoot: true,
  runAsUser: POSTGRES_UID,
  runAsGroup: POSTGRES_GID,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * The pod-spec fields every PostgreSQL-image pod of the stack shares (members, backup runner,
 * restore drill, switchover gate): its own service account with no API token mounted (nothing
 * in the pod talks to the API server), no Service environment variables (nothing reads them),
 * and the restricted pod security context.
 */
export function restrictedPodSpec(serviceAccountName: k8s.types.input.core.v1.PodSpec["serviceAccountName"]) {
  return {
    serviceAccountName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext,
  } satisfies Partial<k8s.types.input.core.v1.PodSpec>;
}
