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
  it("defaults to MinIO beside the cluster, with its bucket created before the primary starts", async () => {
    const dev = await deployDockerCluster("dev");
    const minio = containerNamed(dev, "pgstack-dev-minio");
    const bucketJob = containerNamed(dev, "pgstack-dev-minio-bucket");
    expect((minio.inputs.networksAdvanced as { aliases: string[] }[])[0].aliases).toEqual([
      dev.spec.layout.s3Endpoint,
    ]);
    expect(bucketJob.inputs.command).toEqual([
      "--config-dir",
      "/etc/minio/mc",
      "mb",
      "--ignore-existing",
      `pgstack/${dev.spec.archive.bucket}`,
    ]);
    expect(bucketJob.dependencies).toContain(minio.urn);
    expect(containerNamed(dev, "pgstack-dev-primary").dependencies).toContain(bucketJob.urn);
    expect(dev.outputs.bucketReady).toBe(true);
    expect(dev.outputs.repository).toBe(`s3://${dev.spec.archive.bucket}${dev.spec.archive.path}`);
    const minioCert = dev.resources.find(
      (r) => r.type === "tls:index/certRequest:CertRequest" && r.name.endsWith("minio-csr"),
    );
    expect(minioCert?.inputs.dnsNames).toContain(dev.spec.layout.s3Endpoint);
  });

  it("switches to a real AWS bucket with archiveStore=aws: no MinIO, egress allowed, the stack's AWS keys", async () => {
    const aws = await deployDockerCluster("dev", AWS, AWS_KEYS);
    const names = ofType(aws, CONTAINER).map((c) => c.inputs.name);
    expect(names.some((name) => String(name).includes("minio"))).toBe(false);
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
