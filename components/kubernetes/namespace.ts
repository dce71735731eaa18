import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { RESTRICTED_NAMESPACE_LABELS } from "./pod-security";

/**
 * The stack's namespace, enforcing the restricted Pod Security Standard. Deleting a namespace
 * deletes its PersistentVolumeClaims (and with a `Delete` reclaim policy, the volumes): with
 * spec.protect, `pulumi destroy` refuses, and a destroy after unprotecting leaves it in place.
 */
export function stackNamespace(spec: ClusterSpec, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(
    `${spec.name}-namespace`,
    {
      metadata: {
        name: spec.network.namespace,
        labels: { ...recommendedLabels(spec), ...RESTRICTED_NAMESPACE_LABELS },
      },
    },
    { ...opts, protect: spec.protect, retainOnDelete: spec.protect },
  );
}
