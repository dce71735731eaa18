import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import type { ClusterSpec } from "../spec/cluster-spec";

/**
 * Arguments of a platform's PostgresCluster component. The spec is plain data, not an Input:
 * it decides how many resources exist (members, volumes), which must be known when the
 * program runs, and it is already final (validated, rendered) before any resource is declared.
 */
export interface PostgresClusterArgs {
  readonly spec: ClusterSpec;
  readonly secrets: ClusterSecretValues;
}

/** What every platform exports as stack outputs. */
export interface PostgresClusterOutputs {
  /** Where clients connect (read-write primary). */
  readonly connection: pulumi.Output<{ host: string; port: number; database: string; user: string }>;
  /** The application role's password, as a secret. */
  readonly appPassword: pulumi.Output<string>;
  /** Read-only endpoints, one per replica. */
  readonly replicaHosts: pulumi.Output<string[]>;
  /** The pgBackRest repository: s3://bucket/path. */
  readonly repository: pulumi.Output<string>;
}
