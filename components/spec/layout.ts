import type { Platform } from "../config/stack-config";
import type { Layout, MemberSpec } from "./cluster-spec";

/** PostgreSQL's port inside every platform. */
export const POSTGRES_PORT = 5432;
/** pgBackRest TLS server port (pgBackRest's own default). */
export const PGBACKREST_SERVER_PORT = 8432;

/** In-container paths shared by both platforms: the image is the same, so are its paths. */
const CONTAINER_PATHS = {
  volumeDir: "/var/lib/postgresql/data",
  dataDir: "/var/lib/postgresql/data/pgdata",
  configDir: "/etc/pgstack",
  pgbackrestConfigDir: "/etc/pgbackrest",
  pgbackrestIncludeDir: "/etc/pgbackrest/conf.d",
  secretsDir: "/run/secrets/pgstack",
  tlsDir: "/etc/pgstack/tls",
  socketDir: "/var/run/postgresql",
  spoolPath: "/var/lib/postgresql/data/pgbackrest-spool",
  pgbackrestLogPath: "/var/lib/postgresql/data/pgbackrest-log",
  pgbackrestLockPath: "/tmp/pgbackrest",
  runner: {
    configDir: "/etc/pgbackrest",
    includeDir: "/etc/pgbackrest/conf.d",
    tlsDir: "/etc/pgstack/tls",
    logPath: "/var/log/pgbackrest",
    lockPath: "/tmp/pgbackrest",
  },
  drill: {
    configDir: "/etc/pgbackrest/drill",
    includeDir: "/etc/pgbackrest/drill/conf.d",
    // Beside the image's postgres home, never under volumeDir: no member volume is mounted in the
    // drill's container, and the renderer refuses a scratch path inside or above volumeDir.
    scratchDir: "/var/lib/postgresql/restore-drill",
  },
} as const;

/** CA bundle in the containers: the stack's own CA, which signs the S3 store's and the members' certificates. */
export const STACK_CA_FILE = `${CONTAINER_PATHS.tlsDir}/ca.crt`;

/** Container or Service name of a member: what the other members and the runner connect to. */
export function memberResourceName(clusterName: string, member: MemberSpec): string {
  return `${clusterName}-${member.name}`;
}

/** Kubernetes: name of a member StatefulSet's data volume claim template. */
export const DATA_CLAIM_TEMPLATE = "data";

/** Kubernetes: the PVC of a member, `<template>-<statefulset>-<ordinal>` (one pod, ordinal 0). */
export function memberDataClaim(clusterName: string, member: MemberSpec): string {
  return `${DATA_CLAIM_TEMPLATE}-${memberResourceName(clusterName, member)}-0`;
}

/**
 * Default layout of a platform. Docker members reach each other by container name on the
 * stack's private network; Kubernetes members by Service DNS name in the stack's namespace.
 */
export function defaultLayout(
  platform: Platform,
  clusterName: string,
  namespace: string,
  members: readonly MemberSpec[],
  s3: { readonly endpoint: string; readonly port: number; readonly caFile?: string },
): Layout {
  const hosts: Record<string, string> = {};
  for (const member of members) {
    const name = memberResourceName(clusterName, member);
    hosts[member.name] = platform === "kubernetes" ? `${name}.${namespace}.svc.cluster.local` : name;
  }
  return {
    ...CONTAINER_PATHS,
    port: POSTGRES_PORT,
    hosts,
    pgbackrestServerPort: PGBACKREST_SERVER_PORT,
    s3Endpoint: s3.endpoint,
    s3Port: s3.port,
    s3CaFile: s3.caFile,
  };
}

/** The member that is primary (`pgstack:primary`); the schema refuses a name that is no member. */
export function primaryMember(spec: { readonly members: readonly MemberSpec[] }): MemberSpec {
  const primary = spec.members.find((member) => member.role === "primary");
  if (primary === undefined) throw new Error("pgstack: the spec has no primary member");
  return primary;
}

/** Host name of the primary, as the replicas and the backup runner reach it. */
export function primaryHost(spec: {
  readonly members: readonly MemberSpec[];
  readonly layout: Pick<Layout, "hosts">;
}): string {
  const { name } = primaryMember(spec);
  const host = spec.layout.hosts[name];
  if (host === undefined) throw new Error(`pgstack: layout.hosts has no host for the primary ${name}`);
  return host;
}

/**
 * Docker: the network alias of whichever member is primary (`<cluster>-rw`, like the Kubernetes
 * read-write Service). Every member's certificate holds it, so a switchover moves it without a
 * new certificate.
 */
export function readWriteAlias(clusterName: string): string {
  return `${clusterName}-rw`;
}
