import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, unwrap } from "../kubernetes/prod-stack";

// pgstack:kmsKeyArn names an existing key: none is created, and everything uses the given one.
const GIVEN_KEY = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555";

let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd({ kmsKeyArn: GIVEN_KEY });
});

describe("a KMS key given in stack config", () => {
  it("reaches the spec and creates no key", () => {
    expect(stack.spec.archive.kmsKeyArn).toBe(GIVEN_KEY);
    expect(stack.ofType("aws:kms/key:Key")).toEqual([]);
  });

  it("encrypts the bucket and is the only key the IAM policy may use", () => {
    const encryption = unwrap(
      stack.ofType(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      )[0].inputs,
    ) as Json;
    expect(encryption.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId).toBe(GIVEN_KEY);
    const policy = JSON.parse(String(unwrap(stack.ofType("aws:iam/rolePolicy:RolePolicy")[0].inputs.policy)));
    const kms = policy.Statement.filter((statement: { Action: string[] }) =>
      statement.Action.some((a) => a.startsWith("kms:")),
    );
    expect(kms.map((statement: { Resource: string[] }) => statement.Resource)).toEqual([[GIVEN_KEY]]);
  });
});
