import { readFileSync } from "node:fs";
import { join } from "node:path";
import { INIT_COMMAND } from "../../../components/render/commands";
import { readWriteAlias } from "../../../components/spec/layout";
import { PUSHGATEWAY_PORT } from "../../../components/spec/monitoring";
import type { CapturedStack, DeclaredResource } from "./captured-stack";
import { Container, type ContainerMount, type ProbeResult } from "./container";
import { placeFile } from "./container-root";
import { osUser } from "./os-users";
import {
  dataDirOnHost,
  includeFileKeys,
  type MemberRuntime,
  type MonitoringRuntime,
  type PlatformRuntime,
} from "./platform";
import { pollUntil } from "./poll";
import { applyInPulumiOrder, changedResources } from "./program-change";
import type { ProvingRun } from "./proving-run";
import { type S3Account, S3Endpoint } from "./s3-endpoint";
import { IMAGE_ENVIRONMENT, imageAccount, otherImageEntrypoint, otherImageUser } from "./substitutions";
import type { NetworkHost } from "./test-network";

const CONTAINER_TYPE = "docker:index/container:Container";
const MiB = 1024 * 1024;
/** Docker's default /dev/shm. */
const DEFAULT_SHM_BYTES = 64 * MiB;

/** The image's ENTRYPOINT and CMD, read from image/Dockerfile (the JSON forms it uses). */
function imageDefaults(): { entrypoint: string[]; cmd: string[] } {
  const text = readFileSync(join(__dirname, "../../../image/Dockerfile"), "utf8");
  const json = (instruction: string) => {
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${instruction} [`));
    return line ? (JSON.parse(line.slice(instruction.length + 1)) as string[]) : [];
  };
  return { entrypoint: json("ENTRYPOINT"), cmd: json("CMD") };
}

function label(resource: DeclaredResource, key: string): string | undefined {
  return (resource.props.labels as { label: string; value: string }[] | undefined)?.find(
    (entry) => entry.label === key,
  )?.value;
}

/** Go-style durations of the provider's healthcheck ("10s", "2m0s") in milliseconds. */
function durationMs(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(value) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
  }
  return total || fallback;
}

/**
 * One `docker.Container` resource as dockerd runs it: entrypoint + command (the image's where
 * unset; `init: true` puts tini in front), environment (the image's, then the container's),
 * uploads copied into its filesystem with their owners and modes, named volumes (a new one takes
 * the image directory's owner and mode), memory and /dev/shm limits, its healthcheck, its stop
 * signal and timeout, and its restart policy.
 */
class DockerContainer {
  readonly container: Container;
  private stoppedByUser = false;
  private restarting: Promise<void> | undefined;

  constructor(
    readonly resource: DeclaredResource,
    container: Container,
  ) {
    this.container = container;
  }

  get props(): Record<string, any> {
    return this.resource.props;
  }

  async start(): Promise<void> {
    this.stoppedByUser = false;
    await this.container.start();
    this.watchExit();
  }

  /** Restart policy: a container that exits by itself is started again (Docker's unless-stopped). */
  private watchExit(): void {
    const policy = this.props.restart as string | undefined;
    void this.container.exited.then(({ code }) => {
      if (this.stoppedByUser || policy === undefined || policy === "no") return;
      if (policy === "on-failure" && code === 0) return;
      this.restarting = new Promise((resolve) => setTimeout(resolve, 1000))
        .then(async () => {
          if (!this.stoppedByUser && !this.container.running()) await this.start();
        })
        .catch(() => {
          // the run is being taken down
        });
    });
  }

  /** The healthcheck command once, with its timeout, inside the container. */
  healthcheck(): Promise<ProbeResult> {
    const tests = this.props.healthcheck?.tests as string[] | undefined;
    if (!tests || tests[0] !== "CMD") throw new Error(`${this.props.name} has no CMD healthcheck`);
    return this.container.probe(tests.slice(1), durationMs(this.props.healthcheck.timeout, 30_000));
  }

  /** Waits for `healthy`: a passing healthcheck while the container runs (what `wait: true` waits for). */
  async healthy(timeoutMs: number): Promise<void> {
    const starts = this.container.starts;
    await pollUntil(
      `${this.props.name} to turn healthy`,
      async () => (this.container.running() && (await this.healthcheck()).ok ? true : undefined),
      {
        timeoutMs,
        intervalMs: 500,
        describe: async () => this.container.log().slice(-3000),
        abortIf: () =>
          !this.container.running() && this.container.starts === starts
            ? `${this.props.name} exited:\n${this.container.log().slice(-3000)}`
            : undefined,
      },
    );
  }

  /** The container is removed with the run: never started again. */
  abandon(): void {
    this.stoppedByUser = true;
  }

  /** `docker stop`: the stop signal, then SIGKILL after stopTimeout; no restart. */
  async stop(): Promise<void> {
    this.stoppedByUser = true;
    await this.restarting;
    await this.container.stop((Number(this.props.stopTimeout) || 10) * 1000);
  }
}

export async function dockerRuntime(
  captured: CapturedStack,
  runContext: ProvingRun,
): Promise<PlatformRuntime> {
  const { spec } = captured;
  const image = imageDefaults();
  // The program as last applied (a changed program replaces containers: see apply).
  let current = captured;
  const resources = captured.ofType(CONTAINER_TYPE);
  const resourceNamed = (name: string) =>
    current.ofType(CONTAINER_TYPE).find((resource) => resource.name === name) as DeclaredResource;
  const role = (resource: DeclaredResource) => label(resource, "pgstack.role");
  const postgres = osUser("postgres");

  // Hosts: every container of the network, by container name, hostname and aliases; the store's
  // names belong to the S3 stand-in.
  const hosts = new Map<string, NetworkHost>();
  let s3Host: NetworkHost | undefined;
  const namesOf = (resource: DeclaredResource) =>
    [
      resource.props.name,
      resource.props.hostname,
      ...((resource.props.networksAdvanced as { aliases?: string[] }[] | undefined) ?? []).flatMap(
        (network) => network.aliases ?? [],
      ),
    ].filter(Boolean) as string[];
  for (const resource of resources) {
    const names = namesOf(resource);
    if (role(resource) === "object-store-setup") continue;
    const host = await runContext.host(resource.props.name, names);
    if (role(resource) === "object-store") s3Host = host;
    else hosts.set(resource.name, host);
  }
  if (!s3Host) {
    s3Host = await runContext.host("s3", [spec.layout.s3Endpoint]);
  }

  const includeText = resources
    .flatMap((resource) => (resource.props.uploads as { file: string; content: string }[] | undefined) ?? [])
    .find((upload) => upload.file.endsWith("/pgstack-secrets.conf"))?.content;
  const storeCertificate = captured.tls.issued.find((certificate) =>
    certificate.dnsNames.includes(spec.layout.s3Endpoint),
  );
  if (!storeCertificate)
    throw new Error(`no certificate of the stack names the store ${spec.layout.s3Endpoint}`);
  const s3 = new S3Endpoint({
    supervisor: runContext.supervisor,
    host: s3Host,
    directory: join(runContext.root, "s3"),
    bucket: spec.archive.bucket,
    port: spec.layout.s3Port,
    serviceEndpoint: spec.layout.s3Endpoint,
    name: spec.layout.s3Endpoint,
    certPem: storeCertificate.certPem,
    keyPem: storeCertificate.keyPem,
    caPem: captured.tls.authorities[0] ?? "",
    accounts: storeIdentities(resources) ?? (includeText ? includeFileKeys(includeText) : []),
  });

  const volumes = new Map<string, string>();
  const volumeDir = async (name: string) => {
    let dir = volumes.get(name);
    if (!dir) {
      // A new named volume takes the owner and mode of the image's directory it is mounted on:
      // the official image's /var/lib/postgresql/data, postgres 1777.
      dir = await runContext.volume(name, postgres, 0o1777);
      volumes.set(name, dir);
    }
    return dir;
  };

  const build = async (
    resource: DeclaredResource,
    overrides: { name?: string; host?: NetworkHost; argv?: readonly string[]; volumeName?: string } = {},
  ): Promise<DockerContainer> => {
    const props = resource.props;
    const name = overrides.name ?? (props.name as string);
    const host = overrides.host ?? hosts.get(resource.name);
    if (!host) throw new Error(`no network host for ${name}`);
    const root = await runContext.containerRoot(name, overrides.name ?? (props.hostname as string));
    const user = imageAccount(String(props.user ?? otherImageUser(props.image) ?? "postgres").split(":")[0]);
    for (const upload of (props.uploads as Record<string, string>[] | undefined) ?? []) {
      const owner = imageAccount(upload.owner ?? "0");
      await placeFile(
        root,
        upload.file,
        upload.content,
        owner,
        Number.parseInt(upload.permissions ?? "0644", 8),
      );
    }
    const mounts: ContainerMount[] = [];
    for (const mount of (props.mounts as Record<string, any>[] | undefined) ?? []) {
      if (mount.type === "volume") {
        // A scratch copy gets volumes of its own: its data volume, and a fresh one for any other.
        const source = !overrides.volumeName
          ? mount.source
          : mount.target === spec.layout.volumeDir
            ? overrides.volumeName
            : `${name}${mount.target.replaceAll("/", "-")}`;
        mounts.push({ target: mount.target, source: await volumeDir(source) });
      } else if (mount.type === "bind") {
        mounts.push({ target: mount.target, source: mount.source, readOnly: mount.readOnly === true });
      } else if (mount.type === "tmpfs") {
        mounts.push({ target: mount.target, tmpfs: { sizeBytes: mount.tmpfsOptions?.sizeBytes } });
      }
    }
    // Another image's own entrypoint (the exporter's), where the resource names none.
    const other = otherImageEntrypoint(props.image as string | undefined);
    const entrypoint = (props.entrypoints as string[] | undefined) ?? (other ? [...other] : image.entrypoint);
    const command = (props.command as string[] | undefined) ?? (props.entrypoints || other ? [] : image.cmd);
    const argv = overrides.argv
      ? [...INIT_COMMAND, ...overrides.argv]
      : [...(props.init ? INIT_COMMAND : []), ...entrypoint, ...command];
    const env: Record<string, string> = { ...IMAGE_ENVIRONMENT, HOSTNAME: overrides.name ?? props.hostname };
    for (const entry of (props.envs as string[] | undefined) ?? []) {
      const at = entry.indexOf("=");
      env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    const container = new Container(
      {
        name,
        root,
        argv,
        env,
        user: { uid: user.uid, gid: user.gid, groups: [] },
        network: host,
        memoryLimitBytes: (Number(props.memory) || 1024) * MiB,
        shmBytes: props.shmSize ? Number(props.shmSize) * MiB : DEFAULT_SHM_BYTES,
        mounts,
        readOnlyRoot: props.readOnly === true,
        stopSignal: (props.stopSignal as NodeJS.Signals | undefined) ?? "SIGTERM",
      },
      runContext.supervisor,
    );
    return new DockerContainer(resource, runContext.track(container));
  };

  const containers = new Map<string, DockerContainer>();
  const containerOf = async (resource: DeclaredResource) => {
    let found = containers.get(resource.name);
    if (!found) {
      found = await build(resource);
      containers.set(resource.name, found);
    }
    return found;
  };

  const startupBudget = (resource: DeclaredResource) =>
    durationMs(resource.props.healthcheck?.startPeriod, 60_000) +
    (Number(resource.props.healthcheck?.retries) || 3) *
      durationMs(resource.props.healthcheck?.interval, 30_000);

  const memberRuntime = (
    resource: DeclaredResource,
    docker: () => Promise<DockerContainer>,
    existing: () => DockerContainer | undefined,
  ): MemberRuntime => {
    let volume = "";
    // The data volume: the mount at the layout's volume directory (a member also shares its socket).
    const volumeName = (resource.props.mounts as { source: string; target: string }[]).find(
      (mount) => mount.target === spec.layout.volumeDir,
    )?.source as string;
    return {
      name: label(resource, "pgstack.member") ?? resource.name,
      get container() {
        const current = existing();
        if (!current) throw new Error(`${resource.props.name} was never started`);
        return current.container;
      },
      get volumeDir() {
        return volume;
      },
      get dataDir() {
        return dataDirOnHost(spec, volume);
      },
      async start(options = {}) {
        const current = await docker();
        volume = volumes.get(volumeName) ?? (await volumeDir(volumeName));
        if (!current.container.running()) await current.start();
        await current.healthy(options.timeoutMs ?? startupBudget(resource));
      },
      async stop() {
        await existing()?.stop();
      },
      async lose() {
        const current = existing();
        current?.abandon();
        await current?.container.kill();
      },
      ready() {
        const current = existing();
        if (!current) throw new Error(`${resource.props.name} was never started`);
        return current.healthcheck();
      },
      async recovered(options = {}) {
        const current = existing();
        if (!current) throw new Error(`${resource.props.name} was never started`);
        const container = current;
        await pollUntil(`Docker to restart ${resource.props.name}`, async () =>
          container.container.running() ? true : undefined,
        );
        await container.healthy(options.timeoutMs ?? startupBudget(resource));
      },
      log: () => existing()?.container.log() ?? "",
    };
  };

  const members: Record<string, MemberRuntime> = {};
  // PostgreSQL's containers: the exporter beside each member carries its member label too.
  const memberResources = resources.filter(
    (resource) =>
      label(resource, "pgstack.member") !== undefined &&
      (role(resource) === "primary" || role(resource) === "replica"),
  );
  for (const resource of memberResources) {
    members[label(resource, "pgstack.member") as string] = memberRuntime(
      resource,
      () => containerOf(resourceNamed(resource.name)),
      () => containers.get(resource.name),
    );
  }
  const runner = resources.find((resource) => role(resource) === "backup-runner");
  if (!runner) throw new Error(`stack ${spec.stack} declares no backup runner`);

  const scratch: DockerContainer[] = [];
  let monitoring: MonitoringRuntime | undefined;

  /** A one-shot container (`attach`) as the provider runs it: to its exit; a non-zero exit fails the step. */
  const runToExit = async (resource: DeclaredResource): Promise<void> => {
    const docker = await containerOf(resource);
    await docker.start();
    // Its output of this run only: a container of the same name shares its log file, which this
    // run has not written to yet (the gate prints nothing before its first connection).
    const from = docker.container.log().length;
    const { code } = await docker.container.exited;
    if (code !== 0) {
      throw new Error(
        `${resource.props.name} exited ${code}:\n${docker.container.log().slice(from).slice(-4000)}`,
      );
    }
  };
  /**
   * A container whose declaration changed, as the provider replaces it: the old one stopped and
   * removed first (a fixed name: deleteBeforeReplace), the new one created with its names on the
   * network (an alias moves with it), started, and awaited healthy (`wait`) or to its exit
   * (`attach`). A container this run never started only takes the new declaration.
   */
  const replaceContainer = async (next: DeclaredResource): Promise<void> => {
    const old = containers.get(next.name);
    if (!old && !next.props.attach) return;
    if (old) {
      await old.stop();
      await old.container.remove().catch(() => {});
      containers.delete(next.name);
    }
    let host = hosts.get(next.name);
    if (!host) {
      host = await runContext.host(next.props.name, namesOf(next));
      hosts.set(next.name, host);
    }
    await runContext.rename(host, namesOf(next));
    if (next.props.attach) return runToExit(next);
    const created = await containerOf(next);
    await created.start();
    if (next.props.wait) await created.healthy((Number(next.props.waitTimeout) || 60) * 1000);
  };
  const gate = resources.find((resource) => role(resource) === "switchover-gate");
  if (!gate) throw new Error(`stack ${spec.stack} declares no switchover gate`);

  const runtime: PlatformRuntime = {
    platform: "docker",
    spec,
    s3,
    members,
    secretValues: secretUploads(resources),
    get captured() {
      return current;
    },
    async apply(next) {
      const changes = changedResources(current, next);
      const previous = current;
      current = next;
      const report = await applyInPulumiOrder(next, changes, async (change) => {
        if (change.after.type === CONTAINER_TYPE) await replaceContainer(change.after);
        // Volumes, networks, images and certificates are not run by the proving ground.
      });
      // A refused update (the gate) replaced no member: the proofs go on from the program as it was.
      if (report.failure) current = previous;
      return report;
    },
    async writerClient() {
      const alias = readWriteAlias(spec.name);
      const holder = current
        .ofType(CONTAINER_TYPE)
        .find(
          (resource) => label(resource, "pgstack.member") !== undefined && namesOf(resource).includes(alias),
        );
      const member = holder && members[label(holder, "pgstack.member") as string];
      if (!member) throw new Error(`no member of ${spec.stack} holds the alias ${alias}`);
      return runtime.sqlClient(member);
    },
    async deployPrimary() {
      await s3.start();
      // As `pulumi up` creates the stack: the gate first (no member answers yet), then the primary.
      await runToExit(gate);
      await members.primary.start();
      // The runner creates the stanza and checks archiving when it starts, then hands over to its
      // scheduler: it is deployed once its start script got that far.
      const runnerContainer = await containerOf(runner);
      await runnerContainer.start();
      await pollUntil(
        "the backup runner to create the stanza, check archiving and start its schedule",
        async () => {
          if (runnerContainer.container.log().includes("supercronic stand-in")) return true;
          if (!runnerContainer.container.running()) throw new Error("the runner exited");
          return undefined;
        },
        {
          timeoutMs: 180_000,
          intervalMs: 250,
          describe: async () => runnerContainer.container.log().slice(-3000),
        },
      );
    },
    async deployReplica(name) {
      const member = members[name];
      if (!member) throw new Error(`stack ${spec.stack} has no member ${name}`);
      await member.start();
    },
    async deliverSettings(files) {
      for (const resource of memberResources) {
        for (const upload of (resource.props.uploads as Record<string, string>[] | undefined) ?? []) {
          const name = Object.keys(files).find((file) => upload.file === `${spec.layout.configDir}/${file}`);
          if (name === undefined) continue;
          upload.content = files[name] as string;
          // Its replacement is created with the new file; the proof restarts the container.
          const built = containers.get(resource.name);
          if (built) {
            const owner = imageAccount(upload.owner ?? "0");
            const mode = Number.parseInt(upload.permissions ?? "0644", 8);
            await placeFile(built.container.spec.root, upload.file, upload.content, owner, mode);
          }
        }
      }
    },
    async scheduledBackup(kind) {
      const runnerNow = resourceNamed(runner.name);
      const crontab = ((runnerNow.props.uploads as { file: string; content: string }[]) ?? []).find(
        (upload) => upload.file.endsWith(".crontab"),
      )?.content;
      if (!crontab) throw new Error("the runner has no crontab");
      const line = crontab
        .split("\n")
        .find((candidate) => !candidate.startsWith("#") && candidate.includes(`--type=${kind}`));
      if (!line) throw new Error(`the crontab has no ${kind} backup line:\n${crontab}`);
      // supercronic runs a line's command (after its five schedule fields) with /bin/sh -c.
      const command = line.trim().split(/\s+/).slice(5).join(" ");
      const runnerContainer = await containerOf(runnerNow);
      return runnerContainer.container.exec(["/bin/sh", "-c", command], { timeoutMs: 600_000 });
    },
    async restoreDrill() {
      const crontab = ((runner.props.uploads as { file: string; content: string }[]) ?? []).find((upload) =>
        upload.file.endsWith(".crontab"),
      )?.content;
      const line = crontab
        ?.split("\n")
        .find((candidate) => !candidate.startsWith("#") && candidate.includes("restore-drill.sh"));
      if (!line) throw new Error(`the runner's crontab has no restore drill line:\n${crontab}`);
      const command = line.trim().split(/\s+/).slice(5).join(" ");
      const runnerContainer = await containerOf(runner);
      const result = await runnerContainer.container.exec(["/bin/sh", "-c", command], { timeoutMs: 600_000 });
      return {
        ...result,
        scratchDir: join(runnerContainer.container.spec.root.path, spec.layout.drill.scratchDir),
        processesLeft: await runnerContainer.container.processNames(),
      };
    },
    async inDrillContainer(argv) {
      return (await containerOf(runner)).container.exec(argv, { timeoutMs: 120_000 });
    },
    async scratchMember(name, argv) {
      const primary = memberResources.find((resource) => label(resource, "pgstack.member") === "primary");
      if (!primary) throw new Error("no primary container");
      const host = await runContext.host(name, [name]);
      const copy = await build(primary, { name, host, argv, volumeName: `${name}-data` });
      scratch.push(copy);
      return memberRuntime(
        {
          ...primary,
          name,
          props: {
            ...primary.props,
            name,
            mounts: [{ source: `${name}-data`, target: spec.layout.volumeDir }],
          },
        },
        async () => copy,
        () => copy,
      );
    },
    async sqlClient(member) {
      // No allowedCidrs: the stack admits clients on the member's loopback only (the operator's
      // `docker exec`, or the published port): the client runs in the member's container.
      if (spec.network.allowedCidrs.length > 0) {
        throw new Error("the proving ground runs dev stacks without allowedCidrs only");
      }
      const primary = memberResources.find((resource) => label(resource, "pgstack.member") === "primary");
      const uploads = (primary?.props.uploads as { file: string; content: string }[]) ?? [];
      const password = uploads.find((upload) => upload.file.endsWith("/app-password"))?.content ?? "";
      const passfile = "/tmp/pgstack-proving-client.pgpass";
      await placeFile(
        member.container.spec.root,
        passfile,
        `*:*:*:${spec.postgres.appUser}:${password}\n`,
        postgres,
        0o600,
      );
      return {
        container: member.container,
        host: "127.0.0.1",
        sslmode: "require",
        env: { PGPASSFILE: passfile },
      };
    },
    async monitoring() {
      // The exporter beside each member and the Pushgateway: containers of the stack's network.
      const exporters: Record<string, string> = {};
      for (const resource of resources.filter((candidate) => role(candidate) === "exporter")) {
        const docker = await containerOf(resource);
        if (!docker.container.running()) await docker.start();
        exporters[label(resource, "pgstack.member") as string] =
          `${docker.container.spec.network.address}:${spec.monitoring.exporterPort}`;
      }
      const gateway = resources.find((candidate) => role(candidate) === "pushgateway");
      if (!gateway) throw new Error(`stack ${spec.stack} declares no Pushgateway (pgstack:monitoring)`);
      const gatewayContainer = await containerOf(gateway);
      if (!gatewayContainer.container.running()) await gatewayContainer.start();
      const runnerContainer = await containerOf(runner);
      monitoring ??= {
        exporters,
        pushgateway: `${gatewayContainer.container.spec.network.address}:${PUSHGATEWAY_PORT}`,
        runnerCommand: (argv) => runnerContainer.container.exec(argv, { timeoutMs: 60_000 }),
        testHost: await runContext.host("prometheus", ["pgstack-proving-prometheus"]),
        supervisor: runContext.supervisor,
        directory: join(runContext.root, "prometheus"),
      };
      return monitoring;
    },
    addressOf: (member) => member.container.spec.network.address,
    runningContainers() {
      return [...containers.values(), ...scratch]
        .map((docker) => docker.container)
        .filter((c) => c.running());
    },
    async dispose(options = {}) {
      for (const docker of [...containers.values(), ...scratch]) docker.abandon();
      await runContext.dispose(options);
    },
  };
  return runtime;
}

