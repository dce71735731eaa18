import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { S3Credentials } from "../secrets/pgbackrest-include";
import type { ClusterSpec } from "../spec/cluster-spec";
import type { StackCertificateAuthority } from "./certificates";
import { rootConfigFile, secretFileOwnedBy } from "./config-files";
import { objectStoreImage } from "./image";
import { dockerLabels } from "./labels";
import { dockerCpus, goDuration } from "./provider-forms";
import { type ContainerLimits, logOptions, unprivileged } from "./runtime";
import { dataResourceOptions, objectStoreVolume } from "./volumes";

/**
 * The S3 server beside a dev stack: SeaweedFS. MinIO's images were deleted from Docker Hub on
 * 2026-09-12 and its community edition is archived. Compared (sources read with the search tool,
 * 2026-12-01):
 *
 * | server     | licence    | maintenance                  | image                          | TLS                   | path-style | bucket creation                    |
 * |------------|------------|------------------------------|--------------------------------|-----------------------|------------|------------------------------------|
 * | SeaweedFS  | Apache-2.0 | weekly releases (4.48, 09-28)| Alpine + one Go binary, multi-arch | built in (`-s3.cert.file`) | yes (default) | `weed mini -bucket=<name>` at every start |
 * | Garage     | AGPL-3.0   | active (v2.4.x)              | FROM scratch, no shell         | none: a reverse proxy | yes (only) | `garage layout assign/apply`, `bucket create`, `key import`, `bucket allow` over RPC |
 * | VersityGW  | Apache-2.0 | active (v1.8.0)              | one Go binary                  | built in (`--cert`)   | yes (default) | an S3 client's CreateBucket (none in the image) |
 *
 * SeaweedFS is the one that does TLS itself (pgBackRest speaks TLS to S3 in prod, so dev does
 * too), reads its credentials from a file (VersityGW takes them from environment variables or
 * flags, which pgstack never uses for secrets) and creates the bucket itself. `weed mini` runs
 * master, volume server, filer and S3 gateway in one process; the other gateways it would start
 * (WebDAV, admin UI, Iceberg, Lance) are switched off.
 */

/** Paths inside the SeaweedFS image (docker/Dockerfile.go_build and docker/entrypoint.sh of seaweedfs/seaweedfs). */
const STORE_DATA_DIR = "/data";
const STORE_CONFIG_DIR = "/etc/pgstack-s3";
const STORE_SECRETS_DIR = "/run/secrets/pgstack-s3";
/** The image's `seaweed` user (adduser -u 1000 in its Dockerfile): the entrypoint starts weed as this user directly. */
export const OBJECT_STORE_USER = "1000:1000";
const OBJECT_STORE_UID = "1000";

/** The store needs little for one stack's repository; it is not the database. */
export const OBJECT_STORE_LIMITS: ContainerLimits = { memoryMb: 1024, cpus: dockerCpus(1) };

export interface ObjectStore {
  readonly container: docker.Container;
  /** The identity pgBackRest signs its requests with (secret Outputs). */
  readonly credentials: S3Credentials;
  /** The restore drill's identity: read and list only (secret Outputs). */
  readonly drillCredentials: S3Credentials;
}

/** SeaweedFS identity names: the repository's writer, and the restore drill's reader. */
export const STORE_IDENTITIES = { pgbackrest: "pgbackrest", drill: "restore-drill" } as const;

/**
 * SeaweedFS's S3 identity file: pgBackRest's identity, allowed everything on this store (it holds
 * one repository), and the restore drill's, allowed only to read and list (SeaweedFS's S3
 * actions "Read" and "List"): a drill can never write, replace or delete a repository file.
 * Per-identity action lists: SeaweedFS wiki "Amazon-S3-API", section S3 Authentication (actions
 * Read, Write, List, Tagging, Admin), read with the search tool on 2026-12-01.
 */
export function s3IdentityConfig(writer: S3KeyPair, drill: S3KeyPair): string {
  return JSON.stringify({
    identities: [
      {
        name: STORE_IDENTITIES.pgbackrest,
        credentials: [{ accessKey: writer.accessKey, secretKey: writer.secretKey }],
        actions: ["Admin", "Read", "Write", "List", "Tagging"],
      },
      {
        name: STORE_IDENTITIES.drill,
        credentials: [{ accessKey: drill.accessKey, secretKey: drill.secretKey }],
        actions: ["Read", "List"],
      },
    ],
  });
}

export interface S3KeyPair {
  readonly accessKey: string;
  readonly secretKey: string;
}

