import type { ClusterSpec, MemberSpec } from "../../components/spec/cluster-spec";
import { primaryHost, primaryMember } from "../../components/spec/layout";

/**
 * The stack's topology as a Mermaid flowchart (GitHub renders it in the plan's PR comment):
 * the members and their roles, the slots the replicas stream from, the backup runner and the
 * repository, and, dashed, what a switchover to each replica changes.
 */
export function topologyMermaid(spec: ClusterSpec): string {
  const primary = primaryMember(spec);
  const replicas = spec.members.filter((member) => member.role === "replica");
  const id = (member: MemberSpec) => `member_${member.name.replaceAll("-", "_")}`;
  const readWrite = spec.platform === "kubernetes" ? `Service ${spec.name}-rw` : `alias ${spec.name}-rw`;
  const lines = [
    "flowchart LR",
    `  clients(["clients"]) -->|"read-write: ${readWrite}"| ${id(primary)}`,
    `  ${id(primary)}["${primary.name}<br/>PRIMARY"]`,
    ...replicas.map((replica) => `  ${id(replica)}["${replica.name}<br/>replica, slot ${replica.slot}"]`),
    ...replicas.map((replica) => `  ${id(primary)} -->|"streams WAL, slot ${replica.slot}"| ${id(replica)}`),
    `  runner["backup runner<br/>pg1-host ${primaryHost(spec)}"] -->|"backups, pgBackRest TLS :${spec.layout.pgbackrestServerPort}"| ${id(primary)}`,
    `  ${id(primary)} -->|"archive-push WAL"| repository[("repository<br/>s3://${spec.archive.bucket}${spec.archive.path}")]`,
    '  runner -->|"writes backups"| repository',
    ...replicas.map(
      (replica) =>
        `  ${id(replica)} -.->|"pgstack:primary=${replica.name}: promoted; rw, pg1-host and slots follow it; ${primary.name} rejoins by pg_rewind"| ${id(primary)}`,
    ),
  ];
  return lines.join("\n");
}

/** One line saying which member is primary and what changing it does. */
export function primaryLine(spec: ClusterSpec): string {
  const primary = primaryMember(spec);
  const others = spec.members.filter((member) => member.role === "replica").map((member) => member.name);
  const change =
    others.length === 0
      ? "no replica to switch over to"
      : `pgstack:primary=${others.join(" | ")} switches over (README, Switchover and failover)`;
  const failover = spec.switchover.failover
    ? "; FAILOVER: the old primary is not stopped cleanly and stays fenced until it rejoins by pg_rewind"
    : "";
  return `${primary.name} (${primaryHost(spec)}); ${change}${failover}`;
}
