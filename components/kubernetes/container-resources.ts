import type * as k8s from "@pulumi/kubernetes";
import type { ContainerResources } from "../spec/cluster-spec";
import { formatQuantity } from "../spec/units";

/**
 * Requests equal to limits: with every container of a pod so, the pod is Guaranteed, the last
 * the kubelet evicts under node memory pressure, and a node never promises its memory twice.
 */
export function guaranteed(resources: ContainerResources): k8s.types.input.core.v1.ResourceRequirements {
  const amounts = { cpu: String(resources.cpus), memory: formatQuantity(resources.memoryBytes) };
  return { requests: amounts, limits: { ...amounts } };
}
