import { expect } from "vitest";

/**
 * Asserts an IAM policy document grants the restore drill's access and nothing more: list the
 * repository prefix, read its objects, decrypt with the bucket's key. No PutObject, no
 * DeleteObject, no GenerateDataKey: it cannot write into the repository.
 */
export function expectRepositoryReadOnly(
  document: { Statement: Record<string, unknown>[] },
  bucket: string,
  prefix: string,
  kmsKeyArn: string,
) {
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const actions = document.Statement.flatMap((statement) => statement.Action as string[]);
  expect(actions.filter((action) => /Put|Delete|\*|GenerateDataKey|Abort|Restore/.test(action))).toEqual([]);
  expect(document.Statement).toEqual([
    {
      Sid: "ListRepository",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: [bucketArn],
      Condition: { StringLike: { "s3:prefix": [`${prefix}/*`] } },
    },
    {
      Sid: "ReadRepository",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [`${bucketArn}/${prefix}/*`],
    },
    { Sid: "DecryptWithBucketKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [kmsKeyArn] },
  ]);
}

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
