import { describe, expect, it } from "vitest";
import {
  AWS,
  awsBucketEncryption,
  awsBucketPublicAccessBlock,
  awsBucketTlsOnly,
  awsBucketVersioning,
  awsIamScopedToArchive,
  awsLifecycleKeepsCurrent,
} from "../../policies/rules/aws";
import type { AnalyzedResource } from "../../scripts/plan/evaluate-policies";
import { resource, urnOf, verdictOf, violations } from "./harness";

const BUCKET = "acme-pgstack-prod-wal";
const bucket = resource(AWS.bucket, "pgstack-prod-archive", { bucket: BUCKET }, { protect: true });
/** A companion whose `bucket` input is the bucket's name. */
const companion = (type: string, name: string, props: Record<string, unknown>) =>
  resource(type, name, { bucket: BUCKET, ...props });

const tlsOnly = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ],
};

describe("aws-bucket-encryption", () => {
  const sse = (algorithm: string) =>
    companion(AWS.encryption, "sse", {
      rules: [
        {
          applyServerSideEncryptionByDefault: {
            sseAlgorithm: algorithm,
            kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k",
          },
        },
      ],
    });
  it("passes a bucket with KMS default encryption", async () => {
    expect(await violations(awsBucketEncryption, [bucket, sse("aws:kms")])).toEqual([]);
  });
  it("links a companion through its property dependency when the bucket's name is not known yet (preview)", async () => {
    const unnamed = resource(AWS.bucket, "pgstack-prod-archive", {});
    const byDependency = resource(
      AWS.encryption,
      "sse",
      { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] },
      {
        propertyDependencies: { bucket: [unnamed.urn] },
      },
    );
    expect(await violations(awsBucketEncryption, [unnamed, byDependency])).toEqual([]);
  });
  it("fails a bucket without encryption configuration, or with an unknown algorithm", async () => {
    expect((await violations(awsBucketEncryption, [bucket]))[0]).toMatch(
      /bucket acme-pgstack-prod-wal has no default encryption: declare a BucketServerSideEncryptionConfiguration/,
    );
    expect((await violations(awsBucketEncryption, [bucket, sse("none")]))[0]).toMatch(/sseAlgorithm is none/);
  });
  it("does not apply to a stack without buckets", async () => {
    expect((await verdictOf(awsBucketEncryption, [])).status).toBe("not-applicable");
  });
});

describe("aws-bucket-versioning", () => {
  it("passes Enabled", async () => {
    expect(
      await violations(awsBucketVersioning, [
        bucket,
        companion(AWS.versioning, "v", { versioningConfiguration: { status: "Enabled" } }),
      ]),
    ).toEqual([]);
  });
  it("fails Suspended or missing, and a companion of another bucket does not count", async () => {
    const suspended = companion(AWS.versioning, "v", { versioningConfiguration: { status: "Suspended" } });
    expect((await violations(awsBucketVersioning, [bucket, suspended]))[0]).toMatch(
      /is not versioned: declare a BucketVersioning with status Enabled \(status is Suspended\)/,
    );
    const other = resource(AWS.versioning, "v", {
      bucket: "someone-else",
      versioningConfiguration: { status: "Enabled" },
    });
    expect(await violations(awsBucketVersioning, [bucket, other])).toHaveLength(1);
  });
});

describe("aws-bucket-public-access-block", () => {
  const block = (flags: Record<string, boolean>) => companion(AWS.publicAccessBlock, "pab", flags);
  const all = {
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  };
  it("passes all four flags on", async () => {
    expect(await violations(awsBucketPublicAccessBlock, [bucket, block(all)])).toEqual([]);
  });
  it("fails any flag off, naming it", async () => {
    const [message] = await violations(awsBucketPublicAccessBlock, [
      bucket,
      block({ ...all, restrictPublicBuckets: false }),
    ]);
    expect(message).toMatch(/lacks a full public access block.*restrictPublicBuckets not true/);
  });
});

describe("aws-bucket-tls-only", () => {
  it("passes a policy denying insecure transport (JSON text or object)", async () => {
    expect(
      await violations(awsBucketTlsOnly, [
        bucket,
        companion(AWS.bucketPolicy, "p", { policy: JSON.stringify(tlsOnly) }),
      ]),
    ).toEqual([]);
    expect(
      await violations(awsBucketTlsOnly, [bucket, companion(AWS.bucketPolicy, "p", { policy: tlsOnly })]),
    ).toEqual([]);
  });
  it("fails a bucket without such a statement", async () => {
    const allowOnly = {
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::123456789012:root" },
          Action: "s3:GetObject",
          Resource: "*",
        },
      ],
    };
    expect(
      (
        await violations(awsBucketTlsOnly, [
          bucket,
          companion(AWS.bucketPolicy, "p", { policy: JSON.stringify(allowOnly) }),
        ])
      )[0],
    ).toMatch(
      /accepts plain HTTP: add a BucketPolicy statement denying s3:\* to \* when aws:SecureTransport is false/,
    );
    expect(await violations(awsBucketTlsOnly, [bucket])).toHaveLength(1);
  });
});

