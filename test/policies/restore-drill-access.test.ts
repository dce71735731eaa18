import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzedResource } from "../../scripts/plan/evaluate-policies";
import { captureStack, evaluateStack, messagesOf, mutate, toAnalyzed } from "./program-run";

let resources: AnalyzedResource[];

beforeAll(async () => {
  // captureStack installs Pulumi's mocks before it imports the program.
  resources = toAnalyzed(await captureStack("prod"));
});

const POLICY = "aws-restore-drill-read-only";
const DRILL_SUBJECT = "system:serviceaccount:pgstack-prod:pgstack-prod-restore-drill";

describe("policy aws-restore-drill-read-only on the real prod program", () => {
  it("passes: the drill's own role may only list and read", async () => {
    const report = await evaluateStack(resources, "prod");
    expect(report.verdicts.find((v) => v.policy === POLICY)?.status).toBe("pass");
  });

  it("blocks (mandatory) a drill role policy that grants PutObject or DeleteObject", async () => {
    const writing = mutate(
      resources,
      (r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.endsWith("-drill-role-policy"),
      (props) => {
        const document = JSON.parse(props.policy);
        document.Statement[1].Action = ["s3:GetObject", "s3:PutObject", "s3:Delete*"];
        props.policy = JSON.stringify(document);
      },
    );
    const report = await evaluateStack(writing, "prod");
    expect(messagesOf(report, POLICY)).toEqual([
      expect.stringMatching(
        /statement ReadRepository lets the restore drill's .*drill-role s3:PutObject, s3:Delete\*/,
      ),
    ]);
    expect(report.mandatoryFailures).toContain(POLICY);
  });

  it("blocks (mandatory) the drill's service account admitted by the runner's read-write role", async () => {
    const shared = mutate(
      resources,
      (r) => r.type === "aws:iam/role:Role" && r.name === "pgstack-prod-archive-access-role",
      (props) => {
        const trust = JSON.parse(props.assumeRolePolicy);
        const condition = trust.Statement[0].Condition.StringEquals;
        const key = Object.keys(condition).find((name) => name.endsWith(":sub")) as string;
        condition[key] = [...condition[key], DRILL_SUBJECT];
        props.assumeRolePolicy = JSON.stringify(trust);
      },
    );
    const report = await evaluateStack(shared, "prod");
    expect(messagesOf(report, POLICY)).toContainEqual(
      expect.stringMatching(
        /statement ReadWriteRepository lets the restore drill's pgstack-prod-archive-access-role s3:PutObject, s3:DeleteObject/,
      ),
    );
    expect(report.mandatoryFailures).toContain(POLICY);
  });
});
