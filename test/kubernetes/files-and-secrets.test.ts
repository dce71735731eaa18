import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, SECRET_VALUES, stringsIn, unwrap } from "./prod-stack";

let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd();
});

describe("rendered files", () => {
  const configMaps = () =>
    Object.fromEntries(
      stack.ofType("kubernetes:core/v1:ConfigMap").map((c) => [c.name, unwrap(c.inputs) as Json]),
    );
  it("the scripts' ConfigMap holds spec.files but the settings, and the runner's report scripts, is immutable, and is named by its content", () => {
    const scripts = configMaps()["pgstack-prod-files"];
    const { "postgresql.conf": _conf, "pg_hba.conf": _hba, ...rest } = stack.spec.files;
    expect(scripts.data).toEqual({
      ...rest,
      "report-job.sh": stack.spec.monitoringFiles["report-job.sh"],
      "report-certificates.sh": stack.spec.monitoringFiles["report-certificates.sh"],
    });
    expect(scripts.immutable).toBe(true);
    expect(scripts.metadata.name).toMatch(/^pgstack-prod-files-[0-9a-f]{10}$/);
  });

  it("the settings ConfigMap holds postgresql.conf and pg_hba.conf byte for byte, under a fixed name, updated in place", () => {
    const settings = configMaps()["pgstack-prod-settings"];
    expect(settings.data).toEqual({
      "postgresql.conf": stack.spec.files["postgresql.conf"],
      "pg_hba.conf": stack.spec.files["pg_hba.conf"],
    });
    expect(settings.metadata.name).toBe("pgstack-prod-settings");
    expect(settings.immutable).toBeUndefined();
  });
});

describe("secrets", () => {
  it("passwords are a Secret keyed by the file names the scripts read", () => {
    const secret = unwrap(stack.named("kubernetes:core/v1:Secret", "pgstack-prod-passwords").inputs) as Json;
    expect(secret.stringData).toEqual({
      "superuser-password": SECRET_VALUES.superuserPassword,
      "replication-password": SECRET_VALUES.replicationPassword,
      "app-password": SECRET_VALUES.appPassword,
    });
  });

  it("no secret value appears anywhere but in a Secret's stringData, and there only as a secret", () => {
    let seen = 0;
    for (const resource of stack.resources) {
      for (const found of stringsIn(resource.inputs)) {
        for (const [key, value] of Object.entries(SECRET_VALUES)) {
          if (!found.text.includes(value)) continue;
          seen++;
          expect({ key, type: resource.type, path: found.path.split(".")[0], secret: found.secret }).toEqual({
            key,
            type: "kubernetes:core/v1:Secret",
            path: "stringData",
            secret: true,
          });
        }
      }
    }
    // Every value was delivered somewhere (3 passwords, and the cipher pass in the runner's and
    // the restore drill's include files).
    expect(seen).toBe(5);
  });

  it("no container has a literal environment value that is or names a secret", () => {
    const pods = stack.resources
      .filter((r) =>
        ["kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job"].includes(
          r.type,
        ),
      )
      .map((r) => unwrap(r.inputs) as Json)
      .map((w) => (w.spec.jobTemplate ?? w).spec.template.spec);
    for (const pod of pods) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        for (const env of container.env ?? []) {
          if (env.value === undefined) continue;
          expect(Object.values(SECRET_VALUES)).not.toContain(env.value);
          // Secrets are reached by path (*_FILE), never by value.
          if (/PASSWORD|SECRET|KEY|PASS/.test(env.name)) expect(env.name).toMatch(/_FILE$/);
        }
      }
    }
  });
});