describe("aws-lifecycle-keeps-current", () => {
  const lifecycle = (rules: unknown[]) => companion(AWS.lifecycle, "lc", { rules });
  it("passes rules that only clean noncurrent versions and incomplete uploads", async () => {
    const rules = [
      { id: "noncurrent", status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 30 } },
      { id: "uploads", status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
      { id: "markers", status: "Enabled", expiration: { expiredObjectDeleteMarker: true } },
      { id: "old", status: "Disabled", expiration: { days: 30 } },
    ];
    expect(await violations(awsLifecycleKeepsCurrent, lifecycle(rules))).toEqual([]);
  });
  it("fails a rule expiring current objects", async () => {
    const [message] = await violations(
      awsLifecycleKeepsCurrent,
      lifecycle([{ id: "expire", status: "Enabled", expiration: { days: 30 } }]),
    );
    expect(message).toMatch(
      /rule expire .* expires current objects \(after 30 days\): remove expiration and let pgBackRest's retention/,
    );
  });
});

describe("aws-iam-scoped-to-archive", () => {
  // The repository location comes from pgbackrest.conf when no spec is in the stack.
  const files = resource("kubernetes:core/v1:ConfigMap", "files", {
    metadata: { name: "files", namespace: "pgstack-prod" },
    data: { "pgbackrest.conf": `[global]\nrepo1-s3-bucket=${BUCKET}\nrepo1-path=/pgstack/prod\n` },
  });
  const rolePolicy = (statements: unknown[]): AnalyzedResource =>
    resource(AWS.rolePolicy, "pgstack-prod-archive", {
      role: "pgstack-prod-archive",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
    });
  const scoped = [
    {
      Sid: "Objects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: `arn:aws:s3:::${BUCKET}/pgstack/prod/*`,
    },
    {
      Sid: "List",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: `arn:aws:s3:::${BUCKET}`,
      Condition: { StringLike: { "s3:prefix": ["pgstack/prod/*"] } },
    },
    {
      Sid: "Key",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: "arn:aws:kms:eu-west-1:123456789012:key/k",
    },
  ];
  it("passes grants scoped to the repository prefix", async () => {
    expect(await violations(awsIamScopedToArchive, [files, rolePolicy(scoped)])).toEqual([]);
  });
  it("fails s3:* and Resource *", async () => {
    const messages = await violations(awsIamScopedToArchive, [
      files,
      rolePolicy([{ Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "*" }]),
    ]);
    expect(messages).toEqual([
      expect.stringMatching(/statement All allows s3:\*: name the S3 actions/),
      expect.stringMatching(
        /applies to Resource "\*": scope it to the repository \(arn:aws:s3:::acme-pgstack-prod-wal\/pgstack\/prod\/\*\)/,
      ),
    ]);
  });
  it("fails objects outside the prefix and a listing of the whole bucket", async () => {
    const messages = await violations(awsIamScopedToArchive, [
      files,
      rolePolicy([
        {
          Sid: "Everything",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: `arn:aws:s3:::${BUCKET}/*`,
        },
        { Sid: "List", Effect: "Allow", Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${BUCKET}` },
      ]),
    ]);
    expect(messages).toEqual([
      expect.stringMatching(
        /statement Everything grants arn:aws:s3:::acme-pgstack-prod-wal\/\*, outside the stack's repository/,
      ),
      expect.stringMatching(
        /statement List lets s3:ListBucket list the whole bucket .*: add Condition StringLike s3:prefix \["pgstack\/prod\/\*"\]/,
      ),
    ]);
  });
  it("fails a broad managed policy attachment", async () => {
    const attachment = resource(AWS.rolePolicyAttachment, "full", {
      role: "r",
      policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    });
    expect((await violations(awsIamScopedToArchive, [files, attachment]))[0]).toMatch(
      /attaches .*AmazonS3FullAccess: attach the stack's own scoped policy/,
    );
  });
  it("reports against the resource that grants too much", async () => {
    const verdict = await verdictOf(awsIamScopedToArchive, [
      files,
      rolePolicy([{ Effect: "Allow", Action: "*", Resource: "*" }]),
    ]);
    expect(verdict.violations.every((v) => v.urn === urnOf(AWS.rolePolicy, "pgstack-prod-archive"))).toBe(
      true,
    );
  });
});
