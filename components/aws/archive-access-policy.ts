import type { ArchiveSpec } from "../spec/cluster-spec";

/** Audience of the service account tokens IRSA exchanges with STS. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** The repository's key prefix in the bucket: spec.archive.path without its leading slash. */
export function repositoryPrefix(archive: ArchiveSpec): string {
  return archive.path.replace(/^\/+/, "");
}

/** Tag naming what an IAM identity of the stack is for; the restore drill's is read-only (policy aws-drill-read-only). */
export const ACCESS_PURPOSE_TAG = "pgstack:access";
export const DRILL_ACCESS_PURPOSE = "restore-drill";

/** S3 actions that change a repository: none may reach the restore drill's identity. */
export const REPOSITORY_WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject"] as const;

/**
 * An identity's rights on the repository, and nothing more: list the repository's prefix (and
 * only it), read its objects and use the bucket's KMS key for them; with write, also write and
 * delete objects under it. No bucket-wide or account-wide rights.
 */
function repositoryPolicy(archive: ArchiveSpec, bucketArn: string, kmsKeyArn: string, write: boolean) {
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
        Sid: write ? "ReadWriteRepository" : "ReadRepository",
        Effect: "Allow",
        Action: ["s3:GetObject", ...(write ? REPOSITORY_WRITE_ACTIONS : [])],
        Resource: [`${bucketArn}/${prefix}/*`],
      },
      {
        Sid: write ? "UseBucketKey" : "DecryptWithBucketKey",
        Effect: "Allow",
        Action: ["kms:Decrypt", ...(write ? ["kms:GenerateDataKey"] : [])],
        Resource: [kmsKeyArn],
      },
    ],
  };
}

/** What pgBackRest needs for archive-push/get, backup and expire: read, write and delete. */
export function archiveAccessPolicy(archive: ArchiveSpec, bucketArn: string, kmsKeyArn: string) {
  return repositoryPolicy(archive, bucketArn, kmsKeyArn, true);
}

/**
 * The restore drill's access: list and read, decrypt. No PutObject, no DeleteObject, no
 * GenerateDataKey: the drill restores from the repository and can never write, replace or
 * delete a backup or a WAL segment, nor archive into it.
 */
export function archiveReadAccessPolicy(archive: ArchiveSpec, bucketArn: string, kmsKeyArn: string) {
  return repositoryPolicy(archive, bucketArn, kmsKeyArn, false);
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
