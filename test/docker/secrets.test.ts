import { beforeAll, describe, expect, it } from "vitest";
import { PGBACKREST_SECRET_INCLUDE_FILE } from "../../components/render/pgbackrest-conf";
import { SECRET_FILES } from "../../components/render/secret-files";
import {
  CONFIGURED_SECRETS,
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  ofType,
  uploadsOf,
} from "./mock-deployment";

let dev: Deployment;
beforeAll(async () => {
  dev = await deployDockerCluster("dev");
});

/** Every string leaf of a value with its JSON path. */
function leaves(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, `${at}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => leaves(item, `${at}.${key}`));
  }
  return [];
}

describe("secrets", () => {
  it("appear in no input that is not marked secret, in any resource", () => {
    expect(dev.secretValues.length).toBeGreaterThan(Object.keys(CONFIGURED_SECRETS).length);
    const exposed: string[] = [];
    for (const resource of dev.resources) {
      for (const [path, text] of leaves(resource.inputs)) {
        const coveredBySecret = resource.secretPaths.some(
          (secret) => path === secret || path.startsWith(secret),
        );
        if (coveredBySecret) continue;
        for (const secret of dev.secretValues) {
          if (text.includes(secret)) exposed.push(`${resource.name}${path}`);
        }
      }
    }
    expect(exposed).toEqual([]);
  });

  it("never reach an environment value, a command, an entrypoint, a healthcheck or a label", () => {
    for (const container of ofType(dev, CONTAINER)) {
      const visible = JSON.stringify([
        container.inputs.envs,
        container.inputs.command,
        container.inputs.entrypoints,
        container.inputs.healthcheck,
        container.inputs.labels,
      ]);
      for (const secret of dev.secretValues) expect(visible, container.name).not.toContain(secret);
    }
  });

  it("reach the members as postgres-owned 0400 files in layout.secretsDir, marked secret", () => {
    const { layout } = dev.spec;
    for (const name of ["pgstack-dev-primary", "pgstack-dev-replica-1"]) {
      const container = containerNamed(dev, name);
      const byFile = new Map(uploadsOf(container).map((u) => [u.file, u]));
      const expectations: [string, string][] = [
        [SECRET_FILES.superuserPassword, CONFIGURED_SECRETS.superuserPassword],
        [SECRET_FILES.replicationPassword, CONFIGURED_SECRETS.replicationPassword],
        [SECRET_FILES.appPassword, CONFIGURED_SECRETS.appPassword],
      ];
      for (const [file, value] of expectations) {
        expect(byFile.get(`${layout.secretsDir}/${file}`), `${name} ${file}`).toMatchObject({
          content: value,
          owner: "999",
          group: "999",
          permissions: "0400",
        });
      }
      expect(container.secretPaths.some((path) => path.startsWith(".uploads"))).toBe(true);
      expect(container.additionalSecretOutputs).toContain("uploads");
      const key = byFile.get(`${layout.tlsDir}/server.key`);
      expect(key).toMatchObject({ owner: "999", permissions: "0400" });
    }
  });

  it("give pgBackRest the cipher pass and MinIO's generated keys in the include file only", () => {
    const primary = containerNamed(dev, "pgstack-dev-primary");
    const include = uploadsOf(primary).find(
      (u) => u.file === `${dev.spec.layout.pgbackrestIncludeDir}/${PGBACKREST_SECRET_INCLUDE_FILE}`,
    );
    expect(include).toMatchObject({ owner: "999", permissions: "0400" });
    const lines = (include?.content ?? "").trim().split("\n");
    expect(lines[0]).toBe("[global]");
    expect(lines).toContain(`repo1-cipher-pass=${CONFIGURED_SECRETS.repoCipherPass}`);
    const accessKey = dev.secretValues.find((value) => value.endsWith("s3-access-key"));
    const secretKey = dev.secretValues.find((value) => value.endsWith("s3-secret-key"));
    expect(lines).toContain(`repo1-s3-key=${accessKey}`);
    expect(lines).toContain(`repo1-s3-key-secret=${secretKey}`);
    for (const file of Object.values(dev.spec.files)) {
      for (const secret of dev.secretValues) expect(file).not.toContain(secret);
    }
  });

  it("reach the S3 store as an identity file it alone can read, never as environment or arguments", () => {
    const store = containerNamed(dev, "pgstack-dev-s3");
    const config = (store.inputs.command as string[])
      .find((arg) => arg.startsWith("-s3.config="))
      ?.split("=")[1];
    const identity = uploadsOf(store).find((u) => u.file === config);
    expect(identity).toMatchObject({ owner: "1000", group: "1000", permissions: "0400" });
    const parsed = JSON.parse(identity?.content ?? "{}");
    expect(parsed.identities[0].credentials[0]).toEqual({
      accessKey: dev.secretValues.find((v) => v.endsWith("s3-access-key")),
      secretKey: dev.secretValues.find((v) => v.endsWith("s3-secret-key")),
    });
    const visible = JSON.stringify([store.inputs.command, store.inputs.envs ?? [], store.inputs.healthcheck]);
    for (const secret of dev.secretValues) expect(visible).not.toContain(secret);
  });

  it("export the application password as a secret", () => {
    expect(dev.appPasswordIsSecret).toBe(true);
    expect(dev.outputs.appPassword).toBe(CONFIGURED_SECRETS.appPassword);
  });
});
