import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { dockerLabels } from "./labels";

/** The address a published port binds to: the host's loopback, never all interfaces. */
export const PUBLISH_ADDRESS = "127.0.0.1";

export interface ClusterNetworks {
  /** The stack's private network: members, runner and the S3 store reach each other by container name. */
  readonly cluster: docker.Network;
  /**
   * A second, non-internal network the primary joins only when `network.publishPort` is set:
   * Docker publishes ports only through a network with a gateway, and this keeps the cluster
   * network internal all the same.
   */
  readonly publish?: docker.Network;
}

/**
 * Whether the cluster network can be `internal` (no route off the host). With the local S3 store everything
 * the members talk to is on it; with AWS S3 the members and the runner must reach the internet.
 */
export function clusterNetworkIsInternal(spec: ClusterSpec): boolean {
  return spec.archive.store === "local";
}

export function clusterNetworks(
  resourceName: string,
  spec: ClusterSpec,
  parent: pulumi.Resource,
): ClusterNetworks {
  const cluster = new docker.Network(
    resourceName,
    {
      name: spec.name,
      driver: "bridge",
      internal: clusterNetworkIsInternal(spec),
      attachable: false,
      // Defence in depth: a port published through this network binds to the loopback only.
      options: { "com.docker.network.bridge.host_binding_ipv4": PUBLISH_ADDRESS },
      labels: dockerLabels(spec, "network"),
    },
    { parent },
  );
  if (spec.network.publishPort === undefined || !clusterNetworkIsInternal(spec)) return { cluster };
  const publish = new docker.Network(
    `${resourceName}-publish`,
    {
      name: `${spec.name}-publish`,
      driver: "bridge",
      internal: false,
      attachable: false,
      // Published ports listen on the loopback only, whatever a container asks for.
      options: { "com.docker.network.bridge.host_binding_ipv4": PUBLISH_ADDRESS },
      labels: dockerLabels(spec, "network", { "pgstack.purpose": "publish" }),
    },
    { parent },
  );
  return { cluster, publish };
}
