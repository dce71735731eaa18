import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { archiveLocation } from "./cluster-view";
import { type Json, list, ofTypes, record, resourcePolicy, stackPolicy, strings, text } from "./policy-kit";

export const AWS = {
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  encryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  versioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  lifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  iamPolicy: "aws:iam/policy:Policy",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  role: "aws:iam/role:Role",
  user: "aws:iam/user:User",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
} as const;

const BUCKETS = [AWS.bucket, AWS.bucketV2];

/** The bucket's name as S3 knows it: `bucket` when set, else the Pulumi name (auto-naming adds a suffix). */
export function bucketName(bucket: PolicyResource): string {
  return text(bucket.props.bucket) ?? bucket.name;
}

/**
 * Companion resources (versioning, encryption, ...) of a bucket: those whose `bucket` input is the
 * bucket's name or id, or, when that is not known yet (a new bucket in preview), whose `bucket`
 * input depends on the bucket resource.
 */
function companionsOf(
  bucket: PolicyResource,
  resources: readonly PolicyResource[],
  types: readonly string[],
): PolicyResource[] {
  const ids = [text(bucket.props.bucket), text(bucket.props.id)].filter(
    (id): id is string => id !== undefined,
  );
  return resources.filter(
    (r) =>
      types.includes(r.type) &&
      (ids.includes(text(r.props.bucket) ?? "") ||
        (r.propertyDependencies.bucket ?? []).some((dep) => dep.urn === bucket.urn)),
  );
}

interface BucketCheck {
  readonly name: string;
  readonly description: string;
  readonly severity: "low" | "medium" | "high" | "critical";
  readonly remediationSteps: string;
  readonly companionTypes: readonly string[];
  /** Whether one companion does the job; why not, when it does not. */
  readonly judge: (companion: Json) => string | undefined;
  /** The message when no companion exists or none does the job. */
  readonly missing: (bucket: string) => string;
}

function bucketCompanionPolicy(check: BucketCheck) {
  return stackPolicy({
    name: check.name,
    description: check.description,
    severity: check.severity,
    remediationSteps: check.remediationSteps,
    validate: (args, report: ReportViolation) => {
      const buckets = ofTypes(args.resources, ...BUCKETS);
      if (buckets.length === 0) args.notApplicable("no S3 buckets in this stack");
      for (const bucket of buckets) {
        const companions = companionsOf(bucket, args.resources, check.companionTypes);
        const reasons = companions.map((c) => check.judge(c.props));
        if (reasons.some((reason) => reason === undefined)) continue;
        const why = reasons.filter((r): r is string => r !== undefined);
        report(
          `${check.missing(bucketName(bucket))}${why.length > 0 ? ` (${why.join("; ")})` : ""}`,
          bucket.urn,
        );
      }
    },
  });
}

const ENCRYPTIONS = ["aws:kms", "aws:kms:dsse", "AES256"];

export const awsBucketEncryption = bucketCompanionPolicy({
  name: "aws-bucket-encryption",
  description:
    "The archive bucket encrypts every object at rest by default (KMS preferred), on top of pgBackRest's own repository encryption.",
  severity: "high",
  remediationSteps:
    "Declare a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms (and the stack's KMS key) for the bucket.",
  companionTypes: [AWS.encryption, AWS.encryptionV2],
  judge: (config) => {
    const algorithms = list(config.rules).map((r) =>
      text(record(record(r)?.applyServerSideEncryptionByDefault)?.sseAlgorithm),
    );
    return algorithms.some((a) => a !== undefined && ENCRYPTIONS.includes(a))
      ? undefined
      : `sseAlgorithm is ${algorithms.join(", ") || "unset"}`;
  },
  missing: (bucket) =>
    `bucket ${bucket} has no default encryption: declare a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms`,
});

export const awsBucketVersioning = bucketCompanionPolicy({
  name: "aws-bucket-versioning",
  description:
    "The archive bucket is versioned, so an overwritten or deleted WAL segment or backup file can be recovered.",
  severity: "high",
  remediationSteps: "Declare a BucketVersioning with versioningConfiguration.status Enabled for the bucket.",
  companionTypes: [AWS.versioning, AWS.versioningV2],
  judge: (config) => {
    const status = text(record(config.versioningConfiguration)?.status);
    return status === "Enabled" ? undefined : `status is ${status ?? "unset"}`;
  },
  missing: (bucket) => `bucket ${bucket} is not versioned: declare a BucketVersioning with status Enabled`,
});

