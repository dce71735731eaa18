import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../kubernetes/prod-stack";

// The registry project (registry/index.ts) for stack prod, under mocks.
const registered: { type: string; name: string; inputs: Json }[] = [];
const protectedNames = new Set<string>();
let outputs: Json;

beforeAll(async () => {
  pulumi.runtime.setAllConfig({ "aws:region": "eu-west-1" });
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Json = { ...args.inputs };
        if (args.type === "aws:ecr/repository:Repository") {
          state.repositoryUrl = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${args.inputs.name}`;
          state.arn = `arn:aws:ecr:eu-west-1:123456789012:repository/${args.inputs.name}`;
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "pgstack-registry",
    "prod",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: { getName(): string; getProtect(): boolean }, callback: unknown) => unknown;
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    if (req.getProtect()) protectedNames.add(req.getName());
    return registerResource(req, callback);
  };
  const program = await import("../../registry/index.js");
  outputs = { repositoryUrl: await new Promise((resolve) => program.repositoryUrl.apply(resolve)) };
});

const only = (type: string) => {
  const found = registered.filter((r) => r.type === type);
  expect(found, type).toHaveLength(1);
  return found[0];
};

describe("the stack's image repository (registry project)", () => {
  it("is an ECR repository named for the stack, whose URL the deploy workflow pushes to", () => {
    const repository = only("aws:ecr/repository:Repository");
    expect(repository.inputs.name).toBe("pgstack-prod/postgres");
    expect(repository.inputs.region).toBe("eu-west-1");
    expect(outputs.repositoryUrl).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/pgstack-prod/postgres");
  });

  it("has immutable tags, scans every push, encrypts with KMS and is never force-deleted", () => {
    const { inputs } = only("aws:ecr/repository:Repository");
    expect(inputs.imageTagMutability).toBe("IMMUTABLE");
    expect(inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
    expect(inputs.encryptionConfigurations).toEqual([{ encryptionType: "KMS" }]);
    expect(inputs.forceDelete).toBe(false);
  });

  it("expires interrupted pushes and all but the last 50 images, the catch-all rule last", () => {
    const policy = JSON.parse(String(only("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy));
    expect(policy.rules.map((rule: Json) => [rule.rulePriority, rule.selection.tagStatus])).toEqual([
      [1, "untagged"],
      [2, "any"],
    ]);
    expect(policy.rules[1].selection).toMatchObject({ countType: "imageCountMoreThan", countNumber: 50 });
    for (const rule of policy.rules) expect(rule.action).toEqual({ type: "expire" });
  });

  it("is protected: running pods pull from it", () => {
    expect([...protectedNames].sort()).toEqual([
      "pgstack-prod-image-lifecycle",
      "pgstack-prod-image-repository",
    ]);
  });
});
