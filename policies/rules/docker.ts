import type { ResourceValidationPolicy } from "@pulumi/policy";
import { imagePinning } from "./image-reference";
import {
  carriesStackName,
  list,
  type ResourceRule,
  record,
  resourcePolicy,
  stackOfUrn,
  text,
} from "./policy-kit";
import { plaintextSecretReason } from "./secret-values";

export const DOCKER_CONTAINER = "docker:index/container:Container";
export const DOCKER_VOLUME = "docker:index/volume:Volume";
export const DOCKER_REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const DOCKER_IMAGE = "docker:index/image:Image";

/** The parts of a docker.Container's inputs these rules read. */
interface ContainerProps {
  readonly name?: string;
  readonly image?: string;
  readonly memory?: number;
  readonly restart?: string;
  /** A container Pulumi waits for to exit (a one-shot job such as bucket creation). */
  readonly attach?: boolean;
  readonly networkMode?: string;
  readonly healthcheck?: { readonly tests?: readonly string[] };
  readonly ports?: readonly {
    readonly internal?: number;
    readonly external?: number;
    readonly ip?: string;
  }[];
  readonly mounts?: readonly {
    readonly target?: string;
    readonly source?: string;
    readonly type?: string;
    readonly readOnly?: boolean;
  }[];
  readonly volumes?: readonly {
    readonly containerPath?: string;
    readonly hostPath?: string;
    readonly volumeName?: string;
    readonly readOnly?: boolean;
  }[];
  readonly envs?: readonly string[];
  readonly uploads?: readonly { readonly file?: string; readonly permissions?: string }[];
}

const containerPolicy = (rule: Omit<ResourceRule<ContainerProps>, "types">): ResourceValidationPolicy =>
  resourcePolicy<ContainerProps>({ ...rule, types: [DOCKER_CONTAINER] });

/** Long-running containers; one-shot jobs (attach: true) exit by design and are exempt from liveness rules. */
const isService = (container: ContainerProps) => container.attach !== true;

const label = (container: ContainerProps, name: string) => `container ${container.name ?? name}`;

export const dockerHealthcheck = containerPolicy({
  name: "docker-container-healthcheck",
  description:
    "Every long-running container has a healthcheck, so dependants wait for readiness and a hung server is seen.",
  severity: "high",
  remediationSteps:
    'Set healthcheck.tests (e.g. ["CMD", "pg_isready", ...]) with interval, timeout, retries and startPeriod.',
  validate: (container, args, report) => {
    if (!isService(container)) args.notApplicable("one-shot container (attach: true)");
    const tests = list(container.healthcheck?.tests);
    if (tests.length === 0 || tests[0] === "NONE") {
      report(
        `${label(container, args.name)} has no healthcheck: set healthcheck.tests (for PostgreSQL, pg_isready on the local socket) with interval, timeout, retries and startPeriod.`,
      );
    }
  },
});

export const dockerMemoryLimit = containerPolicy({
  name: "docker-container-memory-limit",
  description:
    "Every container has a memory limit, so one runaway process cannot take the host's memory from PostgreSQL.",
  severity: "high",
  remediationSteps: "Set memory (MB) on the container; for PostgreSQL, the stack's pgstack:memoryLimit.",
  validate: (container, args, report) => {
    if (!(typeof container.memory === "number" && container.memory > 0)) {
      report(
        `${label(container, args.name)} has no memory limit: set memory (in MB); PostgreSQL's tuning is computed against pgstack:memoryLimit and must run under it.`,
      );
    }
  },
});

const RESTARTING = ["unless-stopped", "always", "on-failure"];

export const dockerRestartPolicy = containerPolicy({
  name: "docker-container-restart-policy",
  description: "Every long-running container restarts after a crash or a host reboot.",
  severity: "medium",
  remediationSteps: 'Set restart to "unless-stopped".',
  validate: (container, args, report) => {
    if (!isService(container)) args.notApplicable("one-shot container (attach: true)");
    if (!RESTARTING.includes(container.restart ?? "no")) {
      report(
        `${label(container, args.name)} has restart policy "${container.restart ?? "no"}": set restart to "unless-stopped" so it comes back after a crash or reboot.`,
      );
    }
  },
});

const LOOPBACK = ["127.0.0.1", "::1"];

export const dockerLocalhostPorts = containerPolicy({
  name: "docker-container-localhost-ports",
  description: "Published ports bind to 127.0.0.1 only: a dev database is never reachable from the network.",
  severity: "critical",
  remediationSteps:
    'Set ports[].ip to "127.0.0.1" (Docker binds 0.0.0.0 when ip is unset); do not use networkMode host.',
  validate: (container, args, report) => {
    if (container.networkMode === "host") {
      report(
        `${label(container, args.name)} uses networkMode "host", which exposes every port it listens on: use the stack's network and publish ports on 127.0.0.1.`,
      );
    }
    for (const port of list(container.ports).map((p) => record(p) ?? {})) {
      const ip = text(port.ip);
      if (ip === undefined || !LOOPBACK.includes(ip)) {
        report(
          `${label(container, args.name)} publishes port ${String(port.internal)} on ${ip ?? "0.0.0.0 (ip unset)"}: set ports[].ip to "127.0.0.1".`,
        );
      }
    }
  },
});

