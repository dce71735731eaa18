import { readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IMAGE_CONTEXT, MINIO_IMAGE } from "../../components/docker/image";
import { isPinnedImage, PGBACKREST_VERSION, POSTGRES_MINOR } from "../../components/spec/image";
import {
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  mockImageId,
  ofType,
} from "./mock-deployment";

const IMAGE = "docker:index/image:Image";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

let dev: Deployment;
beforeAll(async () => {
  dev = await deployDockerCluster("dev");
});

describe("the PostgreSQL image of a dev stack", () => {
  it("is built locally from image/ with the pinned versions, tagged with spec.postgres.image, never pushed", () => {
    const [image] = ofType(dev, IMAGE);
    expect(image.inputs.imageName).toBe(dev.spec.postgres.image);
    expect(isPinnedImage(String(image.inputs.imageName))).toBe(true);
    expect(String(image.inputs.imageName)).not.toMatch(/:latest$/);
    expect(image.inputs.skipPush).toBe(true);
    const build = image.inputs.build as { context: string; dockerfile: string; args: Record<string, string> };
    expect(build.context).toBe(IMAGE_CONTEXT);
    expect(build.args).toEqual({
      POSTGRES_MINOR: POSTGRES_MINOR[dev.spec.postgres.version],
      PGBACKREST_VERSION,
    });
  });

  it("runs in every member and the runner by image ID, so a rebuild replaces them", () => {
    const builtId = mockImageId(dev.spec.postgres.image);
    // MinIO and the monitoring containers run their own pinned images.
    const pgstackContainers = ofType(dev, CONTAINER).filter(
      (c) => !/minio|exporter|prometheus|alertmanager|pushgateway/.test(String(c.inputs.name)),
    );
    expect(pgstackContainers.map((c) => c.inputs.name).sort()).toEqual([
      "pgstack-dev-backup-runner",
      "pgstack-dev-primary",
      "pgstack-dev-replica-1",
    ]);
    for (const container of pgstackContainers) expect(container.inputs.image).toBe(builtId);
  });

  it("pins MinIO to a release tag", () => {
    const [minio] = ofType(dev, REMOTE_IMAGE);
    expect(minio.inputs.name).toBe(MINIO_IMAGE);
    expect(containerNamed(dev, "pgstack-dev-minio").inputs.image).toBe(mockImageId(MINIO_IMAGE));
    expect(MINIO_IMAGE).toMatch(/:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
  });
});

/** A Dockerfile build-argument reference, `${NAME}`. */
const arg = (name: string) => ["$", "{", name, "}"].join("");

describe("image/Dockerfile", () => {
  const dockerfile = readFileSync(path.join(IMAGE_CONTEXT, "Dockerfile"), "utf8");
  const instructions = dockerfile.split("\n").filter((line) => !line.startsWith("#"));

  it("starts from the official image of the configured minor release, with no default to fall back on", () => {
    expect(instructions).toContain("ARG POSTGRES_MINOR");
    expect(instructions).toContain(`FROM postgres:${arg("POSTGRES_MINOR")}-bookworm`);
    expect(instructions.filter((line) => line.startsWith("FROM"))).toHaveLength(1);
    expect(dockerfile).not.toMatch(/latest/);
  });

  it("installs exactly the pinned pgBackRest and fails the build on any other version", () => {
    expect(dockerfile).toContain(`"pgbackrest=${arg("PGBACKREST_VERSION")}-*"`);
    expect(dockerfile).toContain(`test "$(pgbackrest version)" = "pgBackRest ${arg("PGBACKREST_VERSION")}"`);
  });

  it("installs the system CA store pgBackRest verifies AWS S3 with (the base image does not keep one)", () => {
    const install = instructions.find((line) => line.includes("apt-get install"));
    expect(install).toMatch(/\bca-certificates\b/);
    expect(dockerfile).toContain("test -s /etc/ssl/certs/ca-certificates.crt");
  });

  it("checks supercronic against a pinned checksum and ends as the postgres user", () => {
    expect(dockerfile).toMatch(/ARG SUPERCRONIC_VERSION=v\d+\.\d+\.\d+/);
    expect(dockerfile).toMatch(/ARG SUPERCRONIC_SHA1_AMD64=[0-9a-f]{40}/);
    expect(dockerfile).toContain("sha1sum -c -");
    expect(instructions.filter((line) => line.startsWith("USER")).pop()).toBe("USER postgres");
  });
});
