import { beforeAll, describe, expect, it } from "vitest";
import {
  deployProd,
  type Json,
  MOCK_ACCESS_KEY,
  MOCK_DRILL_ACCESS_KEY,
  type ProdStack,
  stringsIn,
  unwrap,
} from "../kubernetes/prod-stack";
import { expectRepositoryReadOnly, expectRepositoryScoped } from "./iam-scope";

// s3Access=accessKey: an IAM user with a key, handed to pgBackRest as a secret file.
let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd({ s3Access: "accessKey" });
});

describe("access-key access to the repository (keyType shared)", () => {
  it("creates an IAM user whose only policy is scoped to the repository, and no role", () => {
    expect(stack.spec.archive.keyType).toBe("shared");
    expect(stack.ofType("aws:iam/user:User").map((user) => user.name)).toEqual([
      "pgstack-prod-archive-access-user",
      "pgstack-prod-archive-access-drill-user",
    ]);
    expect(stack.ofType("aws:iam/role:Role")).toEqual([]);
    const policies = stack.ofType("aws:iam/userPolicy:UserPolicy");
    expect(policies.map((policy) => policy.name)).toEqual([
      "pgstack-prod-archive-access-user-policy",
      "pgstack-prod-archive-access-drill-user-policy",
    ]);
    const kms = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    expectRepositoryScoped(
      JSON.parse(String(unwrap(policies[0].inputs.policy))),
      "acme-pgstack-prod-wal",
      "pgstack/prod",
      kms,
    );
    // The restore drill's own user: list and read only.
    expectRepositoryReadOnly(
      JSON.parse(String(unwrap(policies[1].inputs.policy))),
      "acme-pgstack-prod-wal",
      "pgstack/prod",
      kms,
    );
  });

  it("puts the drill's read-only key, and only it, into the drill's include Secret", () => {
    const secret = stack.named("kubernetes:core/v1:Secret", "pgstack-prod-pgbackrest-drill");
    const include = stringsIn(secret.inputs).find(
      (found) => found.path === "stringData.pgstack-secrets.conf",
    );
    expect(include?.secret).toBe(true);
    expect(include?.text).toBe(
      [
        "[global]",
        "repo1-cipher-pass=CipherPass0b7e4a9d2c6f1e8a3b5d",
        `repo1-s3-key=${MOCK_DRILL_ACCESS_KEY.id}`,
        `repo1-s3-key-secret=${MOCK_DRILL_ACCESS_KEY.secret}`,
        "",
      ].join("\n"),
    );
  });

  it("puts the key into the pgBackRest include Secret, as a secret", () => {
    const secret = stack.named("kubernetes:core/v1:Secret", "pgstack-prod-pgbackrest");
    const include = stringsIn(secret.inputs).find(
      (found) => found.path === "stringData.pgstack-secrets.conf",
    );
    expect(include?.secret).toBe(true);
    expect(include?.text).toBe(
      [
        "[global]",
        "repo1-cipher-pass=CipherPass0b7e4a9d2c6f1e8a3b5d",
        `repo1-s3-key=${MOCK_ACCESS_KEY.id}`,
        `repo1-s3-key-secret=${MOCK_ACCESS_KEY.secret}`,
        "",
      ].join("\n"),
    );
  });

  it("the key appears nowhere else and never unwrapped", () => {
    for (const resource of stack.resources) {
      for (const found of stringsIn(resource.inputs)) {
        if (!found.text.includes(MOCK_ACCESS_KEY.secret) && !found.text.includes(MOCK_ACCESS_KEY.id))
          continue;
        expect({ type: resource.type, path: found.path, secret: found.secret }).toEqual({
          type: "kubernetes:core/v1:Secret",
          path: "stringData.pgstack-secrets.conf",
          secret: true,
        });
      }
    }
  });

  it("service accounts carry no IRSA annotation", () => {
    for (const account of stack.ofType("kubernetes:core/v1:ServiceAccount")) {
      expect((unwrap(account.inputs) as Json).metadata.annotations).toBeUndefined();
    }
  });
});
