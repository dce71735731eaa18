import type { ArchiveSpec } from "../spec/cluster-spec";

/** Audience of the service account tokens IRSA exchanges with STS. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** The repository's key prefix in the bucket: spec.archive.path without its leading slash. */
export function repositoryPrefix(archive: ArchiveSpec): string {
  return archive.path.replace(/^\/+/, "");
}

/**
 * What pgBackRest needs on the repository and nothing more: list the repository's prefix (and
 * only it), read, write and delete objects under it (archive-push/get, backup, expire), and use
 * the bucket's KMS key for those objects. No bucket-wide or account-wide rights.
 */
export function archiveAccessPolicy(archive: ArchiveSpec, bucketArn: string, kmsKeyArn: string) {
  const prefix = repositoryPrefix(archive);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListRepository",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [bucketArn],
        // pgBackRest lists directories as "<path>/" prefixes: nothing above or beside the repository.
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
    ],
  };
}

/** Tag naming what an IAM identity of the stack is for; the restore drill's is read-only (policy aws-drill-read-only). */
export const ACCESS_PURPOSE_TAG = "pgstack:access";
export const DRILL_ACCESS_PURPOSE = "restore-drill";

/** S3 actions that change a repository: none may reach the restore drill's identity. */
export const REPOSITORY_WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject"] as const;

/**
 * The restore drill's access: list the repository's prefix and read its objects, decrypt with the
 * bucket's key. No PutObject, no DeleteObject, no GenerateDataKey: the drill restores from the
 * repository and can never write, replace or delete a backup or a WAL segment, nor archive into it.
 */
export function archiveReadAccessPolicy(archive: ArchiveSpec, bucketArn: string, kmsKeyArn: string) {
  const prefix = repositoryPrefix(archive);
  return {
    Version: "2012-10-17",
    Statement: [
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
      {
        Sid: "DecryptWithBucketKey",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [kmsKeyArn],
      },
    ],
  };
}

/**
 * Trust policy of the IRSA role: only tokens issued by the cluster's OIDC provider, for exactly
 * the given service accounts (`system:serviceaccount:<namespace>:<name>`), meant for STS.
 */
export function serviceAccountTrustPolicy(
  irsa: NonNullable<ArchiveSpec["irsa"]>,
  namespace: string,
  serviceAccounts: readonly string[],
) {
  const issuer = irsa.oidcProviderUrl.replace(/^https:\/\//, "");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: irsa.oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuer}:sub`]: serviceAccounts.map((name) => `system:serviceaccount:${namespace}:${name}`),
            [`${issuer}:aud`]: STS_AUDIENCE,
          },
        },
      },
    ],
  };
}
