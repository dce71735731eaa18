import { describe, expect, it } from "vitest";
import {
  DOCKER_CONTAINER,
  DOCKER_REMOTE_IMAGE,
  DOCKER_VOLUME,
  dockerHealthcheck,
  dockerLocalhostPorts,
  dockerMemoryLimit,
  dockerNoPlaintextSecrets,
  dockerPinnedImage,
  dockerReadOnlyConfig,
  dockerRestartPolicy,
  dockerVolumeStackName,
} from "../../policies/rules/docker";
import { resource, verdictOf, violations } from "./harness";

/** A dev member container as pgstack means it to be. */
function container(overrides: Record<string, unknown> = {}) {
  return resource(
    DOCKER_CONTAINER,
    "pgstack-dev-primary",
    {
      name: "pgstack-dev-primary",
      image: "pgstack/postgres:15.15-pgbackrest2.57.0",
      memory: 2048,
      restart: "unless-stopped",
      healthcheck: { tests: ["CMD", "pg_isready", "-h", "/var/run/postgresql"], interval: "10s", retries: 5 },
      ports: [{ internal: 5432, external: 15432, ip: "127.0.0.1" }],
      volumes: [{ volumeName: "pgstack-dev-primary-data", containerPath: "/var/lib/postgresql/data" }],
      mounts: [{ type: "bind", source: "/srv/ca.crt", target: "/etc/pgstack/tls/ca.crt", readOnly: true }],
      envs: ["PGDATA=/var/lib/postgresql/data/pgdata", "PGPASSFILE=/run/secrets/pgstack/pgpass"],
      ...overrides,
    },
    { stack: "dev" },
  );
}

describe("docker-container-healthcheck", () => {
  it("passes a container with a pg_isready healthcheck", async () => {
    expect(await violations(dockerHealthcheck, container())).toEqual([]);
  });
  it("fails a container without one, or with NONE, and says what to set", async () => {
    const [message] = await violations(dockerHealthcheck, container({ healthcheck: undefined }));
    expect(message).toMatch(/pgstack-dev-primary has no healthcheck: set healthcheck.tests/);
    expect(await violations(dockerHealthcheck, container({ healthcheck: { tests: ["NONE"] } }))).toHaveLength(
      1,
    );
  });
  it("does not apply to one-shot containers (attach: true) or other types", async () => {
    expect(
      (await verdictOf(dockerHealthcheck, container({ healthcheck: undefined, attach: true }))).status,
    ).toBe("not-applicable");
    expect((await verdictOf(dockerHealthcheck, resource(DOCKER_VOLUME, "v", {}))).status).toBe(
      "not-applicable",
    );
  });
});

describe("docker-container-memory-limit", () => {
  it("passes a container with memory set", async () => {
    expect(await violations(dockerMemoryLimit, container())).toEqual([]);
  });
  it("fails without memory, naming the setting", async () => {
    const [message] = await violations(dockerMemoryLimit, container({ memory: undefined }));
    expect(message).toMatch(/has no memory limit: set memory \(in MB\)/);
    expect(await violations(dockerMemoryLimit, container({ memory: 0 }))).toHaveLength(1);
  });
});

describe("docker-container-restart-policy", () => {
  it("passes unless-stopped, always and on-failure", async () => {
    for (const restart of ["unless-stopped", "always", "on-failure"]) {
      expect(await violations(dockerRestartPolicy, container({ restart }))).toEqual([]);
    }
  });
  it("fails no restart policy (Docker's default is no)", async () => {
    const [message] = await violations(dockerRestartPolicy, container({ restart: undefined }));
    expect(message).toMatch(/restart policy "no": set restart to "unless-stopped"/);
    expect(await violations(dockerRestartPolicy, container({ restart: "no" }))).toHaveLength(1);
  });
});

describe("docker-container-localhost-ports", () => {
  it("passes ports bound to 127.0.0.1 and containers publishing nothing", async () => {
    expect(await violations(dockerLocalhostPorts, container())).toEqual([]);
    expect(await violations(dockerLocalhostPorts, container({ ports: undefined }))).toEqual([]);
  });
  it("fails a port without ip (0.0.0.0) or on a public address", async () => {
    const [unset] = await violations(
      dockerLocalhostPorts,
      container({ ports: [{ internal: 5432, external: 5432 }] }),
    );
    expect(unset).toMatch(/publishes port 5432 on 0.0.0.0 \(ip unset\): set ports\[\].ip to "127.0.0.1"/);
    expect(
      await violations(dockerLocalhostPorts, container({ ports: [{ internal: 5432, ip: "0.0.0.0" }] })),
    ).toHaveLength(1);
  });
  it("fails host networking", async () => {
    const [message] = await violations(dockerLocalhostPorts, container({ networkMode: "host", ports: [] }));
    expect(message).toMatch(/networkMode "host"/);
  });
});

