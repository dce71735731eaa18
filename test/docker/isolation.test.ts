import { beforeAll, describe, expect, it } from "vitest";
import { PUBLISH_ADDRESS } from "../../components/docker/network";
import {
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  NETWORK,
  ofType,
  VOLUME,
} from "./mock-deployment";

interface Port {
  readonly internal: number;
  readonly external?: number;
  readonly ip?: string;
}

const portsOf = (deployment: Deployment) =>
  ofType(deployment, CONTAINER).flatMap((c) =>
    ((c.inputs.ports as Port[] | undefined) ?? []).map((p) => ({ c, p })),
  );

const volumeNames = (deployment: Deployment) => ofType(deployment, VOLUME).map((v) => String(v.inputs.name));

let dev: Deployment;
let dev2: Deployment;
let published: Deployment;
let protectedStack: Deployment;
beforeAll(async () => {
  dev = await deployDockerCluster("dev");
  dev2 = await deployDockerCluster("dev2");
  published = await deployDockerCluster("dev", { "pgstack:publishPort": "15432" });
  protectedStack = await deployDockerCluster("dev", { "pgstack:protect": "true" });
});

describe("network exposure", () => {
  it("publishes no database port by default, and the cluster network has no route off the host", () => {
    // Only the Prometheus UI, on the loopback, on a port Docker picks.
    expect(portsOf(dev).map(({ c, p }) => [c.inputs.name, p])).toEqual([
      ["pgstack-dev-prometheus", { internal: 9090, ip: "127.0.0.1", protocol: "tcp" }],
    ]);
    const networks = ofType(dev, NETWORK);
    expect(networks.map((n) => n.inputs.name)).toEqual(["pgstack-dev", "pgstack-dev-prometheus-publish"]);
    expect(networks[0].inputs.internal).toBe(true);
    expect(dev.outputs.connection).toEqual({
      host: "pgstack-dev-primary",
      port: 5432,
      database: "app",
      user: "app",
    });
  });

  it("publishes only the primary's PostgreSQL port, on 127.0.0.1, when publishPort is set", () => {
    const ports = portsOf(published).filter(({ c }) => c.inputs.name !== "pgstack-dev-prometheus");
    expect(ports).toHaveLength(1);
    expect(ports[0].c.inputs.name).toBe("pgstack-dev-primary");
    expect(ports[0].p).toMatchObject({ internal: 5432, external: 15432, ip: "127.0.0.1" });
    expect(published.outputs.connection).toEqual({
      host: "localhost",
      port: 15432,
      database: "app",
      user: "app",
    });
  });

  it("prints the exact first connection from the laptop, verifying the server with the exported CA", () => {
    expect(published.outputs.psql).toBe(
      `psql "host=localhost hostaddr=${PUBLISH_ADDRESS} port=15432 dbname=app user=app sslmode=verify-full sslrootcert=pgstack-dev-ca.crt"`,
    );
    expect(published.outputs.caCertificate).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    // Unpublished, nothing on the laptop can reach the server: the command runs psql inside the primary.
    expect(dev.outputs.psql).toBe('docker exec -it pgstack-dev-primary psql "dbname=app user=app"');
  });

  it("certifies the published primary for localhost too, so sslmode=verify-full works through the port", () => {
    const sans = (deployment: Deployment) =>
      ofType(deployment, "tls:index/locallySignedCert:LocallySignedCert")
        .concat(ofType(deployment, "tls:index/certRequest:CertRequest"))
        .map((r) => r.inputs.dnsNames as string[] | undefined)
        .filter((names): names is string[] => Array.isArray(names) && names.includes("pgstack-dev-primary"));
    expect(sans(published).flat()).toContain("localhost");
    expect(sans(dev).flat()).not.toContain("localhost");
    const primaryRequest = (deployment: Deployment) =>
      ofType(deployment, "tls:index/certRequest:CertRequest").find((r) =>
        (r.inputs.dnsNames as string[]).includes("pgstack-dev-primary"),
      );
    expect(primaryRequest(published)?.inputs.ipAddresses).toEqual([PUBLISH_ADDRESS]);
    expect(primaryRequest(dev)?.inputs.ipAddresses).toBeUndefined();
  });

  it("keeps the cluster network internal and publishes through a loopback-bound network only the primary joins", () => {
    const networks = ofType(published, NETWORK);
    const cluster = networks.find((n) => n.inputs.name === "pgstack-dev");
    const publish = networks.find((n) => n.inputs.name === "pgstack-dev-publish");
    expect(cluster?.inputs.internal).toBe(true);
    expect(publish?.inputs.internal).toBe(false);
    for (const network of networks) {
      expect(
        (network.inputs.options as Record<string, string>)["com.docker.network.bridge.host_binding_ipv4"],
      ).toBe("127.0.0.1");
    }
    const joined = ofType(published, CONTAINER).filter((c) =>
      (c.inputs.networksAdvanced as { name: string }[]).some((n) => n.name === "pgstack-dev-publish"),
    );
    expect(joined.map((c) => c.inputs.name)).toEqual(["pgstack-dev-primary"]);
  });
});

