import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { ClusterSpec } from "../spec/cluster-spec";

/** Ten years: the CA signs every certificate of the stack; its key never leaves Pulumi state. */
const CA_VALIDITY_HOURS = 10 * 365 * 24;
/** One year, renewed by the first `pulumi up` in its last 30 days. */
const LEAF_VALIDITY_HOURS = 365 * 24;
const LEAF_EARLY_RENEWAL_HOURS = 30 * 24;

export interface IssuedCertificate {
  readonly certPem: pulumi.Output<string>;
  /** Secret Output. */
  readonly keyPem: pulumi.Output<string>;
}

/**
 * The stack's own CA (@pulumi/tls): signs the members' server certificates (PostgreSQL and the
 * pgBackRest TLS server), the S3 store's, and the backup runner's client certificate. The CA is
 * per stack, so a runner of one stack is refused by the primary of another.
 */
export class StackCertificateAuthority {
  readonly certPem: pulumi.Output<string>;
  private readonly keyPem: pulumi.Output<string>;

  constructor(
    private readonly resourceName: string,
    spec: ClusterSpec,
    private readonly parent: pulumi.Resource,
  ) {
    const key = new tls.PrivateKey(
      `${resourceName}-ca-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      { parent },
    );
    const ca = new tls.SelfSignedCert(
      `${resourceName}-ca`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: `${spec.name} CA`, organization: "pgstack" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      { parent },
    );
    this.keyPem = pulumi.secret(key.privateKeyPem);
    this.certPem = ca.certPem;
  }

  /** A server certificate valid for `dnsNames` (the first is also its CN) and `ipAddresses`. */
  issueServer(
    name: string,
    dnsNames: readonly string[],
    ipAddresses: readonly string[] = [],
  ): IssuedCertificate {
    return this.issue(name, dnsNames[0], [...dnsNames], "server_auth", [...ipAddresses]);
  }

  /** A client certificate whose CN a server authorises (pgBackRest `tls-server-auth`). */
  issueClient(name: string, commonName: string): IssuedCertificate {
    return this.issue(name, commonName, [], "client_auth", []);
  }

  private issue(
    name: string,
    commonName: string,
    dnsNames: string[],
    usage: "server_auth" | "client_auth",
    ipAddresses: string[],
  ): IssuedCertificate {
    const opts = { parent: this.parent };
    const key = new tls.PrivateKey(
      `${this.resourceName}-${name}-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      opts,
    );
    const request = new tls.CertRequest(
      `${this.resourceName}-${name}-csr`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName, organization: "pgstack" },
        dnsNames,
        ...(ipAddresses.length > 0 ? { ipAddresses } : {}),
      },
      opts,
    );
    const cert = new tls.LocallySignedCert(
      `${this.resourceName}-${name}-cert`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.keyPem,
        caCertPem: this.certPem,
        validityPeriodHours: LEAF_VALIDITY_HOURS,
        earlyRenewalHours: LEAF_EARLY_RENEWAL_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", usage],
      },
      opts,
    );
    return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
  }
}
