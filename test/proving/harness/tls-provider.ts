import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What the @pulumi/tls provider computes, for real, while the program runs under mocks: real keys
 * and certificates with exactly the subjects, names, usages and validity the program asks for,
 * so the proving ground runs the stack's own TLS material (and a wrong name in a certificate
 * fails a proof as it would fail a deployment). Every issued certificate is kept by its
 * resource name, for the S3 stand-in that presents the store's certificate.
 */
export interface IssuedCertificate {
  readonly resource: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly dnsNames: readonly string[];
}

interface Subject {
  readonly commonName?: string;
  readonly organization?: string;
}

const USAGE: Record<string, { key?: string; extended?: string }> = {
  cert_signing: { key: "keyCertSign" },
  crl_signing: { key: "cRLSign" },
  digital_signature: { key: "digitalSignature" },
  key_encipherment: { key: "keyEncipherment" },
  server_auth: { extended: "serverAuth" },
  client_auth: { extended: "clientAuth" },
};

export class TlsProvider {
  private readonly keys = new Map<string, string>();
  private readonly requests = new Map<string, { subject: Subject; dnsNames: string[]; keyPem: string }>();
  readonly issued: IssuedCertificate[] = [];
  /** Self-signed (CA) certificates, in the order the program made them. */
  readonly authorities: string[] = [];

  /** Outputs by resource and inputs: a second run of the program gets what the first made. */
  private readonly made = new Map<string, Record<string, unknown>>();

  /**
   * Outputs for a @pulumi/tls resource type, or undefined for any other type. The same resource
   * with the same inputs gets the same outputs, as Pulumi's state keeps them across updates: a
   * changed program (a second capture) runs against the keys and certificates already deployed.
   */
  outputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> | undefined {
    const key = JSON.stringify([type, name, inputs]);
    const known = this.made.get(key);
    if (known) return known;
    const outputs = this.make(type, name, inputs);
    if (outputs) this.made.set(key, outputs);
    return outputs;
  }

  /** What this provider made, for a capture in another process (TlsProvider.restore). */
  saved(): string {
    return JSON.stringify([...this.made]);
  }

  static restore(saved: string): TlsProvider {
    const provider = new TlsProvider();
    for (const [key, outputs] of JSON.parse(saved) as [string, Record<string, unknown>][]) {
      provider.made.set(key, outputs);
    }
    return provider;
  }

  private make(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
  ): Record<string, unknown> | undefined {
    switch (type) {
      case "tls:index/privateKey:PrivateKey":
        return this.privateKey(name, inputs);
      case "tls:index/selfSignedCert:SelfSignedCert": {
        const certPem = this.selfSigned(inputs);
        this.authorities.push(certPem);
        return { certPem };
      }
      case "tls:index/certRequest:CertRequest":
        return { certRequestPem: this.certRequest(name, inputs) };
      case "tls:index/locallySignedCert:LocallySignedCert":
        return { certPem: this.locallySigned(name, inputs) };
      default:
        return undefined;
    }
  }