describe("volumes", () => {
  it("gives each member one volume named with the stack, labelled with stack and role", () => {
    const volumes = ofType(dev, VOLUME).filter((v) => String(v.inputs.name).endsWith("-data"));
    expect(volumes.map((v) => v.inputs.name).sort()).toEqual([
      "pgstack-dev-primary-data",
      "pgstack-dev-replica-1-data",
      "pgstack-dev-s3-data",
    ]);
    for (const volume of volumes) {
      const labels = Object.fromEntries(
        (volume.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]),
      );
      expect(labels["pgstack.stack"]).toBe("dev");
      expect(labels["pgstack.role"]).toMatch(/^(primary|replica|object-store)$/);
    }
    expect(dev.outputs.volumes).toEqual({
      primary: "pgstack-dev-primary-data",
      "replica-1": "pgstack-dev-replica-1-data",
    });
  });

  it("mounts each member's own volume at layout.volumeDir, its own socket volume, and nothing else", () => {
    for (const member of dev.spec.members) {
      const container = containerNamed(dev, `pgstack-dev-${member.name}`);
      expect(container.inputs.mounts).toEqual([
        { type: "volume", source: `pgstack-dev-${member.name}-data`, target: dev.spec.layout.volumeDir },
        { type: "volume", source: `pgstack-dev-${member.name}-socket`, target: dev.spec.layout.socketDir },
      ]);
      expect(container.inputs.volumes).toBeUndefined();
    }
  });

  it("never shares a volume, container or network name between two stacks on one host", () => {
    const names = (d: Deployment) => [
      ...volumeNames(d),
      ...ofType(d, CONTAINER).map((c) => String(c.inputs.name)),
      ...ofType(d, NETWORK).map((n) => String(n.inputs.name)),
    ];
    const shared = names(dev).filter((name) => names(dev2).includes(name));
    expect(shared).toEqual([]);
    expect(volumeNames(dev2).every((name) => name.startsWith("pgstack-dev2-"))).toBe(true);
  });
});

describe("destroy safety", () => {
  it("protects and retains the volumes (members' data and the repository) when spec.protect is set", () => {
    expect(protectedStack.spec.protect).toBe(true);
    const volumes = ofType(protectedStack, VOLUME).filter((v) => String(v.inputs.name).endsWith("-data"));
    expect(volumes).toHaveLength(3);
    for (const volume of volumes) {
      expect(volume.protect, volume.name).toBe(true);
      expect(volume.retainOnDelete, volume.name).toBe(true);
    }
    const storeKeys = protectedStack.resources.filter(
      (r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.includes("-s3-"),
    );
    // The repository's writer identity and the restore drill's read-only one, access and secret key each.
    expect(storeKeys).toHaveLength(4);
    expect(storeKeys.every((r) => r.protect)).toBe(true);
  });

  it("leaves a stack with protect=false destroyable, and never protects containers", () => {
    expect(ofType(dev, VOLUME).some((v) => v.protect || v.retainOnDelete)).toBe(false);
    expect(ofType(protectedStack, CONTAINER).some((c) => c.protect)).toBe(false);
  });

  it("deletes a container before creating its replacement (fixed names would collide)", () => {
    for (const container of ofType(dev, CONTAINER)) {
      // The switchover gate is named by what it runs: its replacement is created first, so Pulumi
      // does not delete the members whose inputs come from it before it runs (switchover-gate.ts).
      const gate = String(container.inputs.name).startsWith("pgstack-dev-switchover-gate-");
      expect(container.deleteBeforeReplace === true, container.name).toBe(!gate);
    }
  });
});
