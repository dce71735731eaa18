import { describe, expect, it } from "vitest";
import { stackIsolation } from "../../policies/rules/isolation";
import { K8S } from "../../policies/rules/pod-templates";
import { carriesStackName } from "../../policies/rules/policy-kit";
import { devCluster, devSpec } from "./cluster-fixtures";
import { resource, verdictOf, violations } from "./harness";

const prodObject = (
  type: string,
  name: string,
  metadata: Record<string, unknown>,
  spec: Record<string, unknown> = {},
) => resource(type, name, { metadata: { name, ...metadata }, spec });

describe("stack-isolation", () => {
  it("names carry the stack as a token, not as a substring", () => {
    expect(carriesStackName("pgstack-dev-primary-data", "dev")).toBe(true);
    expect(carriesStackName("/pgstack/dev", "dev")).toBe(true);
    expect(carriesStackName("device-data", "dev")).toBe(false);
    expect(carriesStackName("pgstack-prod", "dev")).toBe(false);
  });
  it("passes the dev cluster's prefix and the prod namespace's objects", async () => {
    expect(await violations(stackIsolation, devCluster())).toEqual([]);
    const prod = [
      prodObject(K8S.namespace, "pgstack-prod", {}),
      prodObject(
        K8S.statefulSet,
        "pgstack-prod-primary",
        { namespace: "pgstack-prod" },
        { volumeClaimTemplates: [{ metadata: { name: "data" } }] },
      ),
      prodObject(K8S.storageClass, "gp3-retain", {}),
    ];
    expect(await violations(stackIsolation, prod)).toEqual([]);
  });
  it("fails a repository prefix another stack could share", async () => {
    const spec = devSpec({ archive: { ...devSpec().archive, path: "/pgstack" } });
    expect((await violations(stackIsolation, devCluster({ spec })))[0]).toMatch(
      /repository path \/pgstack in bucket pgstack-dev does not carry the stack name "dev".*set pgstack:archivePrefix to \/pgstack\/dev/,
    );
  });
  it("fails a shared namespace, an object in the default namespace and volumes named without the stack", async () => {
    const messages = await violations(stackIsolation, [
      prodObject(K8S.namespace, "databases", {}),
      prodObject(K8S.service, "pgstack-prod-primary", {}),
      prodObject(
        K8S.statefulSet,
        "postgres",
        { namespace: "pgstack-prod" },
        { volumeClaimTemplates: [{ metadata: { name: "data" } }] },
      ),
    ]);
    expect(messages).toEqual([
      expect.stringMatching(/namespace databases does not carry the stack name "prod"/),
      expect.stringMatching(/Service pgstack-prod-primary sets no metadata.namespace/),
      expect.stringMatching(/StatefulSet postgres names data volumes without the stack name "prod"/),
    ]);
  });
  it("does not apply to an empty stack", async () => {
    expect((await verdictOf(stackIsolation, [])).status).toBe("not-applicable");
  });
});
