import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { type Component, recommendedLabels } from "./labels";
import { objectNames } from "./names";

/** Annotation the EKS pod identity webhook reads to give a pod the role's web identity. */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

export interface StackServiceAccounts {
  readonly database: k8s.core.v1.ServiceAccount;
  readonly backup: k8s.core.v1.ServiceAccount;
  /** The restore drill's: IRSA to its own read-only role. */
  readonly drill: k8s.core.v1.ServiceAccount;
}

/**
 * One identity for the database members, one for the backup runner, one for the restore drill. Neither talks to the
 * Kubernetes API, so no API token is mounted; IRSA (roleArn set) projects its own STS-audience
 * token through the webhook, independent of that setting.
 */
export function stackServiceAccounts(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  roleArn: pulumi.Input<string> | undefined,
  drillRoleArn: pulumi.Input<string> | undefined,
  opts: pulumi.CustomResourceOptions,
): StackServiceAccounts {
  const names = objectNames(spec);
  const account = (name: string, component: Component, roleArn: pulumi.Input<string> | undefined) =>
    new k8s.core.v1.ServiceAccount(
      name,
      {
        metadata: {
          name,
          namespace,
          labels: recommendedLabels(spec, component),
          ...(roleArn !== undefined ? { annotations: { [IRSA_ROLE_ANNOTATION]: roleArn } } : {}),
        },
        automountServiceAccountToken: false,
      },
      opts,
    );
  return {
    database: account(names.databaseServiceAccount, "database", roleArn),
    backup: account(names.backupServiceAccount, "backup", roleArn),
    drill: account(names.drillServiceAccount, "restore-drill", drillRoleArn),
  };
}
