import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { memberSelector, recommendedLabels, roleSelector } from "./labels";
import { objectNames } from "./names";

/** Named container ports, so probes, Services and NetworkPolicies refer to one definition. */
export const POSTGRES_PORT_NAME = "postgres";
export const PGBACKREST_PORT_NAME = "pgbackrest";

export interface StackServices {
  /** Governing headless Service of each member's StatefulSet, by member name. */
  readonly headless: ReadonlyMap<string, k8s.core.v1.Service>;
  readonly members: ReadonlyMap<string, k8s.core.v1.Service>;
  readonly readWrite: k8s.core.v1.Service;
  readonly readOnly?: k8s.core.v1.Service;
}

/**
 * Every Service is ClusterIP (or headless): the database is reachable only inside the cluster,
 * through the NetworkPolicies. A member Service carries the member's name from the layout,
 * which the rendered configs connect to (replication, the runner's pg1-host); the read-write
 * and read-only Services are what applications use.
 */
export function stackServices(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): StackServices {
  const names = objectNames(spec);
  const postgresPort = { name: POSTGRES_PORT_NAME, port: spec.layout.port, targetPort: POSTGRES_PORT_NAME };
  const pgbackrestPort = {
    name: PGBACKREST_PORT_NAME,
    port: spec.layout.pgbackrestServerPort,
    targetPort: PGBACKREST_PORT_NAME,
  };
  const service = (
    name: string,
    selector: Record<string, string>,
    ports: k8s.types.input.core.v1.ServicePort[],
    headless = false,
  ) =>
    new k8s.core.v1.Service(
      name,
      {
        metadata: { name, namespace, labels: recommendedLabels(spec, "database") },
        spec: {
          type: "ClusterIP",
          ...(headless ? { clusterIP: "None" } : {}),
          selector,
          ports,
        },
      },
      opts,
    );

  const headless = new Map<string, k8s.core.v1.Service>();
  const members = new Map<string, k8s.core.v1.Service>();
  for (const member of spec.members) {
    const selector = memberSelector(spec, member);
    headless.set(member.name, service(names.headless(member), selector, [postgresPort], true));
    // Only the primary runs the pgBackRest TLS server: a replica's Service names no port its pods lack.
    const ports = member.role === "primary" ? [postgresPort, pgbackrestPort] : [postgresPort];
    members.set(member.name, service(names.member(member), selector, ports));
  }
  const hasReplicas = spec.members.some((member: MemberSpec) => member.role === "replica");
  return {
    headless,
    members,
    readWrite: service(names.readWrite, roleSelector(spec, "primary"), [postgresPort]),
    readOnly: hasReplicas
      ? service(names.readOnly, roleSelector(spec, "replica"), [postgresPort])
      : undefined,
  };
}
