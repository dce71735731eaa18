import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ArchiveSpec } from "../spec/cluster-spec";
import {
  ACCESS_PURPOSE_TAG,
  archiveAccessPolicy,
  archiveReadAccessPolicy,
  DRILL_ACCESS_PURPOSE,
  serviceAccountTrustPolicy,
} from "./archive-access-policy";

export interface ArchiveAccessArgs {
  readonly archive: ArchiveSpec;
  readonly bucketArn: pulumi.Input<string>;
  readonly kmsKeyArn: pulumi.Input<string>;
  /** The Kubernetes service accounts of the pods using the repository (database, backup runner). */
  readonly namespace: string;
  readonly serviceAccounts: readonly string[];
  /** The restore drill's service account: an identity of its own, read-only on the repository. */
  readonly drillServiceAccount: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Least-privilege access to the pgBackRest repository for the database members and the backup
 * runner, in the way spec.archive.keyType says:
 * - "web-id": an IAM role the service accounts assume with their projected token (IRSA); no
 *   long-lived key exists anywhere.
 * - "shared": an IAM user with an access key, handed to pgBackRest as a secret file.
 * The restore drill gets the same kind of identity of its own, allowed only to list and read the
 * repository (archiveReadAccessPolicy): nothing it runs can write into or delete from it.
 */
export class ArchiveAccess extends pulumi.ComponentResource {
  /** web-id: the role for the service accounts' `eks.amazonaws.com/role-arn` annotation. */
  readonly roleArn?: pulumi.Output<string>;
  /** shared: the access key, as secrets. */
  readonly accessKeyId?: pulumi.Output<string>;
  readonly secretAccessKey?: pulumi.Output<string>;
  /** web-id: the restore drill's read-only role. */
  readonly drillRoleArn?: pulumi.Output<string>;
  /** shared: the restore drill's read-only access key, as secrets. */
  readonly drillAccessKeyId?: pulumi.Output<string>;
  readonly drillSecretAccessKey?: pulumi.Output<string>;

  constructor(name: string, args: ArchiveAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:aws:ArchiveAccess", name, {}, opts);
    const { archive } = args;
    const policy = pulumi
      .all([args.bucketArn, args.kmsKeyArn])
      .apply(([bucketArn, kmsKeyArn]) => JSON.stringify(archiveAccessPolicy(archive, bucketArn, kmsKeyArn)));
    const readPolicy = pulumi
      .all([args.bucketArn, args.kmsKeyArn])
      .apply(([bucketArn, kmsKeyArn]) =>
        JSON.stringify(archiveReadAccessPolicy(archive, bucketArn, kmsKeyArn)),
      );
    const drillTags = { ...args.tags, [ACCESS_PURPOSE_TAG]: DRILL_ACCESS_PURPOSE };

    if (archive.keyType === "web-id") {
      if (!archive.irsa) {
        throw new Error(
          "spec.archive.irsa is unset with keyType web-id: set pgstack:oidcProviderArn and pgstack:oidcProviderUrl, or pgstack:s3Access=accessKey",
        );
      }
      const role = new aws.iam.Role(
        `${name}-role`,
        {
          description: `pgBackRest repository access of ${args.namespace} (IRSA)`,
          assumeRolePolicy: JSON.stringify(
            serviceAccountTrustPolicy(archive.irsa, args.namespace, args.serviceAccounts),
          ),
          tags: { ...args.tags },
        },
        { parent: this },
      );
      new aws.iam.RolePolicy(`${name}-role-policy`, { role: role.id, policy }, { parent: this });
      this.roleArn = role.arn;
      const drillRole = new aws.iam.Role(
        `${name}-drill-role`,
        {
          description: `Read-only pgBackRest repository access of ${args.namespace}'s restore drill (IRSA)`,
          assumeRolePolicy: JSON.stringify(
            serviceAccountTrustPolicy(archive.irsa, args.namespace, [args.drillServiceAccount]),
          ),
          tags: drillTags,
        },
        { parent: this },
      );
      new aws.iam.RolePolicy(
        `${name}-drill-role-policy`,
        { role: drillRole.id, policy: readPolicy },
        { parent: this },
      );
      this.drillRoleArn = drillRole.arn;
    } else {
      const user = new aws.iam.User(
        `${name}-user`,
        { path: "/pgstack/", tags: { ...args.tags } },
        { parent: this },
      );
      new aws.iam.UserPolicy(`${name}-user-policy`, { user: user.name, policy }, { parent: this });
      const key = new aws.iam.AccessKey(`${name}-key`, { user: user.name }, { parent: this });
      this.accessKeyId = pulumi.secret(key.id);
      this.secretAccessKey = pulumi.secret(key.secret);
      const drillUser = new aws.iam.User(
        `${name}-drill-user`,
        { path: "/pgstack/", tags: drillTags },
        { parent: this },
      );
      new aws.iam.UserPolicy(
        `${name}-drill-user-policy`,
        { user: drillUser.name, policy: readPolicy },
        { parent: this },
      );
      const drillKey = new aws.iam.AccessKey(`${name}-drill-key`, { user: drillUser.name }, { parent: this });
      this.drillAccessKeyId = pulumi.secret(drillKey.id);
      this.drillSecretAccessKey = pulumi.secret(drillKey.secret);
    }
    this.registerOutputs({ roleArn: this.roleArn, drillRoleArn: this.drillRoleArn });
  }
}
