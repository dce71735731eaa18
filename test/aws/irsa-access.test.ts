import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, unwrap } from "../kubernetes/prod-stack";
import { expectRepositoryReadOnly, expectRepositoryScoped } from "./iam-scope";

// Pulumi.prod.yaml: s3Access=irsa, so pgBackRest uses web identity through the service accounts.
let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd();
});

const OIDC_URL = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

describe("IRSA access to the repository (keyType web-id)", () => {
  it("the spec carries the OIDC provider from stack config", () => {
    expect(stack.spec.archive.keyType).toBe("web-id");
    expect(stack.spec.archive.irsa).toEqual({
      oidcProviderArn: `arn:aws:iam::123456789012:oidc-provider/${OIDC_URL}`,
      oidcProviderUrl: OIDC_URL,
    });
  });

  it("the role trusts only the stack's two service accounts, through the cluster's OIDC provider, for STS", () => {
    const [role] = stack.ofType("aws:iam/role:Role");
    const trust = JSON.parse(String(unwrap(role.inputs.assumeRolePolicy)));
    expect(trust.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: stack.spec.archive.irsa?.oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${OIDC_URL}:sub`]: [
              "system:serviceaccount:pgstack-prod:pgstack-prod-database",
              "system:serviceaccount:pgstack-prod:pgstack-prod-backup",
            ],
            [`${OIDC_URL}:aud`]: "sts.amazonaws.com",
          },
        },
      },
    ]);
  });

  it("the role's only policy is scoped to the repository prefix and the bucket's key", () => {
    const policies = stack
      .ofType("aws:iam/rolePolicy:RolePolicy")
      .filter((policy) => policy.name === "pgstack-prod-archive-access-role-policy");
    expect(policies).toHaveLength(1);
    expectRepositoryScoped(
      JSON.parse(String(unwrap(policies[0].inputs.policy))),
      "acme-pgstack-prod-wal",
      "pgstack/prod",
      "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    );
    expect(stack.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
  });

  it("the restore drill assumes a role of its own, trusted by its service account alone, that can only list and read", () => {
    const roles = stack.ofType("aws:iam/role:Role");
    expect(roles.map((role) => role.name)).toEqual([
      "pgstack-prod-archive-access-role",
      "pgstack-prod-archive-access-drill-role",
    ]);
    const drillRole = roles[1];
    expect((unwrap(drillRole.inputs.tags) as Json)["pgstack:access"]).toBe("restore-drill");
    const trust = JSON.parse(String(unwrap(drillRole.inputs.assumeRolePolicy)));
    expect(trust.Statement[0].Condition.StringEquals[`${OIDC_URL}:sub`]).toEqual([
      "system:serviceaccount:pgstack-prod:pgstack-prod-restore-drill",
    ]);
    const policies = stack
      .ofType("aws:iam/rolePolicy:RolePolicy")
      .filter((policy) => policy.name === "pgstack-prod-archive-access-drill-role-policy");
    expect(policies).toHaveLength(1);
    expectRepositoryReadOnly(
      JSON.parse(String(unwrap(policies[0].inputs.policy))),
      "acme-pgstack-prod-wal",
      "pgstack/prod",
      "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    );
    // The writer's role never admits the drill's service account.
    const writerTrust = JSON.parse(String(unwrap(roles[0].inputs.assumeRolePolicy)));
    expect(writerTrust.Statement[0].Condition.StringEquals[`${OIDC_URL}:sub`]).not.toContain(
      "system:serviceaccount:pgstack-prod:pgstack-prod-restore-drill",
    );
  });

  it("creates no IAM user and no static key", () => {
    expect(stack.ofType("aws:iam/user:User")).toEqual([]);
    expect(stack.ofType("aws:iam/accessKey:AccessKey")).toEqual([]);
  });

  it("the database's and the runner's service accounts carry the role's ARN, the drill's its own; none mounts an API token", () => {
    const accounts = stack
      .ofType("kubernetes:core/v1:ServiceAccount")
      .map((account) => unwrap(account.inputs) as Json);
    expect(accounts.map((account) => account.metadata.name).sort()).toEqual([
      "pgstack-prod-backup",
      "pgstack-prod-database",
      "pgstack-prod-restore-drill",
    ]);
    for (const account of accounts) {
      const role =
        account.metadata.name === "pgstack-prod-restore-drill"
          ? "pgstack-prod-archive-access-drill-role"
          : "pgstack-prod-archive-access-role";
      expect(account.metadata.annotations).toEqual({
        "eks.amazonaws.com/role-arn": `arn:aws:iam::123456789012:role/${role}`,
      });
      expect(account.automountServiceAccountToken).toBe(false);
    }
  });

  it("the pgBackRest secret include holds the cipher pass only (web identity needs no keys)", () => {
    const secret = unwrap(stack.named("kubernetes:core/v1:Secret", "pgstack-prod-pgbackrest").inputs) as Json;
    expect(secret.stringData["pgstack-secrets.conf"]).toBe(
      "[global]\nrepo1-cipher-pass=CipherPass0b7e4a9d2c6f1e8a3b5d\n",
    );
  });
});
