import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { componentSelector, memberSelector, recommendedLabels } from "./labels";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Rule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/**
 * Cluster DNS as most distributions label it (CoreDNS keeps the kube-dns label). A cluster
 * resolving through NodeLocal DNSCache needs its address allowed as well.
 */
const DNS_PEER: Peer = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};

/**
 * Traffic of the stack's namespace, deny by default:
 * - PostgreSQL accepts connections from the client namespaces and from the members themselves
 *   (replication), and with pgstack:monitoring and TLS from the runner (report-certificates.sh
 *   reads the certificate it presents), nothing else;
 * - the pgBackRest TLS server on the primary accepts only the backup runner;
 * - members may reach each other's PostgreSQL, DNS and S3; the runner the primary's TLS server,
 *   DNS and S3 (and the members' PostgreSQL for the certificate report); the restore drill only DNS and S3
 *   (it reaches no member), and nothing reaches it.
 * "S3" (and STS, for IRSA) is its port anywhere outside the pod network, or exactly the CIDRs of
 * spec.network.awsEgressCidrs where the operator names them.
 */
export function stackNetworkPolicies(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
  const database = componentSelector(spec, "database");
  const backup = componentSelector(spec, "backup");
  const drill = componentSelector(spec, "restore-drill");
  const primary = spec.members.find((member) => member.role === "primary");
  if (!primary) throw new Error(`${spec.name}: the spec has no primary member`);

  const postgresPort = [{ protocol: "TCP", port: spec.layout.port }];
  const pgbackrestPort = [{ protocol: "TCP", port: spec.layout.pgbackrestServerPort }];
  const dns: Rule = {
    to: [DNS_PEER],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  };
  const anyAddress = spec.network.clusterCidr.includes(":") ? "::/0" : "0.0.0.0/0";
  // S3 and STS have no addresses of their own unless named: the region's S3 prefix list and the
  // VPC endpoints (whose addresses may sit inside the pod network with the VPC CNI, so a named
  // CIDR is never cut by the pod network's exception).
  const aws = spec.network.awsEgressCidrs;
  const s3: Rule = {
    to:
      aws.length > 0
        ? aws.map((cidr) => ({ ipBlock: { cidr } }))
        : [{ ipBlock: { cidr: anyAddress, except: [spec.network.clusterCidr] } }],
    ports: [{ protocol: "TCP", port: spec.layout.s3Port }],
  };

  const policy = (name: string, policySpec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
    new k8s.networking.v1.NetworkPolicy(
      `${spec.name}-${name}`,
      {
        metadata: { name: `${spec.name}-${name}`, namespace, labels: recommendedLabels(spec) },
        spec: policySpec,
      },
      opts,
    );

  const clientNamespaces: Peer[] =
    spec.network.clientNamespaces.length > 0
      ? [
          {
            namespaceSelector: {
              matchExpressions: [
                {
                  key: "kubernetes.io/metadata.name",
                  operator: "In",
                  values: [...spec.network.clientNamespaces],
                },
              ],
            },
          },
        ]
      : [];

  // report-certificates.sh (pgstack:monitoring with TLS): the runner reads the certificate each
  // member's PostgreSQL presents; a TLS handshake, never a login (it holds no password).
  const certificateReport = spec.monitoring.enabled && spec.tls;
  return [
    policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    policy("database", {
      podSelector: { matchLabels: database },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        { from: [...clientNamespaces, { podSelector: { matchLabels: database } }], ports: postgresPort },
        { from: [{ podSelector: { matchLabels: backup } }], ports: pgbackrestPort },
        ...(certificateReport
          ? [{ from: [{ podSelector: { matchLabels: backup } }], ports: postgresPort }]
          : []),
      ],
      egress: [{ to: [{ podSelector: { matchLabels: database } }], ports: postgresPort }, dns, s3],
    }),
    policy("backup", {
      podSelector: { matchLabels: backup },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [
        { to: [{ podSelector: { matchLabels: memberSelector(spec, primary) } }], ports: pgbackrestPort },
        ...(certificateReport
          ? [{ to: [{ podSelector: { matchLabels: database } }], ports: postgresPort }]
          : []),
        dns,
        s3,
      ],
    }),
    policy("restore-drill", {
      podSelector: { matchLabels: drill },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [dns, s3],
    }),
  ];
}
