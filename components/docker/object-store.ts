import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec } from "../spec/cluster-spec";
import type { StackCertificateAuthority } from "./certificates";
import { rootConfigFile, rootSecretFile } from "./config-files";
import { objectStoreImage } from "./image";
import { dockerLabels } from "./labels";
import { type ContainerLimits, logOptions, unprivileged } from "./runtime";
import { dataResourceOptions, objectStoreVolume } from "./volumes";

/** Paths inside the MinIO image. */
const MINIO_DATA_DIR = "/data";
const MINIO_CERTS_DIR = "/etc/minio/certs";
const MINIO_SECRETS_DIR = "/run/secrets/minio";
/** mc's config directory inside the MinIO container (its own health probe) and the setup job. */
const MC_CONFIG_DIR = "/etc/minio/mc";
/** Alias of the stack's MinIO in the setup job's mc config. */
const MC_ALIAS = "pgstack";

/** MinIO needs little for one stack's repository; it is not the database. */
export const OBJECT_STORE_LIMITS: ContainerLimits = { memoryMb: 1024, cpus: "1" };

export interface ObjectStore {
  readonly container: docker.Container;
  /** The one-shot job that creates the bucket; pgBackRest needs it to exist. */
  readonly bucketJob: docker.Container;
  /** MinIO's root user, which pgBackRest signs its requests with (secret Outputs). */
  readonly credentials: S3Credentials;
}

/**
 * MinIO beside a dev stack, holding its pgBackRest repository: TLS with a certificate of the
 * stack's CA for `layout.s3Endpoint` (pgBackRest's S3 client speaks only TLS and verifies names),
 * root credentials generated and stored encrypted in Pulumi state, handed to MinIO as files
 * (MINIO_ROOT_USER_FILE / MINIO_ROOT_PASSWORD_FILE) and to pgBackRest in its include file.
 */