describe("TLS", () => {
  it("each member's pod template carries the hash of its certificate and CA, so a renewal rolls the pod", () => {
    const hashes = new Set<string>();
    for (const member of ["primary", "replica-1"]) {
      const secret = unwrap(
        stack.named("kubernetes:core/v1:Secret", `pgstack-prod-${member}-tls`).inputs,
      ) as Json;
      const expected = createHash("sha256")
        .update(secret.stringData["tls.crt"])
        .update(secret.stringData["ca.crt"])
        .digest("hex");
      const statefulSet = unwrap(
        stack.named("kubernetes:apps/v1:StatefulSet", `pgstack-prod-${member}`).inputs,
      ) as Json;
      expect(statefulSet.spec.template.metadata.annotations["pgstack.io/tls-certificate-sha256"]).toBe(
        expected,
      );
      hashes.add(expected);
    }
    expect(hashes.size).toBe(2);
  });

  it("publishes the CA for clients (verify-full) as a ConfigMap and a stack output, never a key", async () => {
    const configMap = unwrap(stack.named("kubernetes:core/v1:ConfigMap", "pgstack-prod-ca").inputs) as Json;
    const secret = unwrap(
      stack.named("kubernetes:core/v1:Secret", "pgstack-prod-primary-tls").inputs,
    ) as Json;
    expect(configMap.metadata).toMatchObject({ name: "pgstack-prod-ca", namespace: "pgstack-prod" });
    expect(configMap.data).toEqual({ "ca.crt": secret.stringData["ca.crt"] });
    expect(await new Promise((resolve) => stack.cluster.caCertificate.apply(resolve))).toBe(
      secret.stringData["ca.crt"],
    );
    expect(await new Promise((resolve) => stack.cluster.caConfigMap.apply(resolve))).toBe("pgstack-prod-ca");
  });

  it("each member's certificate covers the host names the configs use and its Service names", () => {
    const requests = Object.fromEntries(
      stack.ofType("tls:index/certRequest:CertRequest").map((r) => [r.name, unwrap(r.inputs) as Json]),
    );
    const primary = requests["pgstack-prod-primary-tls-csr"];
    expect(primary.subject.commonName).toBe(stack.spec.layout.hosts.primary);
    expect(primary.dnsNames).toEqual(
      expect.arrayContaining([
        stack.spec.layout.hosts.primary,
        "pgstack-prod-primary",
        "pgstack-prod-rw.pgstack-prod.svc.cluster.local",
        "pgstack-prod-rw",
      ]),
    );
    expect(requests["pgstack-prod-replica-1-tls-csr"].dnsNames).toEqual(
      expect.arrayContaining([
        stack.spec.layout.hosts["replica-1"],
        "pgstack-prod-ro.pgstack-prod.svc.cluster.local",
      ]),
    );
  });

  it("the runner's client certificate carries the CN the TLS server admits", () => {
    const request = unwrap(
      stack.named("tls:index/certRequest:CertRequest", "pgstack-prod-backup-tls-csr").inputs,
    ) as Json;
    expect(request.subject.commonName).toBe("pgbackrest-runner");
    expect(stack.spec.files["pgbackrest.conf"]).toContain("tls-server-auth=pgbackrest-runner=pgstack-prod");
    const cert = unwrap(
      stack.named("tls:index/locallySignedCert:LocallySignedCert", "pgstack-prod-backup-tls-cert").inputs,
    ) as Json;
    expect(cert.allowedUses).toContain("client_auth");
    expect(cert.allowedUses).not.toContain("server_auth");
  });

  it("certificates reach the cluster as kubernetes.io/tls Secrets; the CA key never does", () => {
    const secrets = stack.ofType("kubernetes:core/v1:Secret").map((s) => unwrap(s.inputs) as Json);
    const tlsSecrets = secrets.filter((s) => s.type === "kubernetes.io/tls");
    expect(tlsSecrets.map((s) => s.metadata.name).sort()).toEqual([
      "pgstack-prod-backup-tls",
      "pgstack-prod-primary-tls",
      "pgstack-prod-replica-1-tls",
    ]);
    for (const secret of tlsSecrets)
      expect(Object.keys(secret.stringData).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    const everything = JSON.stringify(secrets);
    expect(everything).not.toContain("pgstack-prod-ca-key");
  });
});