const PUBLIC_ACCESS_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
];

export const awsBucketPublicAccessBlock = bucketCompanionPolicy({
  name: "aws-bucket-public-access-block",
  description:
    "All four S3 public access blocks are on for the archive bucket: backups are never one ACL away from public.",
  severity: "critical",
  remediationSteps:
    "Declare a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
  companionTypes: [AWS.publicAccessBlock],
  judge: (block) => {
    const off = PUBLIC_ACCESS_FLAGS.filter((flag) => block[flag] !== true);
    return off.length === 0 ? undefined : `${off.join(", ")} not true`;
  },
  missing: (bucket) =>
    `bucket ${bucket} lacks a full public access block: set all four flags true on its BucketPublicAccessBlock`,
});

/** A policy document from a `policy` input (JSON text or object). */
export function policyDocument(value: unknown): Json | undefined {
  if (typeof value === "string") {
    try {
      return record(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return record(value);
}

export function statementsOf(document: Json | undefined): Json[] {
  const statement = document?.Statement;
  return (Array.isArray(statement) ? statement : [statement])
    .map((s) => record(s))
    .filter((s): s is Json => s !== undefined);
}

const values = (value: unknown): string[] => (typeof value === "string" ? [value] : strings(value));

function deniesInsecureTransport(statement: Json): boolean {
  if (statement.Effect !== "Deny") return false;
  const principal = statement.Principal;
  const everyone = principal === "*" || values(record(principal)?.AWS).includes("*");
  const actions = values(statement.Action);
  const bool = record(record(statement.Condition)?.Bool) ?? {};
  const secure = bool["aws:SecureTransport"];
  return (
    everyone &&
    (actions.includes("s3:*") || actions.includes("*")) &&
    (secure === "false" || secure === false)
  );
}

export const awsBucketTlsOnly = bucketCompanionPolicy({
  name: "aws-bucket-tls-only",
  description: "The archive bucket refuses every request not made over TLS.",
  severity: "high",
  remediationSteps:
    "Add a BucketPolicy statement: Effect Deny, Principal *, Action s3:*, Resource the bucket and bucket/*, Condition Bool aws:SecureTransport false.",
  companionTypes: [AWS.bucketPolicy],
  judge: (policy) =>
    statementsOf(policyDocument(policy.policy)).some(deniesInsecureTransport)
      ? undefined
      : "no Deny on aws:SecureTransport=false",
  missing: (bucket) =>
    `bucket ${bucket} accepts plain HTTP: add a BucketPolicy statement denying s3:* to * when aws:SecureTransport is false`,
});

export const awsLifecycleKeepsCurrent = resourcePolicy<Json>({
  name: "aws-lifecycle-keeps-current",
  description:
    "No lifecycle rule expires current objects: pgBackRest alone decides which backups and WAL to expire; S3 expiring them behind its back breaks restores silently.",
  severity: "critical",
  remediationSteps:
    "Remove expiration.days/date from enabled rules; keep noncurrentVersionExpiration and abortIncompleteMultipartUpload, and let repo1-retention-full drive expiry.",
  types: [AWS.lifecycle, AWS.lifecycleV2],
  validate: (props, args, report) => {
    for (const rule of list(props.rules).map((r) => record(r) ?? {})) {
      if (rule.status !== "Enabled") continue;
      const expiration = record(rule.expiration);
      if (expiration?.days !== undefined || expiration?.date !== undefined) {
        report(
          `lifecycle rule ${String(rule.id)} on ${args.name} expires current objects (${expiration.days !== undefined ? `after ${String(expiration.days)} days` : `on ${String(expiration.date)}`}): remove expiration and let pgBackRest's retention expire backups and WAL.`,
        );
      }
    }
  },
});

/** The IAM policy documents a resource carries. */
function iamDocuments(resource: PolicyResource): Json[] {
  if (resource.type === AWS.role) {
    return list(resource.props.inlinePolicies)
      .map((p) => policyDocument(record(p)?.policy))
      .filter((d): d is Json => d !== undefined);
  }
  const document = policyDocument(resource.props.policy);
  return document ? [document] : [];
}

const BROAD_MANAGED = /:policy\/(AmazonS3FullAccess|AdministratorAccess|PowerUserAccess)$/;

export const awsIamScopedToArchive = stackPolicy({
  name: "aws-iam-scoped-to-archive",
  description:
    "IAM grants name their actions and resources: S3 access only to the stack's repository prefix in its bucket (listing conditioned on that prefix), no s3:* or * actions, no Resource *.",
  severity: "critical",
  remediationSteps:
    "Grant s3:GetObject/PutObject/DeleteObject on arn:aws:s3:::<bucket>/<prefix>/*, s3:ListBucket on arn:aws:s3:::<bucket> with Condition StringLike s3:prefix <prefix>/*, KMS actions on the key's ARN.",
  validate: (args, report) => {
    const carriers = ofTypes(
      args.resources,
      AWS.iamPolicy,
      AWS.rolePolicy,
      AWS.userPolicy,
      AWS.role,
      AWS.rolePolicyAttachment,
    );
    if (carriers.length === 0) args.notApplicable("no IAM policies in this stack");
    const location = archiveLocation(args.resources);
    const bucketArn = location ? `arn:aws:s3:::${location.bucket}` : undefined;
    const prefix = location ? location.prefix.replace(/^\/+|\/+$/g, "") : undefined;
    for (const carrier of carriers) {
      if (carrier.type === AWS.rolePolicyAttachment) {
        const arn = text(carrier.props.policyArn) ?? "";
        if (BROAD_MANAGED.test(arn))
          report(
            `${carrier.name} attaches ${arn}: attach the stack's own scoped policy instead.`,
            carrier.urn,
          );
        continue;
      }
      for (const statement of iamDocuments(carrier).flatMap((d) => statementsOf(d))) {
        if (statement.Effect !== "Allow") continue;
        const where = `${carrier.name} statement ${text(statement.Sid) ?? "(no Sid)"}`;
        if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
          report(
            `${where} uses NotAction/NotResource, which grants everything else: list the actions and resources instead.`,
            carrier.urn,
          );
        }
        const actions = values(statement.Action);
        const resources = values(statement.Resource);
        const wildcards = actions.filter((a) => a === "*" || /^s3:.*\*/.test(a));
        if (wildcards.length > 0) {
          report(
            `${where} allows ${wildcards.join(", ")}: name the S3 actions pgBackRest needs (GetObject, PutObject, DeleteObject, ListBucket, GetBucketLocation).`,
            carrier.urn,
          );
        }
        if (resources.includes("*")) {
          report(
            `${where} applies to Resource "*": scope it to the repository (${bucketArn ?? "the bucket"}${prefix ? `/${prefix}/*` : ""}) or the KMS key's ARN.`,
            carrier.urn,
          );
        }
        if (!bucketArn || !actions.some((a) => a.startsWith("s3:"))) continue;
        for (const arn of resources.filter((r) => r !== "*" && r.startsWith("arn:aws:s3:::"))) {
          if (arn === bucketArn) {
            const listsObjects = actions.some((a) => a === "s3:ListBucket" || a === "s3:ListBucketVersions");
            const scoped = values(record(record(statement.Condition)?.StringLike)?.["s3:prefix"]).every((p) =>
              p.startsWith(`${prefix}/`),
            );
            const conditioned = record(record(statement.Condition)?.StringLike)?.["s3:prefix"] !== undefined;
            if (listsObjects && !(conditioned && scoped)) {
              report(
                `${where} lets ${actions.join(", ")} list the whole bucket ${location?.bucket}: add Condition StringLike s3:prefix ["${prefix}/*"].`,
                carrier.urn,
              );
            }
          } else if (!arn.startsWith(`${bucketArn}/${prefix}/`)) {
            report(
              `${where} grants ${arn}, outside the stack's repository ${bucketArn}/${prefix}/: scope it to that prefix so no stack reaches another's backups.`,
              carrier.urn,
            );
          }
        }
      }
    }
  },
});

/** Tag marking the restore drill's IAM identities (components/aws/archive-access-policy.ts). */
const DRILL_TAG = { key: "pgstack:access", value: "restore-drill" } as const;
const CRONJOB = "kubernetes:batch/v1:CronJob";

/** An action that writes, replaces or deletes objects (or may: wildcards). */
function writesObjects(action: string): boolean {
  if (action === "*" || action === "s3:*") return true;
  if (!action.startsWith("s3:")) return false;
  const pattern = new RegExp(
    `^${action
      .slice(3)
      .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")}$`,
  );
  return [
    "PutObject",
    "DeleteObject",
    "DeleteObjectVersion",
    "AbortMultipartUpload",
    "RestoreObject",
    "PutObjectAcl",
  ].some((name) => pattern.test(name));
}

/** The IAM roles and users the restore drill acts as: tagged as its own, or trusting its service account. */
function drillIdentities(resources: readonly PolicyResource[]): PolicyResource[] {
  const tagged = ofTypes(resources, AWS.role, AWS.user).filter(
    (identity) => record(identity.props.tags)?.[DRILL_TAG.key] === DRILL_TAG.value,
  );
  // The service accounts of the pods that run restore-drill.sh.
  const subjects = ofTypes(resources, CRONJOB).flatMap((cronJob) => {
    const template = record(record(record(record(cronJob.props.spec)?.jobTemplate)?.spec)?.template);
    const pod = record(template?.spec);
    const runsDrill = list(pod?.containers).some((c) =>
      strings(record(c)?.command).some((arg) => arg.endsWith("/restore-drill.sh")),
    );
    const account = text(pod?.serviceAccountName);
    const namespace = text(record(cronJob.props.metadata)?.namespace);
    return runsDrill && account && namespace ? [`system:serviceaccount:${namespace}:${account}`] : [];
  });
  const trusting = ofTypes(resources, AWS.role).filter((role) =>
    statementsOf(policyDocument(role.props.assumeRolePolicy)).some((statement) =>
      Object.entries(record(record(statement.Condition)?.StringEquals) ?? {}).some(
        ([key, value]) => key.endsWith(":sub") && values(value).some((subject) => subjects.includes(subject)),
      ),
    ),
  );
  return [...new Set([...tagged, ...trusting])];
}

/** The policies attached to an IAM role or user: inline ones, and managed attachments (by ARN). */
function attachedPolicies(identity: PolicyResource, resources: readonly PolicyResource[]): PolicyResource[] {
  const key = identity.type === AWS.role ? "role" : "user";
  const ids = [text(identity.props.name), text(identity.props.id), identity.name].filter(
    (id): id is string => id !== undefined,
  );
  return ofTypes(resources, AWS.rolePolicy, AWS.userPolicy, AWS.rolePolicyAttachment).filter(
    (policy) =>
      ids.includes(text(policy.props[key]) ?? "") ||
      (policy.propertyDependencies[key] ?? []).some((dependency) => dependency.urn === identity.urn),
  );
}

export const awsRestoreDrillReadOnly = stackPolicy({
  name: "aws-restore-drill-read-only",
  description:
    "The restore drill's IAM identity (its own role or user) may only list and read the repository: no PutObject, no DeleteObject, no wildcard, no managed policy. A drill can never overwrite, delete or archive into the backups it tests.",
  severity: "critical",
  remediationSteps:
    "Give the drill's role or user only s3:ListBucket (conditioned on the repository prefix), s3:GetObject on the repository and kms:Decrypt on the bucket's key; never bind the drill's service account to the runner's role.",
  validate: (args, report) => {
    const identities = drillIdentities(args.resources);
    if (identities.length === 0) args.notApplicable("no restore drill IAM identity in this stack");
    for (const identity of identities) {
      const policies = [...attachedPolicies(identity, args.resources)];
      for (const policy of policies) {
        if (policy.type === AWS.rolePolicyAttachment) {
          report(
            `${identity.name} (the restore drill's) has managed policy ${text(policy.props.policyArn) ?? "?"} attached: grant its read-only access inline, where it can be checked.`,
            policy.urn,
          );
          continue;
        }
        for (const statement of iamDocuments(policy).flatMap((d) => statementsOf(d))) {
          if (statement.Effect !== "Allow") continue;
          const writing = values(statement.Action).filter(writesObjects);
          if (writing.length > 0 || statement.NotAction !== undefined) {
            report(
              `${policy.name} statement ${text(statement.Sid) ?? "(no Sid)"} lets the restore drill's ${identity.name} ${writing.length > 0 ? writing.join(", ") : "do everything but NotAction"}: the drill may only list and read the repository.`,
              policy.urn,
            );
          }
        }
      }
      for (const document of identity.type === AWS.role ? iamDocuments(identity) : []) {
        for (const statement of statementsOf(document)) {
          const writing = values(statement.Action).filter(writesObjects);
          if (statement.Effect === "Allow" && writing.length > 0) {
            report(
              `${identity.name}'s inline policy lets the restore drill ${writing.join(", ")}.`,
              identity.urn,
            );
          }
        }
      }
    }
  },
});

export const awsPolicies = [
  awsBucketEncryption,
  awsBucketVersioning,
  awsBucketPublicAccessBlock,
  awsBucketTlsOnly,
  awsLifecycleKeepsCurrent,
  awsIamScopedToArchive,
  awsRestoreDrillReadOnly,
];
