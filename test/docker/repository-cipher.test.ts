import { beforeAll, describe, expect, it } from "vitest";
import { PGBACKREST_SECRET_INCLUDE_FILE } from "../../components/render/pgbackrest-conf";
import {
  CONFIGURED_SECRETS,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  type RegisteredResource,
  uploadsOf,
} from "./mock-deployment";

type Guard = typeof import("../../components/secrets/repository-cipher-guard");
let guard: Guard;
let dev: Deployment;
let record: RegisteredResource | undefined;

beforeAll(async () => {
  dev = await deployDockerCluster("dev");
  // Loaded after deployDockerCluster has set the mocks.
  guard = await import("../../components/secrets/repository-cipher-guard.js");
  record = dev.resources.find((r) => r.type === "random:index/randomId:RandomId");
});

describe("the cipher pass a repository was created with", () => {
  it("is recorded in state as a fingerprint that later updates never overwrite", () => {
    expect(record?.name).toBe(guard.repositoryFingerprintName("pgstack-dev-repository-cipher", dev.spec));
    // ignoreChanges: the engine keeps the first keepers in state, whatever the config says later.
    expect(record?.ignoreChanges).toEqual(["keepers"]);
    expect(record?.secretPaths).toContain(".keepers");
    const keepers = record?.inputs.keepers as { repository: string; cipherSha256: string };
    expect(keepers).toEqual({
      repository: "s3://pgstack-dev/pgstack/dev",
      cipherSha256: guard.cipherFingerprint(CONFIGURED_SECRETS.repoCipherPass),
    });
    expect(JSON.stringify(record?.inputs)).not.toContain(CONFIGURED_SECRETS.repoCipherPass);
  });

  it("reaches the containers only through the check (the first up: recorded equals configured)", () => {
    for (const name of ["pgstack-dev-primary", "pgstack-dev-replica-1", "pgstack-dev-backup-runner"]) {
      const include = uploadsOf(containerNamed(dev, name)).find((u) =>
        u.file.endsWith(`/${PGBACKREST_SECRET_INCLUDE_FILE}`),
      );
      expect(include?.content, name).toContain(`repo1-cipher-pass=${CONFIGURED_SECRETS.repoCipherPass}`);
      expect(containerNamed(dev, name).dependencies, name).toContain(record?.urn);
    }
  });
});

describe("a change of repoCipherPass once the repository exists", () => {
  const repository = "s3://pgstack-dev/pgstack/dev";

  it("is refused, naming the key and both fixes", () => {
    const recorded = guard.cipherFingerprint(CONFIGURED_SECRETS.repoCipherPass);
    const refusal = guard.cipherPassRefusal(repository, recorded, guard.cipherFingerprint("a-new-pass-Zq81"));
    expect(refusal).toMatch(
      /^pgstack:repoCipherPass differs from the pass the repository s3:\/\/pgstack-dev\/pgstack\/dev was created with;.*set pgstack:repoCipherPass back.*pgstack:archivePrefix to a new path/,
    );
  });

  it("is no change when the pass is the recorded one, or nothing is recorded yet", () => {
    const recorded = guard.cipherFingerprint(CONFIGURED_SECRETS.repoCipherPass);
    expect(guard.cipherPassRefusal(repository, recorded, recorded)).toBeUndefined();
    expect(guard.cipherPassRefusal(repository, undefined, recorded)).toBeUndefined();
  });

  it("is a new record for a new repository (new archivePrefix), which starts with the current pass", () => {
    const moved = { ...dev.spec, archive: { ...dev.spec.archive, path: "/pgstack/dev-2" } };
    expect(guard.repositoryFingerprintName("x", moved)).not.toBe(
      guard.repositoryFingerprintName("x", dev.spec),
    );
  });
});