/**
 * The identities the dev store declares (SeaweedFS's s3.json upload), with what each may do: an
 * identity without "Write" is read-only, as SeaweedFS enforces. Undefined without a local store.
 */
function storeIdentities(resources: readonly DeclaredResource[]): S3Account[] | undefined {
  const upload = resources
    .filter((resource) => label(resource, "pgstack.role") === "object-store")
    .flatMap((resource) => (resource.props.uploads as { file: string; content: string }[] | undefined) ?? [])
    .find((candidate) => candidate.file.endsWith("/s3.json"));
  if (!upload) return undefined;
  const { identities } = JSON.parse(upload.content) as {
    identities: { credentials: { accessKey: string; secretKey: string }[]; actions: string[] }[];
  };
  return identities.flatMap((identity) =>
    identity.credentials.map((credential) => ({
      accessKeyId: credential.accessKey,
      secretAccessKey: credential.secretKey,
      readOnly: !identity.actions.includes("Write") && !identity.actions.includes("Admin"),
    })),
  );
}

/** Contents of the secret uploads (mode 0400) of the stack's containers. */
function secretUploads(resources: readonly DeclaredResource[]): string[] {
  const values = new Set<string>();
  for (const resource of resources) {
    for (const upload of (resource.props.uploads as Record<string, string>[] | undefined) ?? []) {
      if (upload.permissions === "0400" && !upload.content.includes("PRIVATE KEY")) {
        for (const line of upload.content.split("\n")) {
          const value = line.includes("=") ? line.slice(line.indexOf("=") + 1) : line;
          if (value.trim().length >= 8) values.add(value.trim());
        }
      }
    }
  }
  return [...values];
}
