import { readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IMAGE_CONTEXT, OBJECT_STORE_IMAGE } from "../../components/docker/image";
import {
  defaultImage,
  isPinnedImage,
  PGBACKREST_SHA256,
  PGBACKREST_VERSION,
  POSTGRES_MINOR,
} from "../../components/spec/image";
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
      PGBACKREST_SHA256,
    });
    // TARGETARCH (which supercronic binary and checksum) is set by BuildKit only.
    expect((build as { builderVersion?: string }).builderVersion).toBe("BuilderBuildKit");
  });

  it("runs in every member and the runner by image ID, so a rebuild replaces them", () => {
    const builtId = mockImageId(dev.spec.postgres.image);
    // The store and the monitoring containers run their own pinned images.
    const pgstackContainers = ofType(dev, CONTAINER).filter(
      (c) => !/-s3$|exporter|prometheus|alertmanager|pushgateway/.test(String(c.inputs.name)),
    );
    // The switchover gate's one-shot container is named by a hash of what it runs.
    expect(
      pgstackContainers.map((c) => String(c.inputs.name).replace(/-[0-9a-f]{12}$/, "-<hash>")).sort(),
    ).toEqual([
      "pgstack-dev-backup-runner",
      "pgstack-dev-primary",
      "pgstack-dev-replica-1",
      "pgstack-dev-switchover-gate-<hash>",
    ]);
    for (const container of pgstackContainers) expect(container.inputs.image).toBe(builtId);
  });

  it("pins the S3 store to a release tag and the digest of its image index", () => {
    const [store] = ofType(dev, REMOTE_IMAGE);
    expect(store.inputs.name).toBe(OBJECT_STORE_IMAGE);
    expect(containerNamed(dev, "pgstack-dev-s3").inputs.image).toBe(mockImageId(OBJECT_STORE_IMAGE));
    expect(OBJECT_STORE_IMAGE).toMatch(/^chrislusf\/seaweedfs:\d+\.\d+@sha256:[0-9a-f]{64}$/);
  });
});

/** A Dockerfile build-argument reference, `${NAME}`. */
const arg = (name: string) => ["$", "{", name, "}"].join("");

describe("image/Dockerfile", () => {
  const dockerfile = readFileSync(path.join(IMAGE_CONTEXT, "Dockerfile"), "utf8");
  const instructions = dockerfile.split("\n").filter((line) => !line.startsWith("#"));

  it("builds on the official image of the configured minor release, with no default to fall back on", () => {
    expect(instructions).toContain("ARG POSTGRES_MINOR");
    const froms = instructions.filter((line) => line.startsWith("FROM"));
    // The pgBackRest build stage and the final image share one base: the binary links the same libraries.
    expect(froms).toEqual([
      `FROM postgres:${arg("POSTGRES_MINOR")}-bookworm AS pgbackrest-build`,
      `FROM postgres:${arg("POSTGRES_MINOR")}-bookworm`,
    ]);
    expect(dockerfile).not.toMatch(/latest/);
  });

  it("builds pgBackRest from its release tarball, checked by SHA-256, and fails the build on any other version", () => {
    expect(dockerfile).toContain(
      `releases/download/release/${arg("PGBACKREST_VERSION")}/pgbackrest-${arg("PGBACKREST_VERSION")}.tar.gz`,
    );
    expect(dockerfile).toContain(
      `echo "${arg("PGBACKREST_SHA256")}  /tmp/pgbackrest.tar.gz" | sha256sum -c -`,
    );
    expect(dockerfile).toContain(`test "$(pgbackrest version)" = "pgBackRest ${arg("PGBACKREST_VERSION")}"`);
    // No apt pin of pgBackRest: the PostgreSQL apt repository keeps only the newest version.
    expect(dockerfile).not.toMatch(/pgbackrest=/);
    expect(PGBACKREST_SHA256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("installs the system CA store pgBackRest verifies AWS S3 with, and tini", () => {
    const install = instructions.find((line) => line.includes("ca-certificates tini"));
    expect(install).toBeDefined();
    expect(dockerfile).toContain("test -s /etc/ssl/certs/ca-certificates.crt");
    expect(dockerfile).toContain("test -x /usr/bin/tini");
  });

  it("checks supercronic against a pinned SHA-256 per architecture and ends as the postgres user", () => {
    expect(dockerfile).toMatch(/ARG SUPERCRONIC_VERSION=v\d+\.\d+\.\d+/);
    expect(dockerfile).toMatch(/ARG SUPERCRONIC_SHA256_AMD64=[0-9a-f]{64}/);
    expect(dockerfile).toMatch(/ARG SUPERCRONIC_SHA256_ARM64=[0-9a-f]{64}/);
    expect(dockerfile).toContain("sha256sum -c -");
    expect(dockerfile).not.toContain("sha1sum");
    expect(instructions.filter((line) => line.startsWith("USER")).pop()).toBe("USER postgres");
  });
});

describe("the pinned versions as documented", () => {
  const readme = readFileSync(path.join(IMAGE_CONTEXT, "..", "README.md"), "utf8");
  const dockerfile = readFileSync(path.join(IMAGE_CONTEXT, "Dockerfile"), "utf8");
  const documentedImages = (text: string) => [
    ...text.matchAll(/pgstack\/postgres:([0-9.]+)-pgbackrest([0-9.]+)/g),
  ];

  it("README and the Dockerfile's build example name only the pinned PostgreSQL minors and pgBackRest", () => {
    for (const text of [readme, dockerfile]) {
      const mentions = documentedImages(text);
      expect(mentions.length).toBeGreaterThan(0);
      for (const [, minor, pgbackrest] of mentions) {
        expect(Object.values(POSTGRES_MINOR)).toContain(minor);
        expect(pgbackrest).toBe(PGBACKREST_VERSION);
      }
      for (const [, value] of text.matchAll(/--build-arg POSTGRES_MINOR=([0-9.]+)/g)) {
        expect(Object.values(POSTGRES_MINOR)).toContain(value);
      }
      for (const [, value] of text.matchAll(/--build-arg PGBACKREST_VERSION=([0-9.]+)/g)) {
        expect(value).toBe(PGBACKREST_VERSION);
      }
      for (const [, value] of text.matchAll(/--build-arg PGBACKREST_SHA256=([0-9a-f]+)/g)) {
        expect(value).toBe(PGBACKREST_SHA256);
      }
    }
  });

  it("README names the S3 store image and the supercronic release the code pins", () => {
    expect(readme).toContain(OBJECT_STORE_IMAGE);
    const supercronic = dockerfile.match(/ARG SUPERCRONIC_VERSION=(v[0-9.]+)/)?.[1];
    expect(readme).toContain(`supercronic ${supercronic}`);
    for (const version of [15, 16, 17] as const) expect(readme).toContain(defaultImage(version));
  });
});
