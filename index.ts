// pgstack: a production-grade PostgreSQL per stack. Read config, build the spec, declare the
// cluster on the stack's platform, export how to reach it.
import * as pulumi from "@pulumi/pulumi";
import { stackConfigFromPulumi } from "./components/config/pulumi-config";
import { DockerPostgresCluster } from "./components/docker/postgres-cluster";
import { KubernetesPostgresCluster } from "./components/kubernetes/postgres-cluster";
import { ClusterSecrets } from "./components/secrets/cluster-secrets";
import { buildClusterSpec } from "./components/spec/build-cluster-spec";

const spec = buildClusterSpec(stackConfigFromPulumi(), { stack: pulumi.getStack() });
const secrets = new ClusterSecrets(`${spec.name}-secrets`, { protect: spec.protect });
const Cluster = spec.platform === "docker" ? DockerPostgresCluster : KubernetesPostgresCluster;
const cluster = new Cluster(spec.name, { spec, secrets });

export const connection = cluster.connection;
export const appPassword = cluster.appPassword;
export const replicaHosts = cluster.replicaHosts;
export const repository = cluster.repository;
export const settings = {
  postgresVersion: spec.postgres.version,
  memoryLimit: spec.resources.memoryLimitBytes,
  replicas: spec.members.length - 1,
  backupSchedules: spec.archive.schedules,
};
