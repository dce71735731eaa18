import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { BUG_REPORT, DEBUG_VARIABLE, describeFailure } from "../../components/config/failure-report";
import { withoutStackTrace } from "../../components/config/pulumi-config";
import { planStack, projectWith, STACK_FRAME } from "./threat-harness";

/** A program bug as pgstack could raise one: an Error thrown from this project's code. */
function bug(): Error {
  try {
    JSON.parse("{ not json");
  } catch (error) {
    return error as Error;
  }
  throw new Error("unreachable");
}

const refusal = new ConfigError([
  {
    key: "pgstack:cpus",
    value: "0",
    message: "expected a whole number of CPUs, 1 to 256",
    fix: "pulumi config set pgstack:cpus 4",
  },
]);

describe("how a failure reaches the user", () => {
  it("shows a config error as its keys, values and fixes, never a trace", () => {
    expect(describeFailure(refusal, true)).toBe(refusal.message);
  });

  it("shows a program bug as one line: what failed, where, that it is a bug and where to report it", () => {
    const line = describeFailure(bug(), false);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(/^pgstack failed: SyntaxError: /);
    expect(line).toMatch(/\(at test\/config\/failure-report\.test\.ts:\d+\)/);
    expect(line).toContain(BUG_REPORT);
    expect(line).toContain(`run with ${DEBUG_VARIABLE}=1 for the stack trace`);
    expect(line).not.toMatch(STACK_FRAME);
  });

  it("adds the stack trace under PGSTACK_DEBUG=1", () => {
    const report = describeFailure(bug(), true);
    expect(report.split("\n")[0]).toContain(BUG_REPORT);
    expect(report).toMatch(STACK_FRAME);
  });

  it("turns anything the program throws into a RunError, which the engine prints without a trace", () => {
    const run = (thrown: unknown) => {
      try {
        withoutStackTrace(() => {
          throw thrown;
        });
      } catch (error) {
        return error as Error & { cause?: unknown };
      }
      throw new Error("nothing was thrown");
    };
    const config = run(refusal);
    expect(pulumi.RunError.isInstance(config)).toBe(true);
    expect(config.message).toBe(refusal.message);
    expect(config.cause).toBe(refusal);
    const programBug = run(bug());
    expect(pulumi.RunError.isInstance(programBug)).toBe(true);
    expect(programBug.message).toContain(BUG_REPORT);
    expect(programBug.message).not.toMatch(STACK_FRAME);
  });
});

describe("the plan's own refusals", () => {
  const projects: string[] = [];
  afterAll(() => {
    for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  });

  it("names the stacks there are when the stack has no file", async () => {
    const project = projectWith({});
    projects.push(project);
    const run = await planStack(project, "staging");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Pulumi.staging.yaml does not exist; the stacks are dev, prod");
    expect(run.stderr).toContain("pulumi stack init staging");
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it("points at the YAML when the stack file does not parse", async () => {
    const project = projectWith({});
    projects.push(project);
    writeFileSync(join(project, "Pulumi.dev.yaml"), "config:\n  pgstack:cpus: 2\n  pgstack:cpus: 4\n");
    const run = await planStack(project, "dev");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot read the config of stack dev: Map keys must be unique at line 3/);
    expect(run.stderr).toContain("fix: correct the YAML of Pulumi.dev.yaml");
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });
});
