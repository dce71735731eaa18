import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { objectNames, serviceHost } from "./names";

/** Ten years: the CA signs every member and runner certificate; it never leaves Pulumi state. */
const CA_VALIDITY_HOURS = 10 * 365 * 24;
/** One year, renewed by the first `pulumi up` in the last 30 days of it. */
const LEAF_VALIDITY_HOURS = 365 * 24;
const LEAF_EARLY_RENEWAL_HOURS = 30 * 24;

export interface StackCertificates {
  /** kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) of each member, by member name. */
  readonly memberSecrets: ReadonlyMap<string, k8s.core.v1.Secret>;
  /**
   * SHA-256 of each member's certificate and CA, by member name. PostgreSQL and the pgBackRest
   * TLS server read their certificate at start only: the member's pod template carries this, so
   * a renewed certificate rolls the pod instead of sitting unread in the Secret until it expires.
   */
  readonly memberCertificateHashes: ReadonlyMap<string, pulumi.Output<string>>;
  /** ConfigMap `<name>-ca` (ca.crt): the CA clients verify the members with (sslmode=verify-full). */
  readonly caConfigMap: k8s.core.v1.ConfigMap;
  /** kubernetes.io/tls Secret of the backup runner's client certificate. */
  readonly runnerSecret: k8s.core.v1.Secret;
  readonly caCertPem: pulumi.Output<string>;
}

/**
 * The stack's own CA (@pulumi/tls) and the certificates it signs: one server certificate per
 * member, valid for the Service names clients and the runner use (the ones in
 * spec.layout.hosts), and one client certificate for the backup runner, whose CN the members'
 * pgBackRest TLS servers authorise (`tls-server-auth`). Only certificates and leaf keys reach
 * the cluster; the CA key stays in Pulumi state, encrypted.
 */
export function stackCertificates(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  runnerCommonName: string,
  opts: pulumi.CustomResourceOptions,
): StackCertificates {
  const names = objectNames(spec);
  const caKey = new tls.PrivateKey(`${spec.name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
  const ca = new tls.SelfSignedCert(
    `${spec.name}-ca`,
    {
      privateKeyPem: caKey.privateKeyPem,
      subject: { commonName: `${spec.name} CA`, organization: "pgstack" },
      isCaCertificate: true,
      validityPeriodHours: CA_VALIDITY_HOURS,
      allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    },
    opts,
  );

  const leaf = (
    name: string,
    commonName: string,
    dnsNames: string[],
    usage: "server_auth" | "client_auth",
  ) => {
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const request = new tls.CertRequest(
      `${name}-csr`,
      { privateKeyPem: key.privateKeyPem, subject: { commonName, organization: "pgstack" }, dnsNames },
      opts,
    );
    const cert = new tls.LocallySignedCert(
      `${name}-cert`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: LEAF_VALIDITY_HOURS,
        earlyRenewalHours: LEAF_EARLY_RENEWAL_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", usage],
      },
      opts,
    );
    const secret = new k8s.core.v1.Secret(
      name,
      {
        metadata: {
          name,
          namespace,
          labels: recommendedLabels(spec, usage === "server_auth" ? "database" : "backup"),
        },
        type: "kubernetes.io/tls",
        stringData: {
          "tls.crt": cert.certPem,
          "tls.key": pulumi.secret(key.privateKeyPem),
          "ca.crt": ca.certPem,
        },
      },
      opts,
    );
    const hash = pulumi
      .all([cert.certPem, ca.certPem])
      .apply(([leafPem, caPem]) => createHash("sha256").update(leafPem).update(caPem).digest("hex"));
    return { secret, hash };
  };

  const memberSecrets = new Map<string, k8s.core.v1.Secret>();
  const memberCertificateHashes = new Map<string, pulumi.Output<string>>();
  for (const member of spec.members) {
    const issued = leaf(
      names.memberTls(member),
      spec.layout.hosts[member.name],
      memberDnsNames(spec, member),
      "server_auth",
    );
    memberSecrets.set(member.name, issued.secret);
    memberCertificateHashes.set(member.name, issued.hash);
  }
  // The runner's pods are new for every run: they always mount the current certificate.
  const runnerSecret = leaf(names.backupTls, runnerCommonName, [], "client_auth").secret;
  const caConfigMap = new k8s.core.v1.ConfigMap(
    `${spec.name}-ca`,
    {
      metadata: { name: `${spec.name}-ca`, namespace, labels: recommendedLabels(spec) },
      data: { "ca.crt": ca.certPem },
    },
    opts,
  );
  return { memberSecrets, memberCertificateHashes, caConfigMap, runnerSecret, caCertPem: ca.certPem };
}

/**
 * Names a member's certificate is valid for: its host name from the layout (what the rendered
 * configs connect to), the shorter forms of its Service name, and both role Services
 * (read-write and read-only): a switchover moves a member from one to the other without a new
 * certificate, so clients verifying the name never see a mismatch while roles change.
 */
export function memberDnsNames(spec: ClusterSpec, member: MemberSpec): string[] {
  const names = objectNames(spec);
  const dnsNames = [spec.layout.hosts[member.name]];
  for (const service of [names.member(member), names.readWrite, names.readOnly]) {
    const host = serviceHost(spec, service);
    dnsNames.push(
      host,
      service,
      `${service}.${spec.network.namespace}`,
      `${service}.${spec.network.namespace}.svc`,
    );
  }
  return [...new Set(dnsNames)];
}
