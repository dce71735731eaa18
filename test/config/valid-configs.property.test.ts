import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { readOtherStacks } from "../../components/config/stack-files";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import { ROOT } from "./threat-harness";

/**
 * The other side of the threat list: a config within every documented range and rule is never
 * refused. Configs are drawn at random within the documented bounds (sizes, counts, schedules,
 * networks, regions, overrides within the volume), as a third stack of this project beside the
 * repository's dev and prod, so the collision rules run against real neighbours too.
 */

const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"];

/** A new stack's name: lowercase, and never dev-… or prod-… (those would share Docker name prefixes). */
const stackName = fc
  .tuple(fc.constantFrom("qa", "stage", "perf", "demo", "blue"), fc.stringMatching(/^[a-z0-9]{0,8}$/))
  .map(([word, suffix]) => `${word}${suffix}`);

const gib = (min: number, max: number) => fc.integer({ min, max }).map((n) => `${n}Gi`);

/** Full backups on Sunday, differentials on the other days, at any minute and hour. */
const schedules = fc
  .record({
    minute: fc.integer({ min: 0, max: 59 }),
    hour: fc.integer({ min: 0, max: 23 }),
    diffMinute: fc.integer({ min: 0, max: 59 }),
    diffHour: fc.integer({ min: 0, max: 23 }),
  })
  .map(({ minute, hour, diffMinute, diffHour }) => ({
    "pgstack:backupFullSchedule": `${minute} ${hour} * * 0`,
    "pgstack:backupDiffSchedule": `${diffMinute} ${diffHour} * * 1-6`,
  }));

/** Private networks of /8 to /28. */
const privateCidr = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 28 }))
  .map(([octet, prefix]) => `10.${octet}.0.0/${prefix}`);

const common = fc.record({
  "pgstack:postgresVersion": fc.constantFrom(15, 16, 17),
  // 2Gi and more hold 100 connections (verified-facts: 2Gi holds 200 for the web profile).
  "pgstack:memoryLimit": gib(2, 64),
  "pgstack:cpus": fc.integer({ min: 1, max: 16 }),
  "pgstack:storageSize": gib(1, 2048),
  "pgstack:storageMedium": fc.constantFrom("ssd", "nvme", "hdd", "san"),
  "pgstack:workload": fc.constantFrom("web", "oltp", "dw", "mixed", "desktop"),
  "pgstack:maxConnections": fc.integer({ min: 10, max: 100 }),
  "pgstack:replicas": fc.integer({ min: 0, max: 5 }),
  "pgstack:archiveBucket": fc.stringMatching(/^[a-z][a-z0-9-]{2,20}[a-z0-9]$/).map((name) => `t-${name}`),
  "pgstack:archiveTimeout": fc.integer({ min: 10, max: 3600 }),
  "pgstack:archiveRecoveryWindowDays": fc.integer({ min: 1, max: 3650 }),
  // 0 is Pulumi.yaml's "unset" (the recovery window applies).
  "pgstack:archiveRetentionFull": fc.integer({ min: 0, max: 100 }),
  "pgstack:archiveRetentionDiff": fc.integer({ min: 1, max: 100 }),
  "pgstack:tls": fc.boolean(),
  "pgstack:protect": fc.boolean(),
  "pgstack:allowedCidrs": fc.array(privateCidr, { maxLength: 3 }),
  // Overrides that keep the retained WAL within half of any volume of 1Gi or more (on 1Gi:
  // max_wal_size 128MB + 16MB + the slot bound 204MB + the 128MB archive-get queue = 476MB of 512MB).
  "pgstack:parameters": fc.subarray(["wal_keep_size=16MB", "work_mem=1MB", "random_page_cost=1.5"]),
});

const docker = fc
  .tuple(common, schedules, fc.option(fc.integer({ min: 20000, max: 40000 }), { nil: undefined }))
  .map(([values, cron, port]) => ({
    ...values,
    ...cron,
    "pgstack:platform": "docker",
    ...(port === undefined ? {} : { "pgstack:publishPort": port }),
  }));

const kubernetes = fc
  .tuple(common, schedules, fc.constantFrom(...REGIONS), fc.boolean(), privateCidr)
  .map(([values, cron, region, irsa, pods]) => ({
    ...values,
    ...cron,
    "aws:region": region,
    "pgstack:platform": "kubernetes",
    // Kubernetes pulls the image by digest only (the deploy workflow pushes it and sets this).
    "pgstack:image": `123456789012.dkr.ecr.${region}.amazonaws.com/pgstack/postgres@sha256:${"ab".repeat(32)}`,
    "pgstack:archiveRegion": region,
    "pgstack:clusterCidr": pods,
    "pgstack:clientNamespaces": ["app"],
    ...(irsa
      ? {
          "pgstack:s3Access": "irsa",
          "pgstack:oidcProviderArn": `arn:aws:iam::123456789012:oidc-provider/oidc.eks.${region}.amazonaws.com/id/ABC`,
          "pgstack:oidcProviderUrl": `oidc.eks.${region}.amazonaws.com/id/ABC`,
        }
      : { "pgstack:s3Access": "accessKey" }),
  }));

describe("valid configs never trip a rule", () => {
  const neighbours = readOtherStacks(ROOT, "none");

  it.each([
    ["docker", docker],
    ["kubernetes", kubernetes],
  ] as const)("a random valid %s stack beside dev and prod is accepted", (_, configs) => {
    fc.assert(
      fc.property(stackName, configs, (stack, values) => {
        const { "aws:region": awsRegion, ...own } = values as Record<string, unknown>;
        try {
          const config = parseStackConfig(own);
          const spec = buildClusterSpec(config, {
            stack,
            context: { awsRegion: awsRegion as string | undefined, otherStacks: neighbours },
          });
          expect(spec.members).toHaveLength(config.replicas + 1);
        } catch (error) {
          // Show the refusal itself, not only that there was one.
          if (error instanceof ConfigError) throw new Error(`refused ${stack}: ${error.message}`);
          throw error;
        }
      }),
      { numRuns: 100 },
    );
  });

  it("the neighbours are the repository's own stacks", () => {
    expect(neighbours.map((other) => other.stack).sort()).toEqual(["dev", "prod"]);
  });
});
