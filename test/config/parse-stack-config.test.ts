import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigProblem } from "../../components/config/config-error";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { stackConfigSchema } from "../../components/config/stack-config";
import { readStackFiles } from "../../components/config/stack-files";

const DIGEST_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/pgstack-prod/postgres@sha256:${"ab".repeat(32)}`;

const minimal = {
  "pgstack:platform": "docker",
  "pgstack:postgresVersion": "15",
  "pgstack:memoryLimit": "2Gi",
  "pgstack:cpus": "2",
  "pgstack:storageSize": "10Gi",
  "pgstack:archiveBucket": "pgstack-dev",
};

/** The problems a config is refused with; fails the test if it is accepted. */
function problemsOf(raw: Record<string, unknown>, secretKeys: string[] = []): ConfigProblem[] {
  try {
    parseStackConfig(raw, new Set(secretKeys));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("config was accepted");
}

function problemFor(raw: Record<string, unknown>, key: string): ConfigProblem {
  const problem = problemsOf(raw).find((p) => p.key === key);
  if (!problem) throw new Error(`no problem reported for ${key}: ${JSON.stringify(problemsOf(raw))}`);
  return problem;
}

describe("stack config files", () => {
  it("parses the dev stack with Pulumi.yaml defaults applied", () => {
    const { values, secretKeys } = readStackFiles(process.cwd(), "dev");
    const config = parseStackConfig(values, secretKeys);
    expect(config).toMatchObject({
      platform: "docker",
      postgresVersion: 15,
      memoryLimit: "2Gi",
      replicas: 1,
    });
    // Pulumi.yaml declares optional keys with "" so they stay unset.
    expect(config.image).toBeUndefined();
    expect(config.clusterCidr).toBeUndefined();
    expect(config.maxConnections).toBe(50);
  });

  it("parses the prod stack", () => {
    const { values, secretKeys } = readStackFiles(process.cwd(), "prod");
    expect(parseStackConfig(values, secretKeys)).toMatchObject({
      platform: "kubernetes",
      memoryLimit: "8Gi",
      cpus: 4,
      storageSize: "200Gi",
      storageMedium: "ssd",
      replicas: 1,
      s3Access: "irsa",
      protect: true,
    });
  });

  it("decodes values the way the Pulumi engine hands them over (all strings)", () => {
    const config = parseStackConfig({
      ...minimal,
      "pgstack:replicas": "2",
      "pgstack:tls": "false",
      "pgstack:allowedCidrs": '["10.1.0.0/16"]',
      "pgstack:parameters": '["work_mem=64MB"]',
      "pgstack:maxConnections": "0",
    });
    expect(config).toMatchObject({
      replicas: 2,
      tls: false,
      allowedCidrs: ["10.1.0.0/16"],
      parameters: ["work_mem=64MB"],
    });
    expect(config.maxConnections).toBeUndefined();
  });

  it("ignores other namespaces (providers' keys)", () => {
    expect(parseStackConfig({ ...minimal, "aws:region": "eu-west-1" }).platform).toBe("docker");
  });
});

describe("config errors name the key, the value and the fix", () => {
  it("refuses an unknown key and suggests the closest one", () => {
    const problem = problemFor({ ...minimal, "pgstack:memoryLimt": "4Gi" }, "pgstack:memoryLimt");
    expect(problem.message).toContain("did you mean pgstack:memoryLimit?");
    expect(problem.value).toBe('"4Gi"');
    expect(problem.fix).toContain("pulumi config rm pgstack:memoryLimt");
  });

  it("refuses a unit-less size", () => {
    const problem = problemFor({ ...minimal, "pgstack:memoryLimit": "8" }, "pgstack:memoryLimit");
    expect(problem.value).toBe('"8"');
    expect(problem.message).toMatch(/binary unit.*bare number is ambiguous/);
    expect(problem.fix).toBe("pulumi config set pgstack:memoryLimit 8Gi");
  });

  it.each([["-2Gi"], ["0Gi"], ["8GB"], ["lots"]])("refuses the size %s", (size) => {
    expect(problemFor({ ...minimal, "pgstack:storageSize": size }, "pgstack:storageSize").value).toBe(
      JSON.stringify(size),
    );
  });

  it("refuses a negative replica count", () => {
    const problem = problemFor({ ...minimal, "pgstack:replicas": "-1" }, "pgstack:replicas");
    expect(problem.value).toBe("-1");
    expect(problem.message).toBe("expected a whole number of replicas, 0 to 5");
  });

  it("refuses an unsupported PostgreSQL version and lists the supported ones", () => {
    const problem = problemFor({ ...minimal, "pgstack:postgresVersion": "14" }, "pgstack:postgresVersion");
    expect(problem.message).toContain("15, 16, 17");
  });

  it("reports a missing required key as required", () => {
    const { "pgstack:archiveBucket": _, ...withoutBucket } = minimal;
    const problem = problemFor(withoutBucket, "pgstack:archiveBucket");
    expect(problem.value).toBe("<unset>");
    expect(problem.message).toContain("is required");
  });

  it("refuses a secret stored in plaintext", () => {
    const problem = problemFor({ ...minimal, "pgstack:appPassword": "hunter2" }, "pgstack:appPassword");
    expect(problem.value).toBe("<plaintext>");
    expect(problem.value).not.toContain("hunter2");
    expect(problem.fix).toBe(
      "pulumi config rm pgstack:appPassword; pulumi config set --secret pgstack:appPassword <value>",
    );
  });

  it.each([["two\nlines"], [" padded "], [""]])("refuses a secret value %j, without showing it", (secret) => {
    const problems = problemsOf({ ...minimal, "pgstack:repoCipherPass": secret }, ["repoCipherPass"]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key: "pgstack:repoCipherPass", value: "<secret>" });
    expect(problems[0].message).toContain("one line without leading or trailing spaces");
    expect(problems[0].fix).toBe("pulumi config set --secret pgstack:repoCipherPass <value on one line>");
    if (secret.trim() !== "") expect(JSON.stringify(problems)).not.toContain(secret.trim());
  });

  it("never answers with a bare schema default, whatever the wrong value", () => {
    const wrong: unknown[] = [{}, -1, 1.5, true, "x y", ["a"], "99999999999"];
    for (const key of Object.keys(stackConfigSchema.shape)) {
      for (const value of wrong) {
        let problems: ConfigProblem[] = [];
        try {
          parseStackConfig({ ...minimal, [`pgstack:${key}`]: value });
        } catch (error) {
          problems = [...(error as ConfigError).problems];
        }
        for (const problem of problems) {
          expect(problem.message, `${key} = ${JSON.stringify(value)}`).not.toMatch(
            // The last is parse-stack-config's net under a schema that forgot its own wording.
            /Invalid (input|option)|Too (small|big)|expected \w+, received \w+|is not valid here/,
          );
          expect(problem.fix.length, `${key} = ${JSON.stringify(value)}`).toBeGreaterThan(10);
        }
      }
    }
  });

  it("accepts a secret that arrived encrypted", () => {
    expect(() =>
      parseStackConfig({ ...minimal, "pgstack:appPassword": "x" }, new Set(["appPassword"])),
    ).not.toThrow();
  });

  it("refuses an invalid client CIDR with its index", () => {
    const problem = problemFor(
      { ...minimal, "pgstack:allowedCidrs": '["10.0.0.0/8", "10.0.0.0/33"]' },
      "pgstack:allowedCidrs[1]",
    );
    expect(problem.value).toBe('"10.0.0.0/33"');
    expect(problem.fix).toBe("pulumi config set --path 'pgstack:allowedCidrs[1]' 10.0.0.0/16");
  });

  it("refuses a cron schedule that is not 5 fields", () => {
    const problem = problemFor(
      { ...minimal, "pgstack:backupFullSchedule": "every sunday" },
      "pgstack:backupFullSchedule",
    );
    expect(problem.message).toBe(
      "has 2 fields; a schedule has 5 (minute hour day-of-month month day-of-week, UTC)",
    );
  });

  it("refuses a parameter override that is not name=value", () => {
    expect(
      problemFor({ ...minimal, "pgstack:parameters": '["work_mem"]' }, "pgstack:parameters[0]").message,
    ).toContain("name=value");
  });

  it("refuses a memory request above the limit", () => {
    const problem = problemFor({ ...minimal, "pgstack:memoryRequest": "4Gi" }, "pgstack:memoryRequest");
    expect(problem.message).toContain('must not exceed pgstack:memoryLimit = "2Gi"');
    expect(problem.fix).toContain("pulumi config set pgstack:memoryRequest 2Gi");
  });

  it("requires the OIDC provider for IRSA on Kubernetes, and the pod CIDR", () => {
    const problems = problemsOf({ ...minimal, "pgstack:platform": "kubernetes" });
    expect(problems.map((p) => p.key)).toEqual(
      expect.arrayContaining(["pgstack:oidcProviderArn", "pgstack:oidcProviderUrl", "pgstack:clusterCidr"]),
    );
    expect(problems.find((p) => p.key === "pgstack:oidcProviderArn")?.fix).toContain(
      "pulumi config set pgstack:s3Access accessKey",
    );
  });

  it("keeps the local S3 store and published ports to the Docker platform", () => {
    const problems = problemsOf({
      ...minimal,
      "pgstack:platform": "kubernetes",
      "pgstack:image": DIGEST_IMAGE,
      "pgstack:s3Access": "accessKey",
      "pgstack:clusterCidr": "10.0.0.0/16",
      "pgstack:archiveStore": "local",
      "pgstack:publishPort": "15432",
    });
    expect(problems.map((p) => p.key).sort()).toEqual(["pgstack:archiveStore", "pgstack:publishPort"]);
  });

  it("requires the image on Kubernetes, by digest, saying why and how", () => {
    const kubernetes = {
      ...minimal,
      "pgstack:platform": "kubernetes",
      "pgstack:s3Access": "accessKey",
      "pgstack:clusterCidr": "10.0.0.0/16",
      "pgstack:archiveRegion": "eu-west-1",
    };
    const unset = problemFor(kubernetes, "pgstack:image");
    expect(unset.message).toMatch(/is required on Kubernetes: .* by digest .* Docker Hub/);
    expect(unset.fix).toMatch(/^pulumi config set pgstack:image \S+@sha256:/);
    const tagged = problemFor(
      { ...kubernetes, "pgstack:image": "registry.example.com/pgstack/postgres:15.15-pgbackrest2.57.0" },
      "pgstack:image",
    );
    expect(tagged.value).toBe('"registry.example.com/pgstack/postgres:15.15-pgbackrest2.57.0"');
    expect(tagged.message).toMatch(/must be pinned by digest on Kubernetes .* a tag can be moved/);
    expect(() => parseStackConfig({ ...kubernetes, "pgstack:image": DIGEST_IMAGE })).not.toThrow();
    // Docker builds its own image: a tag is fine there.
    expect(() =>
      parseStackConfig({ ...minimal, "pgstack:image": "pgstack/postgres:15.15-pgbackrest2.57.0" }),
    ).not.toThrow();
  });

  it("refuses a dotted AWS bucket name (virtual-host TLS cannot verify it), not a MinIO one", () => {
    const problem = problemFor(
      { ...minimal, "pgstack:archiveStore": "aws", "pgstack:archiveBucket": "acme.pgstack" },
      "pgstack:archiveBucket",
    );
    expect(problem.message).toMatch(
      /contains a dot: .*certificate \(\*\.s3\.<region>\.amazonaws\.com\) does not cover a dotted name.*use dashes/,
    );
    expect(() => parseStackConfig({ ...minimal, "pgstack:archiveBucket": "acme.pgstack" })).not.toThrow();
  });

  it("reports every problem at once, not only the first", () => {
    const problems = problemsOf({
      ...minimal,
      "pgstack:cpus": "0",
      "pgstack:workload": "batch",
      "pgstack:tls": "maybe",
    });
    expect(problems.map((p) => p.key).sort()).toEqual(["pgstack:cpus", "pgstack:tls", "pgstack:workload"]);
  });

  it("formats the error message with key, value and fix lines", () => {
    try {
      parseStackConfig({ ...minimal, "pgstack:memoryLimit": "8" });
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).toBe(
        'pgstack configuration has 1 problem:\n  - pgstack:memoryLimit = "8": expected a size with a binary unit (Ki, Mi, Gi, Ti), e.g. 8Gi; a bare number is ambiguous (bytes? MB? GB?)\n    fix: pulumi config set pgstack:memoryLimit 8Gi',
      );
    }
  });
});
