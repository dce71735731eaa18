import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PGBACKREST_SECRET_INCLUDE_FILE } from "../render/pgbackrest-conf";
import { SECRET_FILES } from "../render/secret-files";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import { pgbackrestSecretInclude, type S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { objectNames } from "./names";

export interface StackSecrets {
  /** The password files of layout.secretsDir, keyed by their file names (SECRET_FILES). */
  readonly passwords: k8s.core.v1.Secret;
  /** pgBackRest's secret include file (PGBACKREST_SECRET_INCLUDE_FILE). */
  readonly pgbackrest: k8s.core.v1.Secret;
  /** The restore drill's include file: the cipher pass and, with static keys, its read-only keys. */
  readonly drillPgbackrest: k8s.core.v1.Secret;
}

/**
 * The cluster's secrets as Kubernetes Secrets, whose keys are the file names the rendered
 * scripts and configs read: the pods mount them as files, never as environment values. The
 * values stay secret Outputs end to end, so Pulumi encrypts them in state and masks them in
 * previews.
 */
export function stackSecrets(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  secrets: ClusterSecretValues,
  s3Keys: S3Credentials | undefined,
  drillS3Keys: S3Credentials | undefined,
  opts: pulumi.CustomResourceOptions,
): StackSecrets {
  const names = objectNames(spec);
  if (spec.archive.keyType === "shared" && !s3Keys) {
    throw new Error(`${spec.name}: spec.archive.keyType is "shared" but no S3 access key was provided`);
  }
  const passwords = new k8s.core.v1.Secret(
    names.passwords,
    {
      metadata: { name: names.passwords, namespace, labels: recommendedLabels(spec, "database") },
      type: "Opaque",
      stringData: {
        [SECRET_FILES.superuserPassword]: pulumi.secret(secrets.superuserPassword),
        [SECRET_FILES.replicationPassword]: pulumi.secret(secrets.replicationPassword),
        [SECRET_FILES.appPassword]: pulumi.secret(secrets.appPassword),
      },
    },
    opts,
  );
  const include = pgbackrestSecretInclude(spec, secrets.repoCipherPass, s3Keys);
  const pgbackrest = new k8s.core.v1.Secret(
    names.pgbackrestSecrets,
    {
      metadata: { name: names.pgbackrestSecrets, namespace, labels: recommendedLabels(spec) },
      type: "Opaque",
      stringData: { [PGBACKREST_SECRET_INCLUDE_FILE]: pulumi.secret(include) },
    },
    opts,
  );
  const drillInclude = pgbackrestSecretInclude(spec, secrets.repoCipherPass, drillS3Keys);
  const drillPgbackrest = new k8s.core.v1.Secret(
    names.drillPgbackrestSecrets,
    {
      metadata: {
        name: names.drillPgbackrestSecrets,
        namespace,
        labels: recommendedLabels(spec, "restore-drill"),
      },
      type: "Opaque",
      stringData: { [PGBACKREST_SECRET_INCLUDE_FILE]: pulumi.secret(drillInclude) },
    },
    opts,
  );
  return { passwords, pgbackrest, drillPgbackrest };
}
