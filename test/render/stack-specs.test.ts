import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";

/** The spec of a committed stack file, as `pulumi up` would build it. */
function stackSpec(stack: "dev" | "prod") {
  const file = parse(readFileSync(join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return buildClusterSpec(parseStackConfig(file.config), { stack });
}

describe.each(["dev", "prod"] as const)("rendered files of the %s stack", (stack) => {
  const spec = stackSpec(stack);

  it("carry a reason on every postgresql.conf value", () => {
    const lines = spec.files["postgresql.conf"].split("\n");
    lines.forEach((line, index) => {
      if (/^[a-z_.]+ = /.test(line)) expect(lines[index - 1], line).toMatch(/^# \S/);
    });
  });

  it("hold no secret option and no trust rule", () => {
    for (const text of Object.values(spec.files)) {
      expect(text).not.toMatch(/^repo1-(cipher-pass|s3-key|s3-key-secret)=/m);
      expect(text).not.toMatch(/^\S+\s+\S+\s+\S+\s+(\S+\s+)?trust$/m);
    }
  });

  it.each(Object.keys(spec.files))("%s matches the snapshot", (name) => {
    expect(spec.files[name as keyof typeof spec.files]).toMatchSnapshot();
  });

  it("commands match the snapshot", () => {
    expect(spec.commands).toMatchSnapshot();
  });
});
