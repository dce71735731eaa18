import { beforeAll, describe, expect, it } from "vitest";
import { pgstackPolicies } from "../../policies/rules/catalog";
import {
  type AnalyzedResource,
  evaluatePolicies,
  type PackConfig,
} from "../../scripts/plan/evaluate-policies";
import { deployProd, type ProdStack, unwrap } from "./prod-stack";

// The pack the prod stack is deployed under (policies/config/prod.json: everything mandatory),
// over what the prod platform really declares.
let stack: ProdStack;
let analyzed: AnalyzedResource[];
beforeAll(async () => {
  stack = await deployProd();
  const urnOf = (type: string, name: string, parent: string) => {
    const parentType = parent ? parent.split("::")[2] : "";
    return `urn:pulumi:prod::pgstack::${parentType ? `${parentType}$` : ""}${type}::${name}`;
  };
  analyzed = stack.resources.map((resource) => ({
    urn: urnOf(resource.type, resource.name, resource.parent),
    type: resource.type,
    name: resource.name,
    // A component's props are its registered outputs: the cluster registers its spec.
    props:
      resource.type === "pgstack:kubernetes:PostgresCluster"
        ? { spec: stack.spec }
        : (unwrap(resource.inputs) as Record<string, unknown>),
    protect: resource.protect,
    parent: resource.parent || undefined,
    dependencies: resource.dependencies,
    propertyDependencies: {},
  }));
});

describe("policy pack over the prod platform", () => {
  it("passes every mandatory policy of policies/config/prod.json", async () => {
    const config = (await import("../../policies/config/prod.json")).default as PackConfig;
    const report = await evaluatePolicies(pgstackPolicies, analyzed, config, "mandatory");
    const failures = report.verdicts
      .filter((verdict) => verdict.status === "fail")
      .map((verdict) => `${verdict.policy}: ${verdict.violations.map((v) => v.message).join(" | ")}`);
    expect(failures).toEqual([]);
    // The Kubernetes and AWS rules applied (they are not vacuously "not applicable").
    const applied = report.verdicts
      .filter((verdict) => verdict.status === "pass")
      .map((verdict) => verdict.policy);
    expect(applied).toEqual(
      expect.arrayContaining([
        "k8s-restricted-pod-security",
        "k8s-volume-retention",
        "k8s-network-policy",
        "k8s-no-plaintext-secrets",
        "aws-bucket-encryption",
        "aws-bucket-tls-only",
        "aws-iam-scoped-to-archive",
      ]),
    );
  });
});
