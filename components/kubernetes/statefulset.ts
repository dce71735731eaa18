import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { INIT_COMMAND, memberStartArguments, replicaBootstrapCommand } from "../render/commands";
import type { ClusterSpec, MemberSpec } from "../spec/cluster-spec";
import { DATA_CLAIM_TEMPLATE } from "../spec/layout";
import { restartLevelSettings } from "../spec/restart-parameters";
import { formatQuantity } from "../spec/units";
import { SETTINGS_FILES } from "./config-maps";
import { guaranteed } from "./container-resources";
import type { ExporterSidecar } from "./exporter";
import { fileMounts } from "./file-mounts";
import { componentSelector, memberPodLabels, memberSelector, recommendedLabels } from "./labels";
import { objectNames } from "./names";
import { type FileSources, podFiles } from "./pod-files";
import { containerSecurityContext, restrictedPodSpec } from "./pod-security";
import { PGBACKREST_PORT_NAME, POSTGRES_PORT_NAME } from "./services";
import { reloaderContainer } from "./settings-reloader";
import { failoverAwait } from "./switchover-job";
import type { WebIdentity } from "./web-identity";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** Name of the data volume claim template (PVCs are `data-<statefulset>-0`, see memberDataClaim). */
export const DATA_VOLUME = DATA_CLAIM_TEMPLATE;

/** Probe timing. The startup budget covers crash recovery of a large WAL backlog: 30 minutes. */
export const PROBE_PERIOD_SECONDS = 10;
export const STARTUP_FAILURE_THRESHOLD = 180;
/** Liveness gives two minutes: a restart interrupts whatever PostgreSQL was doing, so only a hang earns one. */
export const LIVENESS_FAILURE_THRESHOLD = 12;
export const READINESS_FAILURE_THRESHOLD = 3;

/**
 * Minutes `pulumi up` waits for a member to turn ready. Pulumi's default for a StatefulSet is 10:
 * shorter than the startup budget above (crash recovery), and a new replica first clones the
 * primary in its init container, before any probe runs. Past this, `up` reports a failure while
 * the member keeps starting.
 */
export const READY_TIMEOUT_MINUTES = (PROBE_PERIOD_SECONDS * STARTUP_FAILURE_THRESHOLD) / 60 + 60;

/**
 * Seconds a member gets to stop. Kubernetes sends SIGTERM, which PostgreSQL treats as a "smart"
 * shutdown that waits for every client to disconnect; the preStop hook asks for a fast shutdown
 * (a checkpoint, then exit) instead, and this bounds the checkpoint before SIGKILL forces crash
 * recovery on the next start.
 */
export const TERMINATION_GRACE_SECONDS = 300;

export interface MemberDependencies {
  readonly namespace: pulumi.Input<string>;
  readonly serviceAccountName: pulumi.Input<string>;
  readonly headlessServiceName: pulumi.Input<string>;
  readonly sources: FileSources;
  /** IRSA: how PostgreSQL's archive_command/restore_command reach S3 (web-id key type). */
  readonly webIdentity?: WebIdentity;
  /** SHA-256 of the member's certificate and CA: a renewal changes it and rolls the pod. */
  readonly certificateHash: pulumi.Input<string>;
  /** The metrics exporter beside PostgreSQL (it shares the socket volume). */
  readonly exporter?: (socketVolume: string) => ExporterSidecar;
}

/** Pod template annotation holding the member's certificate hash. */
export const CERTIFICATE_HASH_ANNOTATION = "pgstack.io/tls-certificate-sha256";
/**
 * Pod template annotation holding the hash of the restart-level settings: only their change
 * restarts PostgreSQL; every other change of postgresql.conf or pg_hba.conf is reloaded in place.
 */
export const RESTART_SETTINGS_ANNOTATION = "pgstack.io/restart-settings-sha256";

/**
 * One member as a StatefulSet of one pod. Its volume outlives the StatefulSet (retention
 * policy Retain on delete and scale-down); init containers vet the data directory before
 * PostgreSQL may touch it (and on a replica clone an empty one from the primary); the primary
 * runs the pgBackRest TLS server beside PostgreSQL for the backup runner.
 */
