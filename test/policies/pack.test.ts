import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PACK_ENFORCEMENT, pgstackPolicies } from "../../policies/rules/catalog";
import { enforcementOf, type PackConfig } from "../../scripts/plan/evaluate-policies";

const root = join(__dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const packConfig = (stack: string) => JSON.parse(read(`policies/config/${stack}.json`)) as PackConfig;

describe("the policy pack as Pulumi loads it", () => {
  it("is a nodejs pack whose entry only constructs the PolicyPack from the catalog", () => {
    expect(parse(read("policies/PulumiPolicy.yaml")).runtime).toBe("nodejs");
    const entry = read("policies/index.ts");
    expect(entry.match(/new PolicyPack\(/g)).toHaveLength(1);
    expect(entry).toMatch(/policies: \[\.\.\.pgstackPolicies\]/);
  });
  it("has its own name and version and the root's versions of its dependencies", () => {
    const pack = JSON.parse(read("policies/package.json"));
    const rootPackage = JSON.parse(read("package.json"));
    expect(pack.name).not.toBe(rootPackage.name);
    expect(pack.version).toMatch(/^\d+\.\d+\.\d+$/);
    const rootVersions = { ...rootPackage.dependencies, ...rootPackage.devDependencies };
    for (const [name, version] of Object.entries({ ...pack.dependencies, ...pack.devDependencies })) {
      expect(version, name).toBe(rootVersions[name]);
    }
  });
  it("names each policy once, in kebab case, with a description and remediation steps", () => {
    const names = pgstackPolicies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const policy of pgstackPolicies) {
      expect(policy.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(policy.description.length).toBeGreaterThan(40);
      expect(policy.remediationSteps?.length ?? 0).toBeGreaterThan(20);
    }
  });
});

describe("enforcement per stack (policies/config/<stack>.json)", () => {
  const names = new Set(pgstackPolicies.map((p) => p.name));
  it.each(["dev", "prod"])(
    "%s.json configures only policies the pack has, with valid properties",
    (stack) => {
      const config = packConfig(stack);
      for (const [key, entry] of Object.entries(config)) {
        if (key !== "all") expect(names.has(key), key).toBe(true);
        const policy = pgstackPolicies.find((p) => p.name === key);
        if (policy && typeof entry === "object") {
          const allowed = Object.keys(policy.configSchema?.properties ?? {});
          for (const property of Object.keys(entry).filter((k) => k !== "enforcementLevel")) {
            expect(allowed, `${key}.${property}`).toContain(property);
          }
        }
      }
    },
  );
  it("dev is advisory and prod mandatory for every policy", () => {
    for (const policy of pgstackPolicies) {
      expect(enforcementOf(policy, packConfig("dev"), PACK_ENFORCEMENT), policy.name).toBe("advisory");
      expect(enforcementOf(policy, packConfig("prod"), PACK_ENFORCEMENT), policy.name).toBe("mandatory");
    }
  });
  it("without a config file every policy is mandatory (fail closed)", () => {
    for (const policy of pgstackPolicies)
      expect(enforcementOf(policy, {}, PACK_ENFORCEMENT)).toBe("mandatory");
  });
  it("a policy's own entry wins over all, as the CLI resolves it", () => {
    const [first, second] = pgstackPolicies;
    const config: PackConfig = { all: "advisory", [first.name]: "disabled" };
    expect(enforcementOf(first, config, PACK_ENFORCEMENT)).toBe("disabled");
    expect(enforcementOf(second, config, PACK_ENFORCEMENT)).toBe("advisory");
  });
});
