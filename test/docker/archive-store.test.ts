import { describe, expect, it } from "vitest";
import { PGBACKREST_SECRET_INCLUDE_FILE } from "../../components/render/pgbackrest-conf";
import {
  CONTAINER,
  containerNamed,
  deployDockerCluster,
  NETWORK,
  ofType,
  uploadsOf,
} from "./mock-deployment";

const AWS = { "pgstack:archiveStore": "aws", "pgstack:archiveRegion": "eu-west-1" };
const AWS_KEYS = {
  archiveAccessKeyId: "AKIAEXAMPLEKEY000001",
  archiveSecretAccessKey: "aws-secret-Wq3eR5tY7uI9oP",
};

describe("archive store of a dev stack", () => {
  it("defaults to SeaweedFS beside the cluster, healthy (bucket created by the server itself) before the primary starts", async () => {
    const dev = await deployDockerCluster("dev");
    const store = containerNamed(dev, "pgstack-dev-s3");
    expect((store.inputs.networksAdvanced as { aliases: string[] }[])[0].aliases).toEqual([
      dev.spec.layout.s3Endpoint,
    ]);
    const command = store.inputs.command as string[];
    expect(command[0]).toBe("mini");
    expect(command).toContain(`-bucket=${dev.spec.archive.bucket}`);
    expect(command).toContain(`-s3.port=${dev.spec.layout.s3Port}`);
    // TLS on the S3 port: pgBackRest talks TLS to S3 in prod, so dev does too.
    expect(command.some((arg) => arg.startsWith("-s3.cert.file="))).toBe(true);
    expect(command.some((arg) => arg.startsWith("-s3.key.file="))).toBe(true);
    // Gateways pgstack never uses stay closed.
    expect(command).toEqual(
      expect.arrayContaining(["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0"]),
    );
    expect(store.inputs.wait).toBe(true);
    const health = (store.inputs.healthcheck as { tests: string[] }).tests;
    expect(health.slice(0, 2)).toEqual(["CMD", "curl"]);
    expect(health.at(-1)).toBe(`https://localhost:${dev.spec.layout.s3Port}/healthz`);
    expect(health).toContain("--cacert");
    expect(dev.resources.some((r) => String(r.inputs.name ?? "").endsWith("-bucket"))).toBe(false);
    expect(containerNamed(dev, "pgstack-dev-primary").dependencies).toContain(store.urn);
    expect(dev.outputs.bucketReady).toBe(true);
    expect(dev.outputs.repository).toBe(`s3://${dev.spec.archive.bucket}${dev.spec.archive.path}`);
    const storeCert = dev.resources.find(
      (r) => r.type === "tls:index/certRequest:CertRequest" && r.name.endsWith("-s3-csr"),
    );
    expect(storeCert?.inputs.dnsNames).toEqual([dev.spec.layout.s3Endpoint, "localhost"]);
  });

  it("gives the restore drill its own store identity, allowed only to read and list, and only those keys", async () => {
    const dev = await deployDockerCluster("dev");
    const store = containerNamed(dev, "pgstack-dev-s3");
    const identityFile = uploadsOf(store).find((u) => u.file.endsWith("/s3.json"));
    const identities = (
      JSON.parse(identityFile?.content ?? "{}") as {
        identities: { name: string; credentials: { accessKey: string }[]; actions: string[] }[];
      }
    ).identities;
    const drill = identities.find((identity) => identity.name === "restore-drill");
    const writer = identities.find((identity) => identity.name === "pgbackrest");
    expect(drill?.actions).toEqual(["Read", "List"]);
    expect(writer?.actions).toContain("Write");
    const drillKey = drill?.credentials[0]?.accessKey ?? "";
    expect(drillKey).not.toBe("");
    expect(drillKey).not.toBe(writer?.credentials[0]?.accessKey);
    const runnerUploads = uploadsOf(containerNamed(dev, "pgstack-dev-backup-runner"));
    const include = (dir: string) =>
      runnerUploads.find((u) => u.file === `${dir}/${PGBACKREST_SECRET_INCLUDE_FILE}`);
    const drillInclude = include(dev.spec.layout.drill.includeDir);
    expect(drillInclude?.permissions).toBe("0400");
    expect(drillInclude?.content).toContain(`repo1-s3-key=${drillKey}\n`);
    expect(include(dev.spec.layout.runner.includeDir)?.content).not.toContain(drillKey);
    // The drill's config names its own include directory, and no member's data directory.
    const drillConf = runnerUploads.find(
      (u) => u.file === `${dev.spec.layout.drill.configDir}/pgbackrest.conf`,
    );
    expect(drillConf?.content).toBe(dev.spec.files["pgbackrest-drill.conf"]);
    expect(drillConf?.content).not.toContain(dev.spec.layout.dataDir);
  });

  it("switches to a real AWS bucket with archiveStore=aws: no local store, egress allowed, the stack's AWS keys", async () => {
    const aws = await deployDockerCluster("dev", AWS, AWS_KEYS);
    const names = ofType(aws, CONTAINER).map((c) => c.inputs.name);
    expect(names).not.toContain("pgstack-dev-s3");
    expect(ofType(aws, NETWORK)[0].inputs.internal).toBe(false);
    const include = uploadsOf(containerNamed(aws, "pgstack-dev-backup-runner")).find((u) =>
      u.file.endsWith(`/${PGBACKREST_SECRET_INCLUDE_FILE}`),
    );
    expect(include?.content).toContain(`repo1-s3-key=${AWS_KEYS.archiveAccessKeyId}`);
    expect(include?.content).toContain(`repo1-s3-key-secret=${AWS_KEYS.archiveSecretAccessKey}`);
    expect(aws.spec.layout.s3Endpoint).toBe("s3.eu-west-1.amazonaws.com");
  });

  it("refuses archiveStore=aws without static keys as a config error, naming the keys to set", async () => {
    const refusal = deployDockerCluster("dev", AWS);
    await expect(refusal).rejects.toThrow(
      /pgstack:archiveAccessKeyId = <unset>: is required with platform=docker and archiveStore=aws[\s\S]*fix: pulumi config set --secret pgstack:archiveAccessKeyId/,
    );
    await expect(refusal).rejects.toThrow(/pgstack:archiveSecretAccessKey = <unset>/);
  });
});