  private privateKey(name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const algorithm = String(inputs.algorithm ?? "RSA");
    const pair =
      algorithm === "ECDSA"
        ? generateKeyPairSync("ec", {
            namedCurve: { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" }[
              String(inputs.ecdsaCurve ?? "P224")
            ] as string,
          })
        : algorithm === "ED25519"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048) });
    const privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.keys.set(privateKeyPem, name);
    return {
      privateKeyPem,
      privateKeyPemPkcs8: privateKeyPem,
      publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
  }

  private selfSigned(inputs: Record<string, unknown>): string {
    return withFiles((dir) => {
      writeFileSync(join(dir, "key.pem"), plain(inputs.privateKeyPem));
      const uses = (inputs.allowedUses as string[] | undefined) ?? [];
      writeFileSync(
        join(dir, "ext.cnf"),
        extensions(uses, inputs.isCaCertificate === true, (inputs.dnsNames as string[] | undefined) ?? []),
      );
      return openssl([
        "req",
        "-x509",
        "-new",
        "-key",
        join(dir, "key.pem"),
        "-subj",
        subjectLine(inputs.subject as Subject),
        "-days",
        String(days(inputs.validityPeriodHours)),
        "-config",
        join(dir, "ext.cnf"),
        "-extensions",
        "v3",
      ]);
    });
  }

  private certRequest(name: string, inputs: Record<string, unknown>): string {
    const dnsNames = (inputs.dnsNames as string[] | undefined) ?? [];
    const keyPem = plain(inputs.privateKeyPem);
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(name).toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    this.requests.set(pem, { subject: (inputs.subject as Subject) ?? {}, dnsNames, keyPem });
    return pem;
  }

  private locallySigned(name: string, inputs: Record<string, unknown>): string {
    const request = this.requests.get(plain(inputs.certRequestPem));
    if (!request) throw new Error(`tls: ${name} signs a certificate request the provider did not make`);
    const certPem = withFiles((dir) => {
      writeFileSync(join(dir, "key.pem"), request.keyPem);
      writeFileSync(join(dir, "ca.pem"), plain(inputs.caCertPem));
      writeFileSync(join(dir, "ca.key"), plain(inputs.caPrivateKeyPem));
      writeFileSync(
        join(dir, "ext.cnf"),
        extensions((inputs.allowedUses as string[]) ?? [], false, request.dnsNames),
      );
      openssl([
        "req",
        "-new",
        "-key",
        join(dir, "key.pem"),
        "-subj",
        subjectLine(request.subject),
        "-out",
        join(dir, "req.pem"),
      ]);
      return openssl([
        "x509",
        "-req",
        "-in",
        join(dir, "req.pem"),
        "-CA",
        join(dir, "ca.pem"),
        "-CAkey",
        join(dir, "ca.key"),
        "-set_serial",
        `0x${Buffer.from(name).toString("hex").slice(0, 30)}`,
        "-days",
        String(days(inputs.validityPeriodHours)),
        "-extfile",
        join(dir, "ext.cnf"),
        "-extensions",
        "v3",
      ]);
    });
    this.issued.push({ resource: name, certPem, keyPem: request.keyPem, dnsNames: request.dnsNames });
    return certPem;
  }
}

/** A secret input arrives wrapped (`{sig, value}`) under mocks. */
function plain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "value" in value)
    return String((value as { value: unknown }).value);
  throw new Error(`tls: expected a PEM string, got ${JSON.stringify(value)}`);
}

function subjectLine(subject: Subject | undefined): string {
  const parts = [];
  if (subject?.organization) parts.push(`/O=${subject.organization}`);
  if (subject?.commonName) parts.push(`/CN=${subject.commonName}`);
  return parts.join("") || "/";
}

function days(hours: unknown): number {
  return Math.max(1, Math.ceil(Number(hours ?? 24) / 24));
}

function extensions(uses: readonly string[], ca: boolean, dnsNames: readonly string[]): string {
  const keyUsage = uses.flatMap((use) => (USAGE[use]?.key ? [USAGE[use].key] : []));
  const extended = uses.flatMap((use) => (USAGE[use]?.extended ? [USAGE[use].extended] : []));
  return [
    "[req]",
    "distinguished_name = dn",
    "[dn]",
    "[v3]",
    `basicConstraints = critical, CA:${ca ? "TRUE" : "FALSE"}`,
    ...(keyUsage.length > 0 ? [`keyUsage = critical, ${keyUsage.join(", ")}`] : []),
    ...(extended.length > 0 ? [`extendedKeyUsage = ${extended.join(", ")}`] : []),
    ...(dnsNames.length > 0 ? [`subjectAltName = ${dnsNames.map((dns) => `DNS:${dns}`).join(", ")}`] : []),
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n");
}

function openssl(args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function withFiles<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "pgstack-tls-"));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
