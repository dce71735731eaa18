// pgstack: a production-grade PostgreSQL per stack. Read config, build the spec, declare the
// cluster on the stack's platform, export how to reach it.
import * as pulumi from "@pulumi/pulumi";
import {
  stackConfigFromPulumi,
  stackContextFromPulumi,
  withoutStackTrace,
} from "./components/config/pulumi-config";
import { DockerPostgresCluster } from "./components/docker/postgres-cluster";
import { KubernetesPostgresCluster } from "./components/kubernetes/postgres-cluster";
import { ClusterSecrets } from "./components/secrets/cluster-secrets";
import { buildClusterSpec } from "./components/spec/build-cluster-spec";

// Every config problem is found here, before any resource is declared; whatever is thrown
// reaches the user as its message alone (a trace only with PGSTACK_DEBUG=1).
const spec = withoutStackTrace(() =>
  buildClusterSpec(stackConfigFromPulumi(), { stack: pulumi.getStack(), context: stackContextFromPulumi() }),
);
// What the limit forced below a sane value (work_mem under 4MB, headroom spent): shown in the plan.
for (const warning of spec.tuning.warnings) pulumi.log.warn(warning);
const cluster = withoutStackTrace(() => {
  const secrets = new ClusterSecrets(`${spec.name}-secrets`, { protect: spec.protect });
  return spec.platform === "docker"
    ? new DockerPostgresCluster(spec.name, { spec, secrets })
    : new KubernetesPostgresCluster(spec.name, { spec, secrets });
});

export const connection = cluster.connection;
export const appPassword = cluster.appPassword;
export const replicaHosts = cluster.replicaHosts;
export const repository = cluster.repository;
// Dev: the stack CA (to verify the server) and the exact first psql command from the laptop.
export const caCertificate = cluster instanceof DockerPostgresCluster ? cluster.caCertificate : undefined;
export const psql = cluster instanceof DockerPostgresCluster ? cluster.psql : undefined;
export const settings = {
  postgresVersion: spec.postgres.version,
  memoryLimitBytes: spec.resources.memoryLimitBytes,
  maxConnections: spec.postgres.maxConnections,
  replicas: spec.members.length - 1,
  archiveTimeoutSeconds: spec.archive.archiveTimeoutSeconds,
  backupSchedules: spec.archive.schedules,
};
export const platform =
  cluster instanceof KubernetesPostgresCluster
    ? {
        namespace: cluster.namespace,
        readOnlyHost: cluster.readOnlyHost,
        bucketName: cluster.bucketName,
        bucketArn: cluster.bucketArn,
        kmsKeyArn: cluster.kmsKeyArn,
        archiveRoleArn: cluster.archiveRoleArn,
        secretNames: cluster.secretNames,
        // For clients' sslmode=verify-full (also in the namespace's ConfigMap, key ca.crt).
        caCertificate: cluster.caCertificate,
        caConfigMap: cluster.caConfigMap,
      }
    : { volumes: cluster.volumes, prometheusUrl: cluster.prometheusUrl };