export function memberStatefulSet(
  spec: ClusterSpec,
  member: MemberSpec,
  deps: MemberDependencies,
  opts: pulumi.CustomResourceOptions,
): k8s.apps.v1.StatefulSet {
  const names = objectNames(spec);
  const { layout, resources, commands } = spec;
  const files = podFiles(spec, deps.sources);
  const volumes: Volume[] = [
    { name: "socket", emptyDir: {} },
    // pgBackRest's lock path lives here; PostgreSQL and the TLS server share it, so their locks agree.
    { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
    // Parallel queries allocate their shared memory in /dev/shm (dynamic_shared_memory_type=posix).
    { name: "shm", emptyDir: { medium: "Memory", sizeLimit: formatQuantity(resources.shmBytes) } },
  ];
  const data: VolumeMount = { name: DATA_VOLUME, mountPath: layout.volumeDir };
  const socket: VolumeMount = { name: "socket", mountPath: layout.socketDir };
  const tmp: VolumeMount = { name: "tmp", mountPath: "/tmp" };
  const mountsFor = (container: string, groups: Parameters<typeof fileMounts>[1]) => {
    const mounted = fileMounts(`${container}-files`, groups);
    volumes.push(...mounted.volumes);
    return mounted.mounts;
  };
  const postgresResources = {
    requests: { cpu: String(resources.cpus), memory: formatQuantity(resources.memoryRequestBytes) },
    limits: { cpu: String(resources.cpus), memory: formatQuantity(resources.memoryLimitBytes) },
  };
  const container = (
    name: string,
    rest: Omit<Container, "name" | "image" | "securityContext">,
  ): Container => ({
    name,
    image: spec.postgres.image,
    imagePullPolicy: "IfNotPresent",
    securityContext: containerSecurityContext,
    ...rest,
  });

  // A replica's first clone runs before any probe: its length grows with the database, and the
  // startup probe's budget is for crash recovery. start-member.sh then finds the volume filled.
  const initContainers: Container[] = [];
  if (member.role === "replica") {
    initContainers.push(
      container("bootstrap-replica", {
        command: replicaBootstrapCommand(spec, member.name),
        resources: postgresResources,
        volumeMounts: [
          data,
          tmp,
          ...mountsFor("bootstrap", [...files.config, ...files.caOnly, ...files.replicationPassword]),
        ],
      }),
    );
  }

  const healthcheck = {
    exec: { command: [...commands.healthcheck] },
    periodSeconds: PROBE_PERIOD_SECONDS,
    timeoutSeconds: 5,
  };
  const postgres = container("postgres", {
    // tini as PID 1, then the rendered start-member.sh (integrity check, initdb only where the
    // stack has no database, roles from the secret files, exec postgres): the same script as Docker.
    command: [...INIT_COMMAND],
    args: memberStartArguments(spec, member.name),
    // IRSA's role and token path only: no secret value is ever in a process environment.
    ...(deps.webIdentity ? { env: [...deps.webIdentity.env] } : {}),
    ports: [{ name: POSTGRES_PORT_NAME, containerPort: layout.port, protocol: "TCP" }],
    resources: postgresResources,
    startupProbe: { ...healthcheck, failureThreshold: STARTUP_FAILURE_THRESHOLD },
    readinessProbe: { ...healthcheck, failureThreshold: READINESS_FAILURE_THRESHOLD },
    livenessProbe: {
      ...healthcheck,
      exec: { command: livenessCommand(commands.healthcheck) },
      failureThreshold: LIVENESS_FAILURE_THRESHOLD,
    },
    lifecycle: {
      preStop: {
        exec: { command: [...spec.commands.fastShutdown] },
      },
    },
    volumeMounts: [
      data,
      socket,
      tmp,
      { name: "shm", mountPath: "/dev/shm" },
      ...mountsFor("postgres", [
        ...files.config,
        ...files.memberTls,
        ...files.memberPgbackrest,
        // The primary sets every role's password on each start; a replica's start only re-runs its
        // bootstrap, which needs the replication password and nothing else.
        ...(member.role === "primary" ? files.passwords : files.replicationPassword),
      ]),
      ...(deps.webIdentity ? [deps.webIdentity.mount] : []),
    ],
  });
  if (deps.webIdentity) volumes.push(deps.webIdentity.volume);

  const settingsFiles = files.config.filter((file) =>
    (SETTINGS_FILES as readonly string[]).includes(file.key),
  );
  const containers: Container[] = [
    postgres,
    container(
      "settings-reloader",
      reloaderContainer(
        spec,
        [socket, tmp, ...mountsFor("reloader", settingsFiles)],
        guaranteed(resources.settingsReloader),
      ),
    ),
  ];
  if (member.role === "primary") {
    const tlsPort = { tcpSocket: { port: PGBACKREST_PORT_NAME }, periodSeconds: PROBE_PERIOD_SECONDS };
    containers.push(
      container("pgbackrest-server", {
        command: [...INIT_COMMAND, ...commands.pgbackrestServer],
        ports: [{ name: PGBACKREST_PORT_NAME, containerPort: layout.pgbackrestServerPort, protocol: "TCP" }],
        resources: guaranteed(resources.pgbackrestServer),
        startupProbe: { ...tlsPort, failureThreshold: STARTUP_FAILURE_THRESHOLD },
        readinessProbe: { ...tlsPort, failureThreshold: READINESS_FAILURE_THRESHOLD },
        livenessProbe: { ...tlsPort, failureThreshold: LIVENESS_FAILURE_THRESHOLD },
        volumeMounts: [
          data,
          socket,
          tmp,
          ...mountsFor("pgbackrest", [...files.memberTls, ...files.memberPgbackrest]),
        ],
      }),
    );
  }

  if (deps.exporter) {
    const exporter = deps.exporter(socket.name as string);
    containers.push(exporter.container);
    volumes.push(...exporter.volumes);
  }

  const name = names.member(member);
  return new k8s.apps.v1.StatefulSet(
    name,
    {
      metadata: {
        name,
        namespace: deps.namespace,
        labels: memberPodLabels(spec, member),
        annotations: failoverAwait(spec, member),
      },
      spec: {
        replicas: 1,
        serviceName: deps.headlessServiceName,
        selector: { matchLabels: memberSelector(spec, member) },
        // The volume is the database: deleting or scaling down the StatefulSet never deletes it.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        updateStrategy: { type: "RollingUpdate" },
        template: {
          metadata: {
            labels: memberPodLabels(spec, member),
            // PostgreSQL and the pgBackRest TLS server load their certificate at start only.
            annotations: {
              [CERTIFICATE_HASH_ANNOTATION]: deps.certificateHash,
              [RESTART_SETTINGS_ANNOTATION]: createHash("sha256")
                .update(restartLevelSettings(spec))
                .digest("hex"),
            },
          },
          spec: {
            ...restrictedPodSpec(deps.serviceAccountName),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            affinity: memberAffinity(spec),
            initContainers,
            containers,
            volumes,
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: DATA_VOLUME, labels: recommendedLabels(spec, "database") },
            spec: {
              accessModes: ["ReadWriteOnce"],
              ...(resources.storageClass !== undefined ? { storageClassName: resources.storageClass } : {}),
              resources: { requests: { storage: formatQuantity(resources.storageBytes) } },
            },
          },
        ],
      },
    },
    {
      ...opts,
      customTimeouts: { create: `${READY_TIMEOUT_MINUTES}m`, update: `${READY_TIMEOUT_MINUTES}m` },
    },
  );
}

/**
 * Members never share a node (required): a replica on the primary's node is lost with it, the
 * one failure it exists for, and a replica left Pending for want of a node is visible, while a
 * co-located one looks healthy. Spreading over zones is preferred only: a zonal volume cannot
 * follow its pod to another zone, and a small cluster may have one.
 */
function memberAffinity(spec: ClusterSpec): k8s.types.input.core.v1.Affinity {
  const labelSelector = { matchLabels: componentSelector(spec, "database") };
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector, topologyKey: "kubernetes.io/hostname" },
      ],
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { labelSelector, topologyKey: "topology.kubernetes.io/zone" } },
      ],
    },
  };
}

/**
 * Liveness asks only whether the postmaster answers. The healthcheck (pg_isready) exits 1 while
 * the server answers but rejects connections: starting, in crash recovery, shutting down. That
 * makes a member unready, but a restart then would begin the recovery again from its start, so
 * only "no response" (2) or "no attempt" (3) fails liveness.
 */
export function livenessCommand(healthcheck: readonly string[]): string[] {
  return ["sh", "-c", '"$@"; [ "$?" -le 1 ]', "liveness", ...healthcheck];
}
