import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresClusterArgs, PostgresClusterOutputs } from "../platform/postgres-cluster-args";
import { INIT_COMMAND } from "../render/commands";
import type { ClusterSecretValues } from "../secrets/cluster-secrets";
import type { S3Credentials } from "../secrets/pgbackrest-include";
import { checkedRepositoryCipherPass } from "../secrets/repository-cipher-guard";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { memberResourceName, readWriteAlias } from "../spec/layout";
import { backupRunner } from "./backup-runner";
import { StackCertificateAuthority } from "./certificates";
import { memberConfigUploads, memberSecretUploads, memberTlsUploads, POSTGRES_USER } from "./config-files";
import { postgresImage } from "./image";
import { dockerLabels, MEMBER_LABEL } from "./labels";
import { DevMonitoring, memberSocketVolume } from "./monitoring";
import { clusterNetworks, PUBLISH_ADDRESS } from "./network";
import { objectStore } from "./object-store";
import {
  HEALTHCHECK_TIMING,
  logOptions,
  MEMBER_STOP_TIMEOUT_SECONDS,
  memberResources,
  PRIMARY_WAIT_TIMEOUT_SECONDS,
  REPLICA_WAIT_TIMEOUT_SECONDS,
  unprivileged,
} from "./runtime";
import { memberStartCommand } from "./startup-commands";
import { SWITCHOVER_GATE_LABEL, switchoverGate } from "./switchover-gate";
import { memberVolume, memberVolumeName } from "./volumes";

/**
 * The whole cluster of a dev stack on the local Docker host: primary, streaming replicas,
 * pgBackRest backup runner and (unless the stack archives to AWS) an S3 server (SeaweedFS) holding the repository,
 * on one private network, with nothing published unless `pgstack:publishPort` says so (and then
 * on 127.0.0.1 only). Every value comes from the spec; this maps it to Docker objects.
 */
export class DockerPostgresCluster extends pulumi.ComponentResource implements PostgresClusterOutputs {
  /** The spec this cluster was built from (plain data), for stack outputs and policies. */
  readonly spec: pulumi.Output<ClusterSpec>;
  readonly connection: pulumi.Output<{ host: string; port: number; database: string; user: string }>;
  readonly appPassword: pulumi.Output<string>;
  readonly replicaHosts: pulumi.Output<string[]>;
  readonly repository: pulumi.Output<string>;
  /** The stack CA's certificate (public): clients verify the server with it (sslmode=verify-full). */
  readonly caCertificate: pulumi.Output<string>;
  /** The exact command that connects from the laptop (or, unpublished, from inside the primary). */
  readonly psql: pulumi.Output<string>;
  /** Docker names of the members' data volumes, by member name. */
  readonly volumes: pulumi.Output<Record<string, string>>;
  /** True once the local S3 store is healthy (it creates the bucket itself at start), true at once for AWS. */
  readonly bucketReady: pulumi.Output<boolean>;
  /** The Prometheus UI on 127.0.0.1 (pgstack:monitoring); undefined when off. */
  readonly prometheusUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: PostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:docker:PostgresCluster", name, {}, opts);
    const { spec } = args;
    assertDockerSpec(spec);
    // Every container gets the cipher pass only once it matches the repository's (refused at preview otherwise).
    const secrets: ClusterSecretValues = {
      ...args.secrets,
      repoCipherPass: checkedRepositoryCipherPass(
        `${name}-repository-cipher`,
        spec,
        args.secrets.repoCipherPass,
        this,
      ),
    };

    const networks = clusterNetworks(`${name}-network`, spec, this);
    const ca = new StackCertificateAuthority(`${name}-tls`, spec, this);
    const image = postgresImage(`${name}-image`, spec, this);

    let s3: S3Credentials | undefined;
    // The restore drill's keys: the store's read-only identity; AWS keys given in config are the
    // stack's own (no IAM here to make a read-only user from them).
    let drillS3: S3Credentials | undefined;
    const storeReady: pulumi.Resource[] = [];
    if (spec.archive.store === "local") {
      const store = objectStore(`${name}-s3`, spec, networks.cluster, ca, this);
      s3 = store.credentials;
      drillS3 = store.drillCredentials;
      storeReady.push(store.container);
      // The container is created with `wait: true`: it exists in state only once healthy.
      this.bucketReady = store.container.id.apply((id) => id !== "");
    } else {
      s3 = awsCredentials(spec, secrets.archiveAccessKeyId, secrets.archiveSecretAccessKey);
      drillS3 = s3;
      this.bucketReady = pulumi.output(true);
    }

