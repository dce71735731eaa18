import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels, roleSelector } from "./labels";

/**
 * Voluntary disruptions (node drains, cluster upgrades). pgstack has no automatic failover, so
 * evicting the primary is an outage: its budget allows none, and a drain of its node waits
 * until an operator moves it deliberately (a planned restart, or a switchover). Replicas may
 * be evicted one at a time: clients of the read-only Service lose one endpoint, not all. A
 * budget protects ready pods only (unhealthyPodEvictionPolicy, Kubernetes 1.27+).
 */
export function stackDisruptionBudgets(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.policy.v1.PodDisruptionBudget[] {
  const budget = (role: "primary" | "replica", maxUnavailable: number) =>
    new k8s.policy.v1.PodDisruptionBudget(
      `${spec.name}-${role}`,
      {
        metadata: { name: `${spec.name}-${role}`, namespace, labels: recommendedLabels(spec, "database") },
        spec: {
          maxUnavailable,
          selector: { matchLabels: roleSelector(spec, role) },
          // A pod that is not ready serves nobody: a drain may evict it (a crash-looping primary
          // would otherwise block every node drain and cluster upgrade until someone intervenes).
          unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
      },
      opts,
    );
  const budgets = [budget("primary", 0)];
  if (spec.members.some((member) => member.role === "replica")) budgets.push(budget("replica", 1));
  return budgets;
}
