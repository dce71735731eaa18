import { beforeAll, describe, expect, it } from "vitest";
import { dockerCpus, goDuration } from "../../components/docker/provider-forms";
import { CONTAINER, type Deployment, deployDockerCluster, ofType } from "./mock-deployment";

/**
 * What the Docker provider stores after it reads a container back from the engine
 * (kreuzwerker/terraform-provider-docker, internal/provider/resource_docker_container_funcs.go
 * and helpers.go). An input in any other form differs from state on every `pulumi up`; `cpus` is
 * ForceNew, so the container would be replaced each time.
 */
const READ_BACK_RULES = [
  {
    input: "cpus",
    rule: "nanoInt64ToDecimalString(NanoCPUs): 9 decimals; '1.0' style when those are the only zeros, else trailing zeros trimmed",
    examples: [
      [1, "1.0"],
      [2, "2.0"],
      [0.5, "0.5"],
      [1.5, "1.5"],
      [0.25, "0.25"],
      [10, "10."],
    ],
    canonical: (value: string) => dockerCpus(Number(value)),
  },
  {
    input: "healthcheck interval, timeout, startPeriod, startInterval",
    rule: "time.Duration.String()",
    examples: [
      [5, "5s"],
      [10, "10s"],
      [60, "1m0s"],
      [120, "2m0s"],
      [30 * 60, "30m0s"],
      [3600, "1h0m0s"],
    ],
    canonical: (value: string) => goDuration(parseDuration(value)),
  },
  {
    input: "memory, memorySwap, memoryReservation, shmSize",
    rule: "bytes / 1024 / 1024 as an integer (MB)",
    examples: [
      [512, 512],
      [1024, 1024],
    ],
    canonical: (value: number) => Math.trunc(value),
  },
] as const;

/** Seconds of a duration written as Docker/Go accepts it ("90s", "2m0s", "30m", "1h0m0s"). */
function parseDuration(text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === "") throw new Error(`not a duration: ${text}`);
  const [, h = "0", m = "0", s = "0"] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

describe("the provider's read-back rules", () => {
  it.each(READ_BACK_RULES.map((rule) => [rule.input, rule] as const))("%s: %s", (_input, rule) => {
    for (const [written, readBack] of rule.examples) {
      if (rule.input === "cpus") expect(dockerCpus(written as number)).toBe(readBack);
      else if (rule.input.startsWith("healthcheck")) expect(goDuration(written as number)).toBe(readBack);
      else expect(Number.isInteger(readBack)).toBe(true);
    }
  });
});

describe("every Docker container input is written in the form the provider reads back", () => {
  const stacks: Record<string, Deployment> = {};
  beforeAll(async () => {
    stacks.dev = await deployDockerCluster("dev");
    // One CPU with a published port; ten CPUs, whose read-back form is "10." (zeros counted in the whole string).
    stacks.small = await deployDockerCluster("small", {
      "pgstack:cpus": "1",
      "pgstack:publishPort": "15432",
    });
    stacks.large = await deployDockerCluster("large", {
      "pgstack:cpus": "10",
      "pgstack:memoryLimit": "16Gi",
    });
  });

  it("cpus", () => {
    const [cpus] = READ_BACK_RULES;
    for (const deployment of Object.values(stacks)) {
      for (const container of ofType(deployment, CONTAINER)) {
        const value = container.inputs.cpus;
        if (value === undefined) continue;
        expect(value, `${container.name} cpus`).toBe(cpus.canonical(String(value)));
      }
    }
  });

  it("healthcheck durations", () => {
    const [, durations] = READ_BACK_RULES;
    for (const deployment of Object.values(stacks)) {
      for (const container of ofType(deployment, CONTAINER)) {
        const healthcheck = container.inputs.healthcheck as Record<string, unknown> | undefined;
        if (healthcheck === undefined) continue;
        for (const key of ["interval", "timeout", "startPeriod", "startInterval"]) {
          const value = healthcheck[key];
          if (value === undefined) continue;
          expect(value, `${container.name} healthcheck.${key}`).toBe(durations.canonical(String(value)));
        }
      }
    }
  });

  it("memory sizes in whole MB", () => {
    const [, , memory] = READ_BACK_RULES;
    for (const deployment of Object.values(stacks)) {
      for (const container of ofType(deployment, CONTAINER)) {
        for (const key of ["memory", "memorySwap", "memoryReservation", "shmSize"]) {
          const value = container.inputs[key];
          if (value === undefined) continue;
          expect(value, `${container.name} ${key}`).toBe(memory.canonical(Number(value)));
        }
      }
    }
  });
});