    // Before any member changes: orders a switchover or refuses it (switchover-gate.ts).
    const gate = switchoverGate(
      `${name}-switchover-gate`,
      { spec, image, network: networks.cluster, secrets, caPem: ca.certPem, dependsOn: storeReady },
      this,
    );
    const containers = new Map<string, docker.Container>();
    const sockets = new Map<string, docker.Volume>();
    const primary = spec.members.find((member) => member.role === "primary") as MemberSpec;
    for (const member of [primary, ...spec.members.filter((m) => m.role === "replica")]) {
      const volume = memberVolume(`${name}-${member.name}-data`, spec, member, this);
      // The socket directory is a volume its exporter mounts too (peer authentication, no password).
      sockets.set(member.name, memberSocketVolume(spec, member, this));
      const isPrimary = member.role === "primary";
      const publishing = spec.network.publishPort !== undefined;
      const published = isPrimary && publishing;
      // Valid for both roles, so a switchover needs no new certificate: the member's own name,
      // the read-write alias, and, when a port is published, what its clients connect to
      // (localhost or 127.0.0.1: verify-full needs them too).
      const certificate = ca.issueServer(
        member.name,
        [spec.layout.hosts[member.name], readWriteAlias(spec.name), ...(publishing ? ["localhost"] : [])],
        publishing ? [PUBLISH_ADDRESS] : [],
      );
      // The read-write alias names whichever member is primary: clients on the stack's network
      // that connect to it follow a switchover without a change.
      const networksAdvanced: docker.types.input.ContainerNetworksAdvanced[] = [
        {
          name: networks.cluster.name,
          aliases: [spec.layout.hosts[member.name], ...(isPrimary ? [readWriteAlias(spec.name)] : [])],
        },
      ];
      if (published && networks.publish) networksAdvanced.push({ name: networks.publish.name });
      const container = new docker.Container(
        `${name}-${member.name}`,
        {
          name: memberResourceName(spec.name, member),
          hostname: spec.layout.hosts[member.name],
          image,
          user: POSTGRES_USER,
          // tini as PID 1 (the spec's init, as on Kubernetes), then the member's start script.
          entrypoints: [...INIT_COMMAND],
          command: memberStartCommand(spec, member),
          envs: memberEnvironment(spec, member),
          uploads: [
            ...memberConfigUploads(spec),
            ...memberTlsUploads(spec, certificate, ca.certPem),
            ...memberSecretUploads(spec, secrets, s3),
          ],
          mounts: [
            { type: "volume", source: volume.name, target: spec.layout.volumeDir },
            {
              type: "volume",
              source: (sockets.get(member.name) as docker.Volume).name,
              target: spec.layout.socketDir,
            },
          ],
          networksAdvanced,
          ports: published
            ? [
                {
                  internal: spec.layout.port,
                  external: spec.network.publishPort,
                  ip: PUBLISH_ADDRESS,
                  protocol: "tcp",
                },
              ]
            : [],
          healthcheck: {
            tests: ["CMD", ...spec.commands.healthcheck],
            interval: HEALTHCHECK_TIMING.interval,
            timeout: HEALTHCHECK_TIMING.timeout,
            retries: HEALTHCHECK_TIMING.retries,
            startPeriod: HEALTHCHECK_TIMING.startPeriod[member.role],
          },
          ...memberResources(spec),
          restart: "unless-stopped",
          stopSignal: "SIGINT",
          stopTimeout: MEMBER_STOP_TIMEOUT_SECONDS,
          destroyGraceSeconds: MEMBER_STOP_TIMEOUT_SECONDS,
          ...unprivileged(),
          ...logOptions(),
          // `pulumi up` waits for each member's healthcheck (a replica's first clone included), the
          // primary's before the runner: a replica that cannot stream fails `up` instead of
          // crash-looping unnoticed.
          wait: true,
          waitTimeout: isPrimary ? PRIMARY_WAIT_TIMEOUT_SECONDS : REPLICA_WAIT_TIMEOUT_SECONDS,
          labels: [
            ...dockerLabels(spec, member.role, { [MEMBER_LABEL]: member.name }),
            { label: SWITCHOVER_GATE_LABEL, value: gate.gatePassed },
          ],
        },
        {
          parent: this,
          // Not replicas after the primary: Pulumi would replace the primary first, and a raised
          // max_connections needs the replicas restarted first, a switchover the old primary stopped
          // while the target restarts. The members are replaced together, after the switchover
          // gate, and order themselves (hot-standby-order.sh, start-member.sh); a new replica's
          // clone waits for the primary.
          dependsOn: [gate.container, ...storeReady],
          // Container names are fixed: the old one must go before its replacement is created.
          deleteBeforeReplace: true,
          additionalSecretOutputs: ["uploads"],
        },
      );
      containers.set(member.name, container);
    }

    backupRunner(
      `${name}-backup-runner`,
      {
        spec,
        image,
        network: networks.cluster,
        secrets,
        s3,
        drillS3,
        ca,
        primary: containers.get(primary.name) as docker.Container,
      },
      this,
    );

    const monitoring = new DevMonitoring(
      `${name}-monitoring`,
      { spec, network: networks.cluster, sockets, members: containers },
      { parent: this },
    );
    this.prometheusUrl = monitoring.prometheusUrl;

