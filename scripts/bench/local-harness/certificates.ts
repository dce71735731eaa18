import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOk } from "../../../test/proving/harness/processes";

/** A certificate and its key, as files. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A throw-away CA for one proving run (openssl; valid two days). */
export async function createCertificateAuthority(dir: string, commonName: string): Promise<CertificateFiles> {
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  await runOk([
    "openssl",
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { certFile, keyFile };
}

/**
 * Issues a certificate signed by `ca`, usable as TLS server and client. Hosts are DNS names:
 * pgBackRest checks the name it connects to against the SAN and refuses IP addresses there.
 */
export async function issueCertificate(
  ca: CertificateFiles,
  dir: string,
  basename: string,
  subject: { readonly commonName: string; readonly dnsNames: readonly string[] },
): Promise<CertificateFiles> {
  const certFile = join(dir, `${basename}.crt`);
  const keyFile = join(dir, `${basename}.key`);
  const csrFile = join(dir, `${basename}.csr`);
  const extFile = join(dir, `${basename}.ext`);
  await runOk([
    "openssl",
    "req",
    ...EC_KEY,
    "-keyout",
    keyFile,
    "-out",
    csrFile,
    "-subj",
    `/CN=${subject.commonName}`,
  ]);
  const san = subject.dnsNames.map((name) => `DNS:${name}`).join(",");
  await writeFile(
    extFile,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      ...(san ? [`subjectAltName=${san}`] : []),
      "",
    ].join("\n"),
  );
  await runOk([
    "openssl",
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    extFile,
  ]);
  return { certFile, keyFile };
}
