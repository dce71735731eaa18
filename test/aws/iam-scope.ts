import { expect } from "vitest";

/**
 * Asserts an IAM policy document grants exactly pgBackRest's repository access: list only the
 * repository prefix, object actions only under it, the KMS key only; no wildcard action, no
 * Resource "*".
 */
export function expectRepositoryScoped(
  document: { Statement: Record<string, unknown>[] },
  bucket: string,
  prefix: string,
  kmsKeyArn: string,
) {
  const bucketArn = `arn:aws:s3:::${bucket}`;
  for (const statement of document.Statement) {
    expect(statement.Effect).toBe("Allow");
    const actions = statement.Action as string[];
    const resources = statement.Resource as string[];
    expect(
      actions.filter((action) => action.includes("*")),
      "no wildcard actions",
    ).toEqual([]);
    expect(resources, "no Resource *").not.toContain("*");
  }
  expect(document.Statement).toEqual([
    {
      Sid: "ListRepository",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [bucketArn],
      Condition: { StringLike: { "s3:prefix": [`${prefix}/*`] } },
    },
    {
      Sid: "ReadWriteRepository",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: [`${bucketArn}/${prefix}/*`],
    },
    {
      Sid: "UseBucketKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: [kmsKeyArn],
    },
  ]);
}
