import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { readStackFiles } from "../../components/config/stack-files";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import { PROJECT_DIR } from "./harness/captured-stack";

/**
 * Proof 9: a config that would break durability never reaches a server. The proving ground runs
 * only what buildClusterSpec accepts, and these are refused there, naming key, value and fix.
 */
function buildWith(stack: string, parameters: string[]) {
  const { values, secretKeys } = readStackFiles(PROJECT_DIR, stack);
  const config = parseStackConfig({ ...values, "pgstack:parameters": parameters }, secretKeys);
  return buildClusterSpec(config, { stack });
}

function refusal(build: () => unknown): ConfigError {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("the config was accepted");
}

describe("proof 9: configs that break durability are refused before anything runs", () => {
  it("refuses fsync=off on the dev stack, naming the override and how to fix it", () => {
    const error = refusal(() => buildWith("dev", ["fsync=off"]));
    const problem = error.problems.find((p) => p.key.startsWith("pgstack:parameters"));
    expect(problem, error.message).toBeDefined();
    expect(problem?.value).toContain("fsync");
    expect(problem?.message).toMatch(/corrupt/);
    expect(problem?.fix.length).toBeGreaterThan(0);
  });

  it("refuses a shared_buffers that does not fit the prod stack's 8Gi memory limit", () => {
    const error = refusal(() => buildWith("prod", ["shared_buffers=16GB"]));
    expect(
      error.problems.some((p) => p.key.startsWith("pgstack:parameters") && /shared_buffers/.test(p.value)),
    ).toBe(true);
  });

  it("builds the same stacks unchanged without the override (the refusal is the override's)", () => {
    expect(() => buildWith("dev", [])).not.toThrow();
    expect(() => buildWith("prod", [])).not.toThrow();
  });
});
