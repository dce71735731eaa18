import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, unwrap } from "../kubernetes/prod-stack";

// The S3 side of `pulumi up --stack prod` (Pulumi.prod.yaml: a KMS key is created, IRSA access).
const T = {
  bucket: "aws:s3/bucket:Bucket",
  key: "aws:kms/key:Key",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
};

let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd();
});

const only = (type: string) => {
  const found = stack.ofType(type);
  expect(found, type).toHaveLength(1);
  return unwrap(found[0].inputs) as Json;
};

describe("archive bucket", () => {
  it("is the bucket the spec names, in the spec's region, never force-destroyed", () => {
    const bucket = only(T.bucket);
    expect(bucket.bucket).toBe(stack.spec.archive.bucket);
    expect(bucket.region).toBe(stack.spec.archive.region);
    expect(bucket.forceDestroy).toBe(false);
    // Deprecated inline settings are not used: each lives in its own resource.
    for (const inline of [
      "versioning",
      "serverSideEncryptionConfiguration",
      "lifecycleRules",
      "acl",
      "policy",
    ]) {
      expect(bucket[inline], inline).toBeUndefined();
    }
  });

  it("is versioned", () => {
    expect(only(T.versioning).versioningConfiguration).toEqual({ status: "Enabled" });
  });

  it("is encrypted with SSE-KMS under a created key that rotates", () => {
    const key = only(T.key);
    expect(key.enableKeyRotation).toBe(true);
    expect(key.deletionWindowInDays).toBe(30);
    const [rule] = only(T.encryption).rules;
    expect(rule.applyServerSideEncryptionByDefault).toEqual({
      sseAlgorithm: "aws:kms",
      kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    });
    expect(rule.bucketKeyEnabled).toBe(true);
  });

  it("blocks every kind of public access", () => {
    expect(only(T.publicAccess)).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
  });

  it("denies every request not made over TLS, on the bucket and its objects", () => {
    const document = JSON.parse(only(T.policy).policy);
    const arn = `arn:aws:s3:::${stack.spec.archive.bucket}`;
    expect(document.Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
  });

  it("expires only noncurrent versions, incomplete uploads and orphaned delete markers, never current objects", () => {
    const rules = only(T.lifecycle).rules as Json[];
    expect(rules.map((rule) => rule.id).sort()).toEqual([
      "abort-incomplete-multipart-uploads",
      "expire-noncurrent-versions",
    ]);
    for (const rule of rules) {
      expect(rule.status).toBe("Enabled");
      // A current object expires only as a delete marker with no version left behind it.
      if (rule.expiration !== undefined)
        expect(rule.expiration, rule.id).toEqual({ expiredObjectDeleteMarker: true });
      expect(rule.transitions, rule.id).toBeUndefined();
    }
    const noncurrent = rules.find((rule) => rule.noncurrentVersionExpiration);
    expect(noncurrent?.noncurrentVersionExpiration).toEqual({ noncurrentDays: 30 });
    expect(noncurrent?.expiration).toEqual({ expiredObjectDeleteMarker: true });
    expect(rules.find((rule) => rule.abortIncompleteMultipartUpload)?.abortIncompleteMultipartUpload).toEqual(
      {
        daysAfterInitiation: 7,
      },
    );
  });

  it("with protect: every piece of the bucket and its key is protected and retained on delete", () => {
    expect(stack.spec.protect).toBe(true);
    for (const type of Object.values(T)) {
      for (const resource of stack.ofType(type)) {
        expect({ type, protect: resource.protect, retainOnDelete: resource.retainOnDelete }).toEqual({
          type,
          protect: true,
          retainOnDelete: true,
        });
      }
    }
  });

  it("exports the bucket's name and ARN", async () => {
    const value = (output: { apply: (f: (v: unknown) => void) => unknown }) =>
      new Promise((resolve) => output.apply(resolve));
    expect(await value(stack.cluster.bucketName)).toBe("acme-pgstack-prod-wal");
    expect(await value(stack.cluster.bucketArn)).toBe("arn:aws:s3:::acme-pgstack-prod-wal");
    expect(await value(stack.cluster.repository)).toBe("s3://acme-pgstack-prod-wal/pgstack/prod");
  });
});