export const dockerPinnedImage = resourcePolicy<{
  readonly image?: string;
  readonly name?: string;
  readonly imageName?: string;
}>({
  name: "docker-image-pinned",
  description:
    "Images are pinned by version tag or digest, so a redeploy never silently changes PostgreSQL's version.",
  severity: "high",
  remediationSteps:
    "Reference the image by a version tag (postgres 16.11, not 16 or latest) or by @sha256 digest.",
  types: [DOCKER_CONTAINER, DOCKER_REMOTE_IMAGE, DOCKER_IMAGE],
  validate: (props, args, report) => {
    const reference =
      args.type === DOCKER_CONTAINER
        ? props.image
        : args.type === DOCKER_IMAGE
          ? props.imageName
          : props.name;
    if (reference === undefined) {
      report(`${args.type} ${args.name} names no image: reference a pinned tag or digest.`);
      return;
    }
    const { pinned, why } = imagePinning(reference);
    if (!pinned) {
      report(
        `${args.name}: image "${reference}" ${why}: pin a version tag (e.g. 16.11) or an @sha256 digest.`,
      );
    }
  },
});

/** Paths that hold configuration, secrets or certificates inside the container. */
const isConfigPath = (path: string) =>
  /^\/(etc|run\/secrets)\//.test(path) || /\.(conf|crt|key|pem)$/.test(path);

export const dockerReadOnlyConfig = containerPolicy({
  name: "docker-config-read-only",
  description:
    "Configuration, secrets and certificates are mounted read-only, so nothing in the container can rewrite them.",
  severity: "medium",
  remediationSteps:
    "Set readOnly: true on mounts and volumes under /etc, /run/secrets or of .conf/.crt/.key/.pem files.",
  validate: (container, args, report) => {
    for (const mount of list(container.mounts).map((m) => record(m) ?? {})) {
      const target = text(mount.target) ?? "";
      if (isConfigPath(target) && mount.readOnly !== true) {
        report(`${label(container, args.name)} mounts ${target} writable: set readOnly: true on that mount.`);
      }
    }
    // Uploads are copied, not mounted: they stay read-only only if no one but the owner may write them.
    for (const upload of list(container.uploads).map((u) => record(u) ?? {})) {
      const file = text(upload.file) ?? "";
      const mode = Number.parseInt(text(upload.permissions) ?? "0644", 8);
      if (isConfigPath(file) && (mode & 0o022) !== 0) {
        report(
          `${label(container, args.name)} uploads ${file} with mode ${text(upload.permissions)}, writable by group or others: use 0444 (0400 for secrets).`,
        );
      }
    }
    for (const volume of list(container.volumes).map((v) => record(v) ?? {})) {
      const target = text(volume.containerPath) ?? "";
      if (isConfigPath(target) && volume.readOnly !== true) {
        report(
          `${label(container, args.name)} mounts ${target} writable: set readOnly: true on that volume.`,
        );
      }
    }
  },
});

export const dockerVolumeStackName = resourcePolicy<ContainerProps & { readonly name?: string }>({
  name: "docker-volume-stack-name",
  description:
    "Every Docker volume name carries the stack name, so two stacks on one host can never share a data directory.",
  severity: "critical",
  remediationSteps: "Name volumes from the cluster name (pgstack-<stack>-...).",
  types: [DOCKER_VOLUME, DOCKER_CONTAINER],
  validate: (props, args, report) => {
    const stack = stackOfUrn(args.urn);
    if (args.type === DOCKER_VOLUME) {
      const name = props.name ?? args.name;
      if (!carriesStackName(name, stack)) {
        report(
          `volume ${name} does not carry the stack name "${stack}": name it pgstack-${stack}-... so no other stack can mount it.`,
        );
      }
      return;
    }
    const used = [
      ...list(props.volumes).map((v) => text(record(v)?.volumeName)),
      ...list(props.mounts)
        .map((m) => record(m) ?? {})
        .filter((m) => m.type === "volume")
        .map((m) => text(m.source)),
    ].filter((name): name is string => name !== undefined);
    for (const name of used) {
      if (!carriesStackName(name, stack)) {
        report(
          `${label(props, args.name)} mounts volume ${name}, which does not carry the stack name "${stack}": use the stack's own volume.`,
        );
      }
    }
  },
});

export const dockerNoPlaintextSecrets = containerPolicy({
  name: "docker-no-plaintext-secrets",
  description:
    "No secret sits in a container's environment (docker inspect shows it); secrets are uploaded as files.",
  severity: "critical",
  remediationSteps:
    "Upload the secret as a file (uploads with a secret content, mode 0600) and point the program at it (PGPASSFILE, *_FILE).",
  validate: (container, args, report) => {
    for (const entry of list(container.envs)) {
      if (typeof entry !== "string") continue;
      const eq = entry.indexOf("=");
      const name = eq < 0 ? entry : entry.slice(0, eq);
      const reason = plaintextSecretReason(name, eq < 0 ? "" : entry.slice(eq + 1));
      if (reason) {
        report(
          `${label(container, args.name)} sets ${name} in its environment and ${reason}: upload it as a file and pass its path (e.g. ${name}_FILE) instead.`,
        );
      }
    }
  },
});

export const dockerPolicies = [
  dockerHealthcheck,
  dockerMemoryLimit,
  dockerRestartPolicy,
  dockerLocalhostPorts,
  dockerPinnedImage,
  dockerReadOnlyConfig,
  dockerVolumeStackName,
  dockerNoPlaintextSecrets,
];