/** The `weed mini` command of a stack's store: TLS, one identity from a file, the bucket created at start. */
export function objectStoreCommand(spec: ClusterSpec): string[] {
  const { layout, archive } = spec;
  return [
    // The image's entrypoint adds -dir=/data and execs `weed -logtostderr=true mini ...`.
    "mini",
    `-s3.port=${layout.s3Port}`,
    `-s3.cert.file=${STORE_CONFIG_DIR}/tls.crt`,
    `-s3.key.file=${STORE_SECRETS_DIR}/tls.key`,
    `-s3.config=${STORE_SECRETS_DIR}/s3.json`,
    // Created at every start when missing: a lost or failed creation heals on the next start.
    `-bucket=${archive.bucket}`,
    "-webdav=false",
    "-admin.ui=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
  ];
}

/** The readiness check: SeaweedFS's own `/healthz` on the S3 port, over TLS verified against the stack CA. */
export function objectStoreHealthcheck(spec: ClusterSpec): string[] {
  return [
    "CMD",
    "curl",
    "--fail",
    "--silent",
    "--show-error",
    "--max-time",
    "4",
    "--cacert",
    `${STORE_CONFIG_DIR}/ca.crt`,
    `https://localhost:${spec.layout.s3Port}/healthz`,
  ];
}

/**
 * SeaweedFS beside a dev stack, holding its pgBackRest repository: TLS with a certificate of the
 * stack's CA for `layout.s3Endpoint` (pgBackRest's S3 client verifies names), an identity
 * generated and stored encrypted in Pulumi state, handed to SeaweedFS as a file and to pgBackRest
 * in its include file.
 */
export function objectStore(
  resourceName: string,
  spec: ClusterSpec,
  network: docker.Network,
  ca: StackCertificateAuthority,
  parent: pulumi.Resource,
): ObjectStore {
  const { layout } = spec;
  const containerName = layout.s3Endpoint;

  // Stable across updates; protected with the data, since the repository is useless without them.
  const keyPair = (prefix: string): S3Credentials => {
    const accessKeyId = new random.RandomPassword(
      `${prefix}-access-key`,
      { length: 20, special: false, upper: true, lower: false, numeric: true },
      dataResourceOptions(spec, parent),
    );
    const secretAccessKey = new random.RandomPassword(
      `${prefix}-secret-key`,
      { length: 40, special: false },
      dataResourceOptions(spec, parent),
    );
    return {
      accessKeyId: pulumi.secret(accessKeyId.result),
      secretAccessKey: pulumi.secret(secretAccessKey.result),
    };
  };
  const credentials = keyPair(resourceName);
  const drillCredentials = keyPair(`${resourceName}-drill`);
  const identities = pulumi
    .all([
      credentials.accessKeyId,
      credentials.secretAccessKey,
      drillCredentials.accessKeyId,
      drillCredentials.secretAccessKey,
    ])
    .apply(([accessKey, secretKey, drillKey, drillSecret]) =>
      s3IdentityConfig({ accessKey, secretKey }, { accessKey: drillKey, secretKey: drillSecret }),
    );

  // "localhost" too: the container's own health probe connects there and verifies the certificate.
  const certificate = ca.issueServer("s3", [layout.s3Endpoint, "localhost"]);
  const image = objectStoreImage(`${resourceName}-image`, parent);
  const volume = objectStoreVolume(`${resourceName}-data`, spec, parent);

  const container = new docker.Container(
    resourceName,
    {
      name: containerName,
      hostname: containerName,
      image,
      // The image's own non-root user: its entrypoint then skips the root-only chown and su-exec.
      user: OBJECT_STORE_USER,
      command: objectStoreCommand(spec),
      uploads: [
        secretFileOwnedBy(`${STORE_SECRETS_DIR}/s3.json`, identities, OBJECT_STORE_UID),
        secretFileOwnedBy(`${STORE_SECRETS_DIR}/tls.key`, certificate.keyPem, OBJECT_STORE_UID),
        rootConfigFile(`${STORE_CONFIG_DIR}/tls.crt`, certificate.certPem),
        rootConfigFile(`${STORE_CONFIG_DIR}/ca.crt`, ca.certPem),
      ],
      mounts: [{ type: "volume", source: volume.name, target: STORE_DATA_DIR }],
      networksAdvanced: [{ name: network.name, aliases: [layout.s3Endpoint] }],
      healthcheck: {
        tests: objectStoreHealthcheck(spec),
        interval: goDuration(10),
        timeout: goDuration(5),
        retries: 6,
        startPeriod: goDuration(30),
      },
      memory: OBJECT_STORE_LIMITS.memoryMb,
      memorySwap: OBJECT_STORE_LIMITS.memoryMb,
      cpus: OBJECT_STORE_LIMITS.cpus,
      restart: "unless-stopped",
      ...logOptions(),
      // Needs no capability: it owns its files and binds high ports.
      ...unprivileged(),
      // Healthy before the members: WAL archiving starts with the first checkpoint.
      wait: true,
      waitTimeout: 120,
      labels: dockerLabels(spec, "object-store"),
    },
    { parent, deleteBeforeReplace: true, additionalSecretOutputs: ["uploads"] },
  );
  return { container, credentials, drillCredentials };
}