    this.spec = pulumi.output(spec);
    this.connection = pulumi.output(hostConnection(spec));
    this.caCertificate = ca.certPem;
    this.psql = pulumi.output(psqlCommand(spec));
    this.appPassword = pulumi.secret(secrets.appPassword);
    this.replicaHosts = pulumi.output(
      spec.members
        .filter((member) => member.role === "replica")
        .map((member) => spec.layout.hosts[member.name]),
    );
    this.repository = pulumi.output(`s3://${spec.archive.bucket}${spec.archive.path}`);
    this.volumes = pulumi.output(
      Object.fromEntries(spec.members.map((member) => [member.name, memberVolumeName(spec, member)])),
    );
    this.registerOutputs({
      spec: this.spec,
      connection: this.connection,
      appPassword: this.appPassword,
      replicaHosts: this.replicaHosts,
      repository: this.repository,
      volumes: this.volumes,
      bucketReady: this.bucketReady,
      caCertificate: this.caCertificate,
      psql: this.psql,
      prometheusUrl: this.prometheusUrl,
    });
  }
}

/** Host name clients of the published port use: in the primary's certificate and resolvable on every laptop. */
export const PUBLISHED_HOST = "localhost";

/**
 * Where a client connects. Published: `localhost` and the published port, which every laptop
 * resolves (the certificate holds it, and 127.0.0.1). Not published: the primary's name on the
 * stack's Docker network, reachable only from containers there.
 */
export function hostConnection(spec: ClusterSpec): {
  host: string;
  port: number;
  database: string;
  user: string;
} {
  const published = spec.network.publishPort;
  const primary = spec.members.find((member) => member.role === "primary") as MemberSpec;
  return {
    host: published === undefined ? spec.layout.hosts[primary.name] : PUBLISHED_HOST,
    port: published ?? spec.layout.port,
    database: spec.postgres.database,
    user: spec.postgres.appUser,
  };
}

/** File name the psql command expects the exported CA certificate in. */
export function caFileName(spec: ClusterSpec): string {
  return `${spec.name}-ca.crt`;
}

/**
 * The exact first connection. Published: psql with sslmode=verify-full against the stack CA
 * (the `caCertificate` output, which scripts/up-dev.sh writes to caFileName), hostaddr pinning
 * the IPv4 loopback the port is bound to while the name checked against the certificate stays
 * `localhost`; psql asks for the password (the `appPassword` output). Not published: psql inside
 * the primary.
 */
export function psqlCommand(spec: ClusterSpec): string {
  const { host, port, database, user } = hostConnection(spec);
  if (spec.network.publishPort === undefined) {
    const primary = spec.members.find((member) => member.role === "primary") as MemberSpec;
    return `docker exec -it ${memberResourceName(spec.name, primary)} psql "dbname=${database} user=${user}"`;
  }
  const sslmode = spec.tls ? ` sslmode=verify-full sslrootcert=${caFileName(spec)}` : "";
  return `psql "host=${host} hostaddr=${PUBLISH_ADDRESS} port=${port} dbname=${database} user=${user}${sslmode}"`;
}

/** This component maps Docker specs only: anything else is a wiring mistake in the program. */
function assertDockerSpec(spec: ClusterSpec): void {
  if (spec.platform !== "docker") {
    throw new Error(
      `DockerPostgresCluster: stack ${spec.stack} has pgstack:platform=${spec.platform}; ` +
        "use the Kubernetes cluster for it, or set pgstack:platform=docker",
    );
  }
  if (!spec.members.some((member) => member.role === "primary")) {
    throw new Error(`DockerPostgresCluster: the spec of ${spec.name} has no primary member`);
  }
}

/**
 * Environment of a member: paths and names only, never a secret value. PGDATA, PGHOST and PGPORT
 * point pg_ctl, psql and the scripts (`docker exec`) at the member's own data and socket.
 */
export function memberEnvironment(spec: ClusterSpec, _member: MemberSpec): string[] {
  const { layout } = spec;
  const environment: Record<string, string> = {
    PGDATA: layout.dataDir,
    PGHOST: layout.socketDir,
    PGPORT: String(layout.port),
  };
  return Object.entries(environment).map(([name, value]) => `${name}=${value}`);
}

/** The static AWS keys a Docker stack needs to archive to AWS S3 (no IRSA outside Kubernetes). */
function awsCredentials(
  spec: ClusterSpec,
  accessKeyId: pulumi.Output<string> | undefined,
  secretAccessKey: pulumi.Output<string> | undefined,
): S3Credentials {
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = [
      accessKeyId ? undefined : "archiveAccessKeyId",
      secretAccessKey ? undefined : "archiveSecretAccessKey",
    ]
      .filter((key) => key !== undefined)
      .map((key) => `pgstack:${key}`);
    throw new Error(
      `stack ${spec.stack} archives to AWS S3 (pgstack:archiveStore=aws) from Docker, which needs static keys: ` +
        `${missing.join(" and ")} unset. Fix: pulumi config set --secret <key> <value> for each, ` +
        "or remove pgstack:archiveStore to use the local S3 store beside the cluster",
    );
  }
  return { accessKeyId: pulumi.secret(accessKeyId), secretAccessKey: pulumi.secret(secretAccessKey) };
}
