import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { memberResourceName, primaryHost, primaryMember } from "../spec/layout";

/**
 * Names of the stack's Kubernetes objects. Member Services carry `memberResourceName`, because
 * the rendered configs (primary_conninfo, pg1-host) reach members by the host names in
 * `spec.layout.hosts`, which are built from it.
 */
export const objectNames = (spec: ClusterSpec) => ({
  member: (member: MemberSpec) => memberResourceName(spec.name, member),
  /** Governing headless Service of a member's StatefulSet (stable pod DNS). */
  headless: (member: MemberSpec) => `${memberResourceName(spec.name, member)}-headless`,
  readWrite: `${spec.name}-rw`,
  readOnly: `${spec.name}-ro`,
  databaseServiceAccount: `${spec.name}-database`,
  backupServiceAccount: `${spec.name}-backup`,
  passwords: `${spec.name}-passwords`,
  pgbackrestSecrets: `${spec.name}-pgbackrest`,
  caCertificate: `${spec.name}-ca`,
  memberTls: (member: MemberSpec) => `${memberResourceName(spec.name, member)}-tls`,
  backupTls: `${spec.name}-backup-tls`,
  backupFull: `${spec.name}-backup-full`,
  backupDiff: `${spec.name}-backup-diff`,
  restoreDrill: `${spec.name}-restore-drill`,
  drillServiceAccount: `${spec.name}-restore-drill`,
  drillPgbackrestSecrets: `${spec.name}-pgbackrest-drill`,
});

/**
 * In-cluster DNS name of a Service of the stack. The cluster domain is the layout's: it is read
 * off the primary's host name (`<member>.<namespace>.svc.<domain>`), never assumed here.
 */
export function serviceHost(spec: ClusterSpec, serviceName: string): string {
  const primary = primaryMember(spec);
  const primaryService = memberResourceName(spec.name, primary);
  const host = primaryHost(spec);
  if (!host.startsWith(`${primaryService}.`)) {
    throw new Error(
      `${spec.name}: layout.hosts.${primary.name} is "${host}", expected "${primaryService}.<namespace>.svc.<domain>" on Kubernetes`,
    );
  }
  return `${serviceName}${host.slice(primaryService.length)}`;
}
