import type { ClusterModel } from "../spec/build-cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";
import { MONITORING_DATABASE } from "./monitoring-role";
import { MONITORING_IDENT_MAP } from "./pg-ident-conf";

/** One pg_hba.conf rule and the reason it exists. */
interface HbaRule {
  readonly reason: string;
  readonly type: "local" | "host" | "hostssl";
  readonly database: string;
  readonly user: string;
  /** Empty for `local` rules. */
  readonly address: string;
  readonly method: "peer" | "scram-sha-256" | "reject";
  /** Authentication options, e.g. `map=...` for peer. */
  readonly options?: string;
}

/**
 * pg_hba.conf: the superuser only over the local socket (peer), every other login with
 * scram-sha-256, the application role from the allowed networks, the replication role from the
 * cluster network, and an explicit reject for everything else. First match wins, so the order
 * is part of the policy. No `trust` line exists.
 */
export function renderPgHbaConf(model: ClusterModel): string {
  const { superuser, appUser, replicationUser, database } = model.postgres;
  const remote = model.tls ? "hostssl" : "host";
  const rules: HbaRule[] = [
    {
      reason:
        `Superuser ${superuser}: only over the local socket, as the OS user of that name. Admin work and the ` +
        "pgBackRest server (backups) connect here; no password of it ever crosses the network.",
      type: "local",
      database: "all",
      user: superuser,
      address: "",
      method: "peer",
    },
    {
      reason:
        `Monitoring role ${model.monitoring.role} (pg_monitor): only over the local socket, only as the ` +
        `exporter's OS user (${model.monitoring.osUser}, pg_ident map ${MONITORING_IDENT_MAP}); it has no password.`,
      type: "local",
      database: MONITORING_DATABASE,
      user: model.monitoring.role,
      address: "",
      method: "peer",
      options: `map=${MONITORING_IDENT_MAP}`,
    },
    {
      reason: "Any other role on the local socket proves its password.",
      type: "local",
      database: "all",
      user: "all",
      address: "",
      method: "scram-sha-256",
    },
    {
      reason: "Loopback TCP clients inside the member (port-forwards, sidecars) prove their password.",
      type: "host",
      database: "all",
      user: "all",
      address: "127.0.0.1/32",
      method: "scram-sha-256",
    },
    {
      reason: "The same for IPv6 loopback.",
      type: "host",
      database: "all",
      user: "all",
      address: "::1/128",
      method: "scram-sha-256",
    },
    {
      reason:
        `Streaming replication and pg_basebackup: only ${replicationUser}, only from the cluster network` +
        (model.network.clusterCidr === "samenet" ? " (samenet: the member's own subnets)." : "."),
      type: remote,
      database: "replication",
      user: replicationUser,
      address: model.network.clusterCidr,
      method: "scram-sha-256",
    },
    {
      reason:
        `pg_rewind of a former primary rejoining after a switchover or failover: ${replicationUser} on the ` +
        "postgres database, only from the cluster network; it may only list and read the data files " +
        "(init-roles.sh grants the four functions pg_rewind calls).",
      type: remote,
      database: "postgres",
      user: replicationUser,
      address: model.network.clusterCidr,
      method: "scram-sha-256",
    },
    ...(model.network.publishPort === undefined
      ? []
      : [
          {
            reason:
              `Clients of the port published on the host's 127.0.0.1:${model.network.publishPort}: ${appUser} on ` +
              `${database} only. The address they arrive from depends on the engine: the publish network's ` +
              "gateway (Docker Engine), 192.168.65.x or another VM address (Docker Desktop, Colima), " +
              "RootlessKit's (rootless Docker). Only the host's loopback reaches that port, and only this " +
              "stack's primary joins the publish network, so any address is admitted here, with a password " +
              "(and TLS when on).",
            type: remote,
            database,
            user: appUser,
            address: "all",
            method: "scram-sha-256",
          } satisfies HbaRule,
        ]),
    ...model.network.allowedCidrs.map(
      (cidr): HbaRule => ({
        reason: `Application clients from ${cidr} (pgstack:allowedCidrs): ${appUser} on ${database} only.`,
        type: remote,
        database,
        user: appUser,
        address: cidr,
        method: "scram-sha-256",
      }),
    ),
    {
      reason: "Everything not matched above is refused, over TCP with or without TLS.",
      type: "host",
      database: "all",
      user: "all",
      address: "all",
      method: "reject",
    },
  ];

  const widths = {
    type: Math.max(...rules.map((rule) => rule.type.length), "# TYPE".length) + 2,
    database: Math.max(...rules.map((rule) => rule.database.length), "DATABASE".length) + 2,
    user: Math.max(...rules.map((rule) => rule.user.length), "USER".length) + 2,
    address: Math.max(...rules.map((rule) => rule.address.length), "ADDRESS".length) + 2,
  };
  const row = (type: string, db: string, user: string, address: string, method: string) =>
    `${type.padEnd(widths.type)}${db.padEnd(widths.database)}${user.padEnd(widths.user)}${address.padEnd(widths.address)}${method}`;

  const lines = commentLines([
    ...generatedHeader(model, "pg_hba.conf"),
    "",
    "The first line matching a connection decides; the last line rejects whatever is left.",
    `Remote lines are ${remote}${model.tls ? " (TLS required)" : " (TLS is off for this stack)"}.`,
  ]);
  lines.push("", row("# TYPE", "DATABASE", "USER", "ADDRESS", "METHOD"));
  for (const rule of rules) {
    lines.push(
      "",
      `# ${rule.reason}`,
      row(
        rule.type,
        rule.database,
        rule.user,
        rule.address,
        rule.options ? `${rule.method} ${rule.options}` : rule.method,
      ).trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}
