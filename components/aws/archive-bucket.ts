import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ArchiveSpec } from "../spec/cluster-spec";

export interface ArchiveBucketArgs {
  readonly archive: ArchiveSpec;
  /** Protect the bucket, its settings and its key from `pulumi destroy` (spec.protect). */
  readonly protect: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Days a replaced or deleted object version is kept. pgBackRest's `expire` deletes what its
 * retention no longer needs; versioning keeps it this long, so a wrong `expire`, a stolen key
 * deleting the repository or a bad manual cleanup can be undone within the window.
 */
export const NONCURRENT_VERSION_DAYS = 30;
/** Days after which a multipart upload that never completed (a killed push) is cleaned up. */
export const INCOMPLETE_UPLOAD_DAYS = 7;

/**
 * The S3 bucket holding the pgBackRest repository: versioned, encrypted with KMS (a key with
 * rotation is created unless spec.archive.kmsKeyArn names one), closed to the public, TLS only.
 * With spec.protect every piece is protected and retained on delete: `pulumi destroy` can never
 * take the backups with it.
 */
export class ArchiveBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: ArchiveBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:aws:ArchiveBucket", name, {}, opts);
    const { archive, tags } = args;
    const keep: pulumi.CustomResourceOptions = {
      parent: this,
      protect: args.protect,
      retainOnDelete: args.protect,
    };
    const region = archive.region;

    const kmsKeyArn = archive.kmsKeyArn
      ? pulumi.output(archive.kmsKeyArn)
      : new aws.kms.Key(
          `${name}-key`,
          {
            region,
            description: `pgBackRest repository s3://${archive.bucket}${archive.path}`,
            enableKeyRotation: true,
            // The longest wait AWS allows: a scheduled deletion of the key can still be cancelled.
            deletionWindowInDays: 30,
            tags: { ...tags },
          },
          keep,
        ).arn;

    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: archive.bucket, region, forceDestroy: false, tags: { ...tags } },
      keep,
    );

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        region,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      keep,
    );

    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, region, versioningConfiguration: { status: "Enabled" } },
      keep,
    );

    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        region,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
            // One data key per bucket instead of a KMS call per WAL segment.
            bucketKeyEnabled: true,
          },
        ],
      },
      keep,
    );

    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        region,
        policy: bucket.arn.apply((arn) => JSON.stringify(denyInsecureTransport(arn))),
      },
      // After the public access block: a policy is checked against it when it is put.
      { ...keep, dependsOn: [publicAccess] },
    );

    // Lifecycle only for what pgBackRest does not manage itself. Current objects never expire
    // here: pgBackRest's retention (repo1-retention-full/diff) decides which backups and WAL
    // are still needed, and an S3 rule deleting by age would silently break a backup's WAL
    // chain or remove the only full backup.
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        region,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
            // Once its older versions have expired, a deleted object leaves a delete marker with
            // nothing behind it; pgBackRest's expire leaves one per WAL segment it removes, and
            // every listing would page through them forever.
            expiration: { expiredObjectDeleteMarker: true },
          },
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: INCOMPLETE_UPLOAD_DAYS },
          },
        ],
      },
      // Lifecycle rules on noncurrent versions need versioning first.
      { ...keep, dependsOn: [versioning] },
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = kmsKeyArn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
    });
  }
}

/** Bucket policy refusing every request that does not arrive over TLS. */
export function denyInsecureTransport(bucketArn: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