export function objectStore(
  resourceName: string,
  spec: ClusterSpec,
  network: docker.Network,
  ca: StackCertificateAuthority,
  parent: pulumi.Resource,
): ObjectStore {
  const { layout, archive } = spec;
  const containerName = `${spec.name}-minio`;
  const endpointUrl = `https://${layout.s3Endpoint}:${layout.s3Port}`;

  // Stable across updates; protected with the data, since the repository is useless without them.
  const accessKeyId = new random.RandomPassword(
    `${resourceName}-root-user`,
    { length: 20, special: false, upper: true, lower: false, numeric: true },
    dataResourceOptions(spec, parent),
  );
  const secretAccessKey = new random.RandomPassword(
    `${resourceName}-root-password`,
    { length: 40, special: false },
    dataResourceOptions(spec, parent),
  );
  const credentials: S3Credentials = {
    accessKeyId: pulumi.secret(accessKeyId.result),
    secretAccessKey: pulumi.secret(secretAccessKey.result),
  };

  // "localhost" too: the container's own health probe connects there and verifies the certificate.
  const certificate = ca.issueServer("minio", [layout.s3Endpoint, "localhost"]);
  const image = objectStoreImage(`${resourceName}-image`, parent);
  const volume = objectStoreVolume(`${resourceName}-data`, spec, parent);

  const container = new docker.Container(
    resourceName,
    {
      name: containerName,
      hostname: containerName,
      image,
      command: ["server", MINIO_DATA_DIR, "--address", `:${layout.s3Port}`, "--certs-dir", MINIO_CERTS_DIR],
      envs: [
        // Paths, not values: MinIO reads the credentials from these files.
        `MINIO_ROOT_USER_FILE=${MINIO_SECRETS_DIR}/root-user`,
        `MINIO_ROOT_PASSWORD_FILE=${MINIO_SECRETS_DIR}/root-password`,
        `MINIO_REGION=${archive.region}`,
        "MINIO_BROWSER=off",
        "MINIO_UPDATE=off",
        `MC_HOST_local=https://localhost:${layout.s3Port}`,
      ],
      uploads: [
        rootSecretFile(`${MINIO_SECRETS_DIR}/root-user`, credentials.accessKeyId),
        rootSecretFile(`${MINIO_SECRETS_DIR}/root-password`, credentials.secretAccessKey),
        rootConfigFile(`${MINIO_CERTS_DIR}/public.crt`, certificate.certPem),
        rootSecretFile(`${MINIO_CERTS_DIR}/private.key`, certificate.keyPem),
        rootConfigFile(`${MC_CONFIG_DIR}/certs/CAs/ca.crt`, ca.certPem),
      ],
      mounts: [{ type: "volume", source: volume.name, target: MINIO_DATA_DIR }],
      networksAdvanced: [{ name: network.name, aliases: [layout.s3Endpoint] }],
      healthcheck: {
        tests: ["CMD", "mc", "--config-dir", MC_CONFIG_DIR, "ready", "local"],
        interval: "10s",
        timeout: "5s",
        retries: 6,
        startPeriod: "30s",
      },
      memory: OBJECT_STORE_LIMITS.memoryMb,
      memorySwap: OBJECT_STORE_LIMITS.memoryMb,
      cpus: OBJECT_STORE_LIMITS.cpus,
      restart: "unless-stopped",
      ...logOptions(),
      // MinIO runs as root in its image, but needs no capability: it owns its files and binds a high port.
      ...unprivileged(),
      // Healthy before the bucket job and the members: WAL archiving starts with the first checkpoint.
      wait: true,
      waitTimeout: 120,
      labels: dockerLabels(spec, "object-store"),
    },
    { parent, deleteBeforeReplace: true, additionalSecretOutputs: ["uploads"] },
  );

  const mcConfig = pulumi
    .all([credentials.accessKeyId, credentials.secretAccessKey])
    .apply(([accessKey, secretKey]) =>
      JSON.stringify({
        version: "10",
        aliases: { [MC_ALIAS]: { url: endpointUrl, accessKey, secretKey, api: "s3v4", path: "auto" } },
      }),
    );
  const bucketJob = new docker.Container(
    `${resourceName}-bucket`,
    {
      name: `${containerName}-bucket`,
      image,
      // The image's entrypoint would prefix `minio`: run mc itself.
      entrypoints: ["mc"],
      command: ["--config-dir", MC_CONFIG_DIR, "mb", "--ignore-existing", `${MC_ALIAS}/${archive.bucket}`],
      uploads: [
        rootSecretFile(`${MC_CONFIG_DIR}/config.json`, mcConfig),
        rootConfigFile(`${MC_CONFIG_DIR}/certs/CAs/ca.crt`, ca.certPem),
      ],
      networksAdvanced: [{ name: network.name }],
      // One shot: runs to completion during `pulumi up`, then stays exited (its exit code is checked below).
      attach: true,
      logs: true,
      mustRun: false,
      restart: "no",
      memory: 256,
      memorySwap: 256,
      ...unprivileged(),
      ...logOptions(),
      labels: dockerLabels(spec, "object-store-setup"),
    },
    { parent, dependsOn: [container], deleteBeforeReplace: true, additionalSecretOutputs: ["uploads"] },
  );
  return { container, bucketJob, credentials };
}

/**
 * Fails `pulumi up` when the bucket job exited non-zero (the provider itself only records the
 * code). Without the bucket every WAL push fails; better to stop here with mc's output.
 */
export function bucketCreated(store: ObjectStore): pulumi.Output<boolean> {
  return pulumi.all([store.bucketJob.exitCode, store.bucketJob.containerLogs]).apply(([code, logs]) => {
    if (code !== undefined && code !== null && code !== 0) {
      throw new Error(`creating the MinIO bucket failed (mc exited ${code}):\n${logs ?? ""}`);
    }
    return code === 0;
  });
}