describe("docker-image-pinned", () => {
  it("passes version tags, digests and image ids", async () => {
    for (const image of [
      "pgstack/postgres:15.15-pgbackrest2.57.0",
      `postgres@sha256:${"a".repeat(64)}`,
      `sha256:${"b".repeat(64)}`,
      "localhost:5000/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    ]) {
      expect(await violations(dockerPinnedImage, container({ image }))).toEqual([]);
    }
  });
  it("fails latest, an untagged image and a bare major version", async () => {
    expect((await violations(dockerPinnedImage, container({ image: "postgres:latest" })))[0]).toMatch(
      /moving tag latest: pin a version tag/,
    );
    expect((await violations(dockerPinnedImage, container({ image: "localhost:5000/postgres" })))[0]).toMatch(
      /has no tag/,
    );
    expect((await violations(dockerPinnedImage, container({ image: "postgres:16" })))[0]).toMatch(
      /moving tag 16/,
    );
  });
  it("checks the name of a RemoteImage too", async () => {
    expect(
      await violations(
        dockerPinnedImage,
        resource(DOCKER_REMOTE_IMAGE, "minio", { name: "minio/minio:latest" }),
      ),
    ).toHaveLength(1);
    expect(
      await violations(
        dockerPinnedImage,
        resource(DOCKER_REMOTE_IMAGE, "minio", { name: "minio/minio:RELEASE.2025-09-07T16-13-09Z" }),
      ),
    ).toEqual([]);
  });
});

describe("docker-config-read-only", () => {
  it("passes read-only config mounts and a writable data volume", async () => {
    expect(await violations(dockerReadOnlyConfig, container())).toEqual([]);
  });
  it("fails a writable mount of a config file or secrets directory", async () => {
    const mounts = [{ type: "bind", source: "/srv/pg.conf", target: "/etc/pgstack/postgresql.conf" }];
    expect((await violations(dockerReadOnlyConfig, container({ mounts })))[0]).toMatch(
      /mounts \/etc\/pgstack\/postgresql.conf writable: set readOnly: true/,
    );
    const volumes = [{ hostPath: "/srv/secrets", containerPath: "/run/secrets/pgstack", readOnly: false }];
    expect(await violations(dockerReadOnlyConfig, container({ volumes }))).toHaveLength(1);
  });
  it("fails an uploaded config file that group or others may write", async () => {
    const uploads = [
      { file: "/etc/pgstack/pg_hba.conf", content: "local all all peer", permissions: "0444" },
      { file: "/etc/pgstack/postgresql.conf", content: "fsync = on", permissions: "0666" },
    ];
    expect(await violations(dockerReadOnlyConfig, container({ uploads }))).toEqual([
      expect.stringMatching(
        /uploads \/etc\/pgstack\/postgresql.conf with mode 0666, writable by group or others: use 0444/,
      ),
    ]);
  });
});

describe("docker-volume-stack-name", () => {
  it("passes volumes named for the stack", async () => {
    expect(
      await violations(
        dockerVolumeStackName,
        resource(DOCKER_VOLUME, "data", { name: "pgstack-dev-primary-data" }, { stack: "dev" }),
      ),
    ).toEqual([]);
    expect(await violations(dockerVolumeStackName, container())).toEqual([]);
  });
  it("fails a volume another stack could share, and a container mounting one", async () => {
    const [message] = await violations(
      dockerVolumeStackName,
      resource(DOCKER_VOLUME, "data", { name: "pgdata" }, { stack: "dev" }),
    );
    expect(message).toMatch(/volume pgdata does not carry the stack name "dev"/);
    // "device" contains "dev" but not as a token.
    expect(
      await violations(
        dockerVolumeStackName,
        resource(DOCKER_VOLUME, "d", { name: "device-data" }, { stack: "dev" }),
      ),
    ).toHaveLength(1);
    const shared = container({
      volumes: [{ volumeName: "postgres-data", containerPath: "/var/lib/postgresql/data" }],
    });
    expect((await violations(dockerVolumeStackName, shared))[0]).toMatch(/mounts volume postgres-data/);
  });
});

describe("docker-no-plaintext-secrets", () => {
  it("passes paths to secret files", async () => {
    expect(await violations(dockerNoPlaintextSecrets, container())).toEqual([]);
  });
  it("fails a password or a URL with credentials in the environment", async () => {
    const [message] = await violations(
      dockerNoPlaintextSecrets,
      container({ envs: ["POSTGRES_PASSWORD=hunter2"] }),
    );
    expect(message).toMatch(/sets POSTGRES_PASSWORD in its environment .* upload it as a file/);
    expect(
      await violations(
        dockerNoPlaintextSecrets,
        container({ envs: ["DATABASE_URL=postgres://app:pw@db/app"] }),
      ),
    ).toHaveLength(1);
    expect(
      await violations(dockerNoPlaintextSecrets, container({ envs: ["PGBACKREST_REPO1_CIPHER_PASS=abc"] })),
    ).toHaveLength(1);
  });
});
