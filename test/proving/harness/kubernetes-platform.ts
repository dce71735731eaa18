import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { INIT_COMMAND } from "../../../components/render/commands";
import { shellCommand } from "../../../components/render/shell-quote";
import { PUSHGATEWAY_PORT, pushgatewayName } from "../../../components/spec/monitoring";
import { parseQuantity } from "../../../components/spec/units";
import type { CapturedStack, DeclaredResource } from "./captured-stack";
import { Container, type ContainerMount, type ProbeResult } from "./container";
import { placeFile } from "./container-root";
import {
  dataDirOnHost,
  includeFileKeys,
  type MemberRuntime,
  type MonitoringRuntime,
  type PlatformRuntime,
} from "./platform";
import { pollUntil } from "./poll";
import { type RunResult, run } from "./processes";
import { applyInPulumiOrder, changedResources } from "./program-change";
import type { ProvingRun } from "./proving-run";
import { S3Endpoint, type StsRole } from "./s3-endpoint";
import { IMAGE_ENVIRONMENT, IRSA_TEST_TOKEN, imageAccount, otherImageEntrypoint } from "./substitutions";
import type { NetworkHost } from "./test-network";
import { TlsProvider } from "./tls-provider";

type Json = Record<string, any>;

const MiB = 1024 * 1024;
/** The container runtime's /dev/shm when no Memory emptyDir is mounted there. */
const DEFAULT_SHM_BYTES = 64 * MiB;

/** A Kubernetes quantity of bytes ("8Gi", "183Mi", "512M") as a number. */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) throw new Error(`not a byte quantity: ${quantity}`);
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.floor(Number(match[1]) * (match[2] ? unit[match[2] as keyof typeof unit] : 1));
}

function matches(selector: Json | undefined, labels: Json): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * The IAM roles the stack's pods assume (AWS_ROLE_ARN of their containers), each with the service
 * accounts its trust policy admits and whether its policies let it write into S3: what AWS would
 * enforce, from what the program declared.
 */
function irsaRoles(captured: CapturedStack): StsRole[] {
  const templates = [
    ...captured.ofType("kubernetes:apps/v1:StatefulSet").map((s) => s.props.spec.template.spec as Json),
    ...captured.ofType("kubernetes:batch/v1:Job").map((j) => j.props.spec.template.spec as Json),
    ...captured
      .ofType("kubernetes:batch/v1:CronJob")
      .map((c) => c.props.spec.jobTemplate.spec.template.spec as Json),
  ];
  const arns = new Set(
    templates.flatMap((template) =>
      [
        ...((template.initContainers as Json[] | undefined) ?? []),
        ...(template.containers as Json[]),
      ].flatMap((container) =>
        ((container.env as Json[] | undefined) ?? [])
          .filter((variable) => variable.name === "AWS_ROLE_ARN")
          .map((variable) => variable.value as string),
      ),
    ),
  );
  const rolePolicies = captured.ofType("aws:iam/rolePolicy:RolePolicy");
  const roles: StsRole[] = [];
  for (const role of captured.ofType("aws:iam/role:Role")) {
    const roleArn = [...arns].find((arn) => arn.endsWith(`:role/${role.name}`));
    if (!roleArn) continue;
    const trust = JSON.parse(role.props.assumeRolePolicy as string) as Json;
    const subjects = (trust.Statement as Json[]).flatMap((statement) =>
      Object.entries((statement.Condition?.StringEquals as Json | undefined) ?? {})
        .filter(([key]) => key.endsWith(":sub"))
        .flatMap(([, value]) => (Array.isArray(value) ? value : [value])),
    );
    const policies = rolePolicies.filter((policy) => policy.dependencies.includes(role.urn));
    if (policies.length === 0) throw new Error(`role ${role.name} has no policy the proving ground can read`);
    const actions = policies.flatMap((policy) =>
      ((JSON.parse(policy.props.policy as string) as Json).Statement as Json[])
        .filter((statement) => statement.Effect === "Allow")
        .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action])),
    ) as string[];
    const writes = actions.some((action) =>
      ["*", "s3:*", "s3:PutObject", "s3:DeleteObject"].includes(action),
    );
    roles.push({ roleArn, subjects, readOnly: !writes });
  }
  return roles;
}

/** What a pod needs beyond its spec: its name, namespace, host, persistent volumes. */
interface PodSite {
  readonly name: string;
  readonly namespace: string;
  readonly host: NetworkHost;
  readonly hostname: string;
  /** Persistent volume directories by volume (claim template) name. */
  readonly claims: Readonly<Record<string, string>>;
}

/**
 * One pod as the kubelet runs it: volumes prepared (projected ConfigMap/Secret files with their
 * modes and fsGroup, emptyDirs, the claim), init containers one after another to completion, then
 * the containers; probes as declared; preStop, SIGTERM and the grace period on termination; and,
 * for restartPolicy Always, a restart of a container that exits.
 */
class Pod {
  readonly containers = new Map<string, Container>();
  private terminating = false;

  constructor(
    private readonly spec: Json,
    private readonly site: PodSite,
    private readonly run: ProvingRun,
    private readonly objects: KubernetesObjects,
  ) {}

  private get fsGroup(): number | undefined {
    return this.spec.securityContext?.fsGroup !== undefined
      ? imageAccount(this.spec.securityContext.fsGroup).gid
      : undefined;
  }

  private volumeDirs: Map<string, ContainerMount> | undefined;

  /** The pod's volumes on this machine (made once per pod; claims outlive it). */
  private async volumes(): Promise<Map<string, ContainerMount>> {
    if (this.volumeDirs) return this.volumeDirs;
    const volumes = new Map<string, ContainerMount>();
    const group = this.fsGroup;
    for (const volume of (this.spec.volumes as Json[] | undefined) ?? []) {
      const dir = this.volumeDir(volume);
      if (volume.emptyDir) {
        if (volume.emptyDir.medium === "Memory") {
          const size = volume.emptyDir.sizeLimit ? quantityBytes(volume.emptyDir.sizeLimit) : undefined;
          volumes.set(volume.name, { target: "", tmpfs: { sizeBytes: size, mode: 0o1777 } });
        } else {
          await mkdir(dir, { recursive: true });
          await chmod(dir, group !== undefined ? 0o2777 : 0o777);
          if (group !== undefined) await chown(dir, 0, group);
          volumes.set(volume.name, { target: "", source: dir });
        }
      } else if (volume.projected || volume.configMap || volume.secret) {
        await this.projectFiles(dir, volume);
        volumes.set(volume.name, { target: "", source: dir, readOnly: true });
      } else if (volume.ephemeral) {
        // A generic ephemeral volume: a claim provisioned for this pod, a new ext4 filesystem of the
        // requested size (lost+found and all), its root made group-writable for fsGroup as the
        // kubelet does for claims.
        const request = volume.ephemeral.volumeClaimTemplate?.spec?.resources?.requests?.storage;
        const claim = await this.run.volume(
          `${this.site.name}-${volume.name}`,
          { uid: 0, gid: group ?? 0 },
          group !== undefined ? 0o2775 : 0o755,
          request !== undefined ? quantityBytes(request) : undefined,
        );
        volumes.set(volume.name, { target: "", source: claim });
      } else if (volume.persistentVolumeClaim) {
        const claim = this.site.claims[volume.persistentVolumeClaim.claimName];
        if (!claim) throw new Error(`${this.site.name}: no claim ${volume.persistentVolumeClaim.claimName}`);
        volumes.set(volume.name, { target: "", source: claim });
      } else {
        throw new Error(`${this.site.name}: volume ${volume.name} of a kind the proving ground does not run`);
      }
    }
    for (const [name, claim] of Object.entries(this.site.claims)) {
      if (!volumes.has(name)) volumes.set(name, { target: "", source: claim });
    }
    this.volumeDirs = volumes;
    return volumes;
  }

  private volumeDir(volume: Json): string {
    return join(this.run.root, "pods", this.site.name, "volumes", volume.name);
  }

  /** The kubelet's update of a running pod's ConfigMap/Secret files after their objects changed. */
  async reproject(): Promise<void> {
    if (!this.volumeDirs) return;
    for (const volume of (this.spec.volumes as Json[] | undefined) ?? []) {
      if (volume.projected || volume.configMap || volume.secret) {
        await this.projectFiles(this.volumeDir(volume), volume);
      }
    }
  }

  /** ConfigMap/Secret/token files as the kubelet writes them: root-owned, fsGroup group, mode | 0440 with fsGroup. */
  private async projectFiles(dir: string, volume: Json): Promise<void> {
    await mkdir(dir, { recursive: true });
    const source = volume.projected ?? {
      defaultMode: (volume.configMap ?? volume.secret).defaultMode,
      sources: [volume],
    };
    const defaultMode = source.defaultMode ?? 0o644;
    const group = this.fsGroup;
    const write = async (path: string, content: string, mode: number | undefined) => {
      const file = join(dir, path);
      await mkdir(dirname(file), { recursive: true, mode: 0o755 });
      const finalMode = group !== undefined ? (mode ?? defaultMode) | 0o440 : (mode ?? defaultMode);
      await writeFile(file, content, { mode: finalMode });
      await chmod(file, finalMode);
      await chown(file, 0, group ?? 0);
      if (group !== undefined) {
        await chown(dirname(file), 0, group);
        await chmod(dirname(file), 0o2755);
      }
    };
    for (const entry of source.sources as Json[]) {
      const ref = entry.configMap ?? entry.secret;
      if (ref) {
        const data = entry.configMap
          ? this.objects.configMapData(ref.name)
          : this.objects.secretData(ref.name);
        const items: Json[] =
          (ref.items as Json[] | undefined) ?? Object.keys(data).map((key) => ({ key, path: key }));
        for (const item of items) {
          if (data[item.key] === undefined) throw new Error(`${ref.name} has no key ${item.key}`);
          await write(item.path, data[item.key], item.mode);
        }
      } else if (entry.serviceAccountToken) {
        // IRSA's webhook projects a token of the pod's service account (substitutions.ts).
        const subject = `system:serviceaccount:${this.site.namespace}:${this.spec.serviceAccountName}`;
        await write(entry.serviceAccountToken.path, `${IRSA_TEST_TOKEN}:${subject}`, undefined);
      }
    }
  }

  private async containerFor(container: Json): Promise<Container> {
    const volumes = await this.volumes();
    const mounts: ContainerMount[] = [];
    let shmBytes = DEFAULT_SHM_BYTES;
    for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
      const volume = volumes.get(mount.name);
      if (!volume) throw new Error(`${this.site.name}/${container.name}: no volume ${mount.name}`);
      if (mount.mountPath === "/dev/shm" && volume.tmpfs?.sizeBytes) {
        shmBytes = volume.tmpfs.sizeBytes;
        continue;
      }
      const source = volume.source && mount.subPath ? join(volume.source, mount.subPath) : volume.source;
      mounts.push({
        ...volume,
        source,
        target: mount.mountPath,
        readOnly: volume.readOnly || mount.readOnly === true,
      });
    }
    for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const probe = container[kind] as Json | undefined;
      if (probe && !probe.exec && !probe.tcpSocket && !probe.httpGet) {
        throw new Error(
          `${this.site.name}/${container.name}: a ${kind} of a kind the proving ground does not run`,
        );
      }
    }
    const security = { ...this.spec.securityContext, ...container.securityContext };
    const user = imageAccount(security.runAsUser);
    const env: Record<string, string> = { ...IMAGE_ENVIRONMENT, HOSTNAME: this.site.hostname };
    for (const variable of (container.env as Json[] | undefined) ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom?.secretKeyRef) {
        const ref = variable.valueFrom.secretKeyRef;
        env[variable.name] = this.objects.secretData(ref.name)[ref.key];
      } else
        throw new Error(
          `${container.name}: env ${variable.name} of a kind the proving ground does not resolve`,
        );
    }
    const image = otherImageEntrypoint(container.image)
      ? { entrypoint: [...(otherImageEntrypoint(container.image) ?? [])], cmd: [] }
      : this.objects.image;
    const argv = container.command
      ? [...container.command, ...(container.args ?? [])]
      : [...image.entrypoint, ...(container.args ?? image.cmd)];
    const root = await this.run.containerRoot(
      `${this.site.name}-${container.name}`,
      this.site.hostname,
      this.objects.extraCaPems,
    );
    const limit = container.resources?.limits?.memory;
    if (!limit) throw new Error(`${this.site.name}/${container.name} has no memory limit`);
    return this.run.track(
      new Container(
        {
          name: `${this.site.name}-${container.name}`,
          root,
          argv,
          env,
          user: {
            uid: user.uid,
            gid: security.runAsGroup !== undefined ? imageAccount(security.runAsGroup).gid : user.gid,
            groups: this.fsGroup !== undefined ? [this.fsGroup] : [],
          },
          network: this.site.host,
          memoryLimitBytes: quantityBytes(limit),
          shmBytes,
          mounts,
          readOnlyRoot: security.readOnlyRootFilesystem === true,
          stopSignal: "SIGTERM",
        },
        this.run.supervisor,
      ),
    );
  }

  /** Init containers to completion (a failure fails the pod, with its log), then the containers. */
  async start(): Promise<void> {
    this.terminating = false;
    for (const init of (this.spec.initContainers as Json[] | undefined) ?? []) {
      const container = await this.containerFor(init);
      await container.start();
      const { code } = await container.exited;
      if (code !== 0)
        throw new Error(
          `${this.site.name}: init container ${init.name} exited ${code}:\n${container.log().slice(-4000)}`,
        );
    }
    for (const declared of this.spec.containers as Json[]) {
      let container = this.containers.get(declared.name);
      if (!container) {
        container = await this.containerFor(declared);
        this.containers.set(declared.name, container);
      }
      if (!container.running()) await container.start();
      this.watchExit(declared, container);
    }
  }

  /** restartPolicy Always: the kubelet starts a container again when it exits. */
  private watchExit(declared: Json, container: Container): void {
    if ((this.spec.restartPolicy ?? "Always") !== "Always") return;
    void container.exited
      .then(async () => {
        if (this.terminating) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (this.terminating || container.running()) return;
        await container.start();
        this.watchExit(declared, container);
      })
      .catch(() => {
        // the run is being taken down
      });
  }

  /** The pod is being removed with the run: no container is started again. */
  abandon(): void {
    this.terminating = true;
  }

  declared(name: string): Json {
    const found = (this.spec.containers as Json[]).find((container) => container.name === name);
    if (!found) throw new Error(`${this.site.name} has no container ${name}`);
    return found;
  }

  container(name: string): Container {
    const container = this.containers.get(name);
    if (!container) throw new Error(`${this.site.name}/${name} was never started`);
    return container;
  }

  /** One run of a probe (exec or tcpSocket) of a container, with its timeout. */
  async probe(name: string, kind: "startupProbe" | "readinessProbe" | "livenessProbe"): Promise<ProbeResult> {
    const declared = this.declared(name);
    const probe = declared[kind] as Json | undefined;
    if (!probe) throw new Error(`${this.site.name}/${name} has no ${kind}`);
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    if (probe.exec) return this.container(name).probe(probe.exec.command, timeoutMs);
    const port = (reference: number | string) =>
      typeof reference === "number"
        ? reference
        : ((declared.ports as Json[]).find((candidate) => candidate.name === reference)
            ?.containerPort as number);
    if (probe.tcpSocket) return networkProbe(this.site.host, port(probe.tcpSocket.port), timeoutMs);
    if (probe.httpGet) {
      return networkProbe(this.site.host, port(probe.httpGet.port), timeoutMs, probe.httpGet.path ?? "/");
    }
    throw new Error(`${this.site.name}/${name}: ${kind} of a kind the proving ground does not run`);
  }

  /** Waits as the kubelet would for `ready`: the startup probe passes, then the readiness probe. */
  async ready(timeoutMs: number): Promise<void> {
    for (const declared of this.spec.containers as Json[]) {
      for (const kind of ["startupProbe", "readinessProbe"] as const) {
        if (!declared[kind]) continue;
        const container = this.container(declared.name);
        const starts = container.starts;
        await pollUntil(
          `${this.site.name}/${declared.name} ${kind}`,
          async () => (container.running() && (await this.probe(declared.name, kind)).ok ? true : undefined),
          {
            timeoutMs,
            intervalMs: 500,
            describe: async () => container.log().slice(-3000),
            abortIf: () =>
              !container.running() && container.starts === starts
                ? `${this.site.name}/${declared.name} exited:\n${container.log().slice(-3000)}`
                : undefined,
          },
        );
      }
    }
  }

  /** Termination: each container's preStop hook, then SIGTERM, SIGKILL when the grace period ends. */
  async stop(): Promise<void> {
    this.terminating = true;
    const graceMs = (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    await Promise.all(
      [...this.containers.entries()].map(async ([name, container]) => {
        if (!container.running()) return;
        const started = Date.now();
        const preStop = this.declared(name).lifecycle?.preStop?.exec?.command as string[] | undefined;
        if (preStop) await container.exec(preStop, { timeoutMs: graceMs });
        await container.stop(Math.max(1000, graceMs - (Date.now() - started)));
      }),
    );
  }
}

/**
 * The kubelet's TCP and HTTP probes: a connection to the pod's address and port (and for HTTP a
 * GET of `path` answered with 200-399) within the timeout, from the pod's network.
 */
async function networkProbe(
  host: NetworkHost,
  port: number,
  timeoutMs: number,
  path?: string,
): Promise<ProbeResult> {
  const target = JSON.stringify(host.address);
  const script =
    path === undefined
      ? `const s = require("node:net").connect(${port}, ${target}, () => process.exit(0)); s.on("error", () => process.exit(1));`
      : `require("node:http").get({ host: ${target}, port: ${port}, path: ${JSON.stringify(path)} }, (r) => process.exit(r.statusCode >= 200 && r.statusCode < 400 ? 0 : 1)).on("error", () => process.exit(1));`;
  const result = await run(
    [
      "sh",
      "-c",
      `exec ${shellCommand(["nsenter", `--net=${host.nsPath}`, "--", process.execPath, "-e", `${script} setTimeout(() => process.exit(2), ${timeoutMs});`])}`,
    ],
    { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, timeoutMs: timeoutMs + 10_000 },
  );
  return { ok: result.code === 0, timedOut: result.code === 2, result };
}

/** The objects pods read: ConfigMaps, Secrets, the image, and the trust store's extra CA. */
interface KubernetesObjects {
  configMapData(name: string): Record<string, string>;
  secretData(name: string): Record<string, string>;
  readonly image: { entrypoint: string[]; cmd: string[] };
  readonly extraCaPems: readonly string[];
}

export async function kubernetesRuntime(
  captured: CapturedStack,
  runContext: ProvingRun,
): Promise<PlatformRuntime> {
  const { spec } = captured;
  // The program as last applied: ConfigMaps, Secrets, Services and CronJobs are read from it.
  let current = captured;
  const secrets = captured.ofType("kubernetes:core/v1:Secret");
  // A Secret's `data` is base64 (its `stringData` plain); a ConfigMap's `data` is plain text.
  const data = (objects: DeclaredResource[], name: string) => {
    const object = objects.find((candidate) => candidate.props.metadata?.name === name);
    if (!object) throw new Error(`no object ${name}`);
    if (object.type === "kubernetes:core/v1:ConfigMap")
      return { ...(object.props.data as Record<string, string>) };
    const decoded = Object.fromEntries(
      Object.entries((object.props.data as Record<string, string> | undefined) ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, "base64").toString("utf8"),
      ]),
    );
    return { ...decoded, ...((object.props.stringData as Record<string, string> | undefined) ?? {}) };
  };

  // The S3 stand-in at AWS's names, with a certificate of a test CA the containers trust.
  const s3Names = [
    spec.layout.s3Endpoint,
    `${spec.archive.bucket}.${spec.layout.s3Endpoint}`,
    "sts.amazonaws.com",
  ];
  const testCa = new TlsProvider();
  const caKey = testCa.outputs("tls:index/privateKey:PrivateKey", "proving-ca-key", {
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  }) as Json;
  const caCert = (
    testCa.outputs("tls:index/selfSignedCert:SelfSignedCert", "proving-ca", {
      privateKeyPem: caKey.privateKeyPem,
      subject: { commonName: "pgstack proving AWS stand-in CA" },
      isCaCertificate: true,
      validityPeriodHours: 48,
      allowedUses: ["cert_signing", "digital_signature"],
    }) as Json
  ).certPem as string;
  const s3Key = testCa.outputs("tls:index/privateKey:PrivateKey", "s3-key", {
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  }) as Json;
  const s3Request = testCa.outputs("tls:index/certRequest:CertRequest", "s3-csr", {
    privateKeyPem: s3Key.privateKeyPem,
    subject: { commonName: spec.layout.s3Endpoint },
    dnsNames: s3Names,
  }) as Json;
  const s3Cert = (
    testCa.outputs("tls:index/locallySignedCert:LocallySignedCert", "s3-cert", {
      certRequestPem: s3Request.certRequestPem,
      caPrivateKeyPem: caKey.privateKeyPem,
      caCertPem: caCert,
      validityPeriodHours: 48,
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    }) as Json
  ).certPem as string;

  const dockerfile = await import("node:fs").then((fs) =>
    fs.readFileSync(join(__dirname, "../../../image/Dockerfile"), "utf8"),
  );
  const instruction = (name: string) => {
    const line = dockerfile.split("\n").find((candidate) => candidate.startsWith(`${name} [`));
    return line ? (JSON.parse(line.slice(name.length + 1)) as string[]) : [];
  };
  const objects: KubernetesObjects = {
    configMapData: (name) => data(current.ofType("kubernetes:core/v1:ConfigMap"), name),
    secretData: (name) => data(current.ofType("kubernetes:core/v1:Secret"), name),
    image: { entrypoint: instruction("ENTRYPOINT"), cmd: instruction("CMD") },
    extraCaPems: [caCert],
  };

  // Network: a host per StatefulSet pod, with the Service names that select it.
  const statefulSets = captured.ofType("kubernetes:apps/v1:StatefulSet");
  const podSites = new Map<string, PodSite>();
  const postgres = imageAccount(999);
  /**
   * The names a StatefulSet's pod answers to: its own, and those of the Services selecting its
   * labels (none while no pod runs: a Service without ready endpoints resolves nowhere).
   */
  const podNames = (statefulSet: DeclaredResource, labels: Json | undefined): string[] => {
    const { name, namespace } = statefulSet.props.metadata;
    const podName = `${name}-0`;
    const names = [
      podName,
      `${podName}.${statefulSet.props.spec.serviceName}.${namespace}.svc.cluster.local`,
    ];
    for (const service of labels ? current.ofType("kubernetes:core/v1:Service") : []) {
      if (!matches(service.props.spec.selector, labels as Json)) continue;
      const svc = service.props.metadata.name;
      names.push(
        svc,
        `${svc}.${namespace}`,
        `${svc}.${namespace}.svc`,
        `${svc}.${namespace}.svc.cluster.local`,
      );
      for (const port of service.props.spec.ports as Json[]) {
        const target = port.targetPort ?? port.port;
        const containerPort = (statefulSet.props.spec.template.spec.containers as Json[])
          .flatMap((container) => (container.ports as Json[] | undefined) ?? [])
          .find(
            (candidate) => candidate.name === target || candidate.containerPort === target,
          )?.containerPort;
        // A port no container has gets no endpoint, as on Kubernetes; a renumbered one is not run here.
        if (containerPort !== undefined && containerPort !== port.port) {
          throw new Error(
            `Service ${svc} port ${port.port} → ${target}: the proving ground maps Service ports to the same container port`,
          );
        }
      }
    }
    return names;
  };
  for (const statefulSet of statefulSets) {
    const { name, namespace } = statefulSet.props.metadata;
    const podName = `${name}-0`;
    const host = await runContext.host(
      podName,
      podNames(statefulSet, statefulSet.props.spec.template.metadata.labels),
    );
    const claims: Record<string, string> = {};
    for (const template of (statefulSet.props.spec.volumeClaimTemplates as Json[] | undefined) ?? []) {
      // A new volume: root-owned with lost+found (ext4), group fsGroup with setgid once mounted;
      // an ext4 filesystem of the size the claim requests (see ProvingRun.volume).
      const request = parseQuantity(String(template.spec.resources.requests.storage));
      if (request === undefined)
        throw new Error(
          `claim ${template.metadata.name}: the proving ground reads storage requests like 200Gi, got ${template.spec.resources.requests.storage}`,
        );
      const dir = await runContext.volume(
        `${template.metadata.name}-${podName}`,
        { uid: 0, gid: postgres.gid },
        0o2775,
        request,
      );
      await mkdir(join(dir, "lost+found"), { mode: 0o700 }).catch(() => {});
      claims[template.metadata.name] = dir;
    }
    podSites.set(statefulSet.name, { name: podName, namespace, host, hostname: podName, claims });
  }
  const s3Host = await runContext.host("s3", s3Names);

  const stsRoles = irsaRoles(captured);
  const includeText = secrets
    .map((secret) => data(secrets, secret.props.metadata.name))
    .find((values) => Object.keys(values).some((key) => key.endsWith("pgstack-secrets.conf")));
  const s3 = new S3Endpoint({
    supervisor: runContext.supervisor,
    host: s3Host,
    directory: join(runContext.root, "s3"),
    bucket: spec.archive.bucket,
    port: spec.layout.s3Port,
    serviceEndpoint: spec.layout.s3Endpoint.replace(/^s3\.[^.]+\./, ""),
    name: spec.layout.s3Endpoint,
    certPem: s3Cert,
    keyPem: s3Key.privateKeyPem as string,
    caPem: caCert,
    accounts: includeText ? includeFileKeys(Object.values(includeText).join("\n")) : [],
    sts: stsRoles.length > 0 ? { tokenPrefix: `${IRSA_TEST_TOKEN}:`, roles: stsRoles } : undefined,
  });

  const pods = new Map<string, Pod>();
  const podOf = (statefulSet: DeclaredResource) => {
    let pod = pods.get(statefulSet.name);
    if (!pod) {
      const site = podSites.get(statefulSet.name);
      if (!site) throw new Error(`no site for ${statefulSet.name}`);
      pod = new Pod(statefulSet.props.spec.template.spec, site, runContext, objects);
      pods.set(statefulSet.name, pod);
    }
    return pod;
  };
  const memberOf = (statefulSet: DeclaredResource) =>
    statefulSet.props.spec.template.metadata.labels["pgstack.io/member"] as string;

  const initialPrimarySet = statefulSets.find((statefulSet) => memberOf(statefulSet) === "primary");
  if (!initialPrimarySet) throw new Error("no primary StatefulSet");
  const namespaceOf = (resource: DeclaredResource) => resource.props.metadata.namespace as string;

  const startupBudgetMs = (statefulSet: DeclaredResource) => {
    const probe = (statefulSet.props.spec.template.spec.containers as Json[])[0].startupProbe as
      | Json
      | undefined;
    return probe ? probe.periodSeconds * 1000 * probe.failureThreshold : 600_000;
  };

  /** StatefulSets whose volume is unavailable (a lost member): their pod stays Pending. */
  const unavailable = new Set<string>();
  const memberRuntime = (
    statefulSet: DeclaredResource,
    pod: () => Pod,
    claim: () => string,
  ): MemberRuntime => ({
    name: memberOf(statefulSet),
    get container() {
      return pod().container("postgres");
    },
    get volumeDir() {
      return claim();
    },
    get dataDir() {
      return dataDirOnHost(spec, claim());
    },
    async start(options = {}) {
      // A lost member's volume returned: the kubelet starts its Pending pod.
      if (unavailable.delete(statefulSet.name)) {
        runningLabels.set(
          statefulSet.name,
          statefulSetNamed(statefulSet.name).props.spec.template.metadata.labels,
        );
        await refreshNames();
      }
      await pod().start();
      await pod().ready(Math.min(options.timeoutMs ?? 300_000, startupBudgetMs(statefulSet)));
    },
    stop: () => pod().stop(),
    async lose() {
      unavailable.add(statefulSet.name);
      const lost = pod();
      lost.abandon();
      await Promise.all([...lost.containers.values()].map((container) => container.kill()));
      runningLabels.delete(statefulSet.name);
      await refreshNames();
    },
    ready: () => pod().probe("postgres", "readinessProbe"),
    async recovered(options = {}) {
      const container = pod().container("postgres");
      await pollUntil(`the kubelet to restart ${memberOf(statefulSet)}'s postgres container`, async () =>
        container.running() ? true : undefined,
      );
      await pod().ready(options.timeoutMs ?? 300_000);
    },
    log: () => pod().containers.get("postgres")?.log() ?? "",
  });

  const members: Record<string, MemberRuntime> = {};
  for (const statefulSet of statefulSets) {
    members[memberOf(statefulSet)] = memberRuntime(
      statefulSet,
      () => podOf(statefulSet),
      () => podSites.get(statefulSet.name)?.claims.data ?? "",
    );
  }

  /** A Job's pod (restartPolicy Never): init containers, then the containers, to completion. */
  let jobRuns = 0;
  const runJobPod = async (
    template: Json,
    label: string,
  ): Promise<RunResult & { pod: Pod; podName: string }> => {
    jobRuns++;
    const name = `${label}-${jobRuns}`;
    const host = await runContext.host(name, [name]);
    const pod = new Pod(
      template.spec,
      { name, namespace: namespaceOf(initialPrimarySet), host, hostname: name, claims: {} },
      runContext,
      objects,
    );
    const started = Date.now();
    let output = "";
    let code = 0;
    try {
      await pod.start();
      for (const container of pod.containers.values()) {
        const exit = await container.exited;
        output += `--- ${container.name}\n${container.log()}`;
        if (exit.code !== 0) code = exit.code ?? 1;
      }
    } catch (error) {
      output += (error as Error).message;
      code = 1;
    }
    return {
      argv: [label],
      code,
      signal: null,
      stdout: output,
      stderr: "",
      durationMs: Date.now() - started,
      pod,
      podName: name,
    };
  };

  const cronJob = (kind: string) => {
    const found = current
      .ofType("kubernetes:batch/v1:CronJob")
      .find((candidate) => (candidate.props.metadata.name as string).endsWith(`backup-${kind}`));
    if (!found) throw new Error(`stack ${spec.stack} declares no ${kind} backup CronJob`);
    return found;
  };

  const drillTemplate = (): Json => {
    const drill = captured
      .ofType("kubernetes:batch/v1:CronJob")
      .find((candidate) => (candidate.props.metadata.name as string).endsWith("-restore-drill"));
    if (!drill) throw new Error(`stack ${spec.stack} declares no restore drill CronJob`);
    return drill.props.spec.jobTemplate.spec.template as Json;
  };

  const scratchPods: Pod[] = [];
  let monitoring: MonitoringRuntime | undefined;
  let clientContainer: Container | undefined;
  const client = async (): Promise<Container> => {
    if (clientContainer) return clientContainer;
    const host = await runContext.host("client", ["pgstack-proving-client"]);
    const root = await runContext.containerRoot("client", "pgstack-proving-client", [caCert]);
    const password = data(secrets, `${spec.name}-passwords`)["app-password"] ?? "";
    const ca = data(secrets, `${spec.name}-primary-tls`)["ca.crt"] ?? "";
    await placeFile(root, `${spec.layout.tlsDir}/ca.crt`, ca, postgres, 0o644);
    await placeFile(
      root,
      "/etc/client/pgpass",
      `*:*:*:${spec.postgres.appUser}:${password}\n`,
      postgres,
      0o600,
    );
    clientContainer = runContext.track(
      new Container(
        {
          name: "client",
          root,
          argv: ["tini", "--", "sh", "-c", "while :; do sleep 3600; done"],
          env: { ...IMAGE_ENVIRONMENT, PGPASSFILE: "/etc/client/pgpass" },
          user: { uid: postgres.uid, gid: postgres.gid, groups: [] },
          network: host,
          memoryLimitBytes: 256 * MiB,
          shmBytes: DEFAULT_SHM_BYTES,
          mounts: [],
          readOnlyRoot: false,
          stopSignal: "SIGTERM",
        },
        runContext.supervisor,
      ),
    );
    await clientContainer.start();
    return clientContainer;
  };

  /** The labels of each StatefulSet's running pod (by resource name): what Services select. */
  const runningLabels = new Map<string, Json>();
  const statefulSetNamed = (name: string) =>
    current
      .ofType("kubernetes:apps/v1:StatefulSet")
      .find((candidate) => candidate.name === name) as DeclaredResource;
  /** Service names follow the pods: each pod answers to the Services its running labels match. */
  const refreshNames = async () => {
    for (const [name, site] of podSites) {
      await runContext.rename(site.host, podNames(statefulSetNamed(name), runningLabels.get(name)));
    }
  };
  /** A Job as Pulumi awaits it: its pod to completion, retried up to backoffLimit; a failure fails the step. */
  const runJob = async (job: DeclaredResource): Promise<void> => {
    const attempts = (Number(job.props.spec.backoffLimit ?? 6) || 0) + 1;
    let last: RunResult | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      last = await runJobPod(job.props.spec.template, job.props.metadata.name);
      if (last.code === 0) return;
    }
    throw new Error(`Job ${job.props.metadata.name} failed:\n${last?.stdout ?? ""}`);
  };
  /**
   * A StatefulSet's new template as its controller rolls it (one replica): the pod is deleted
   * (preStop, SIGTERM, grace), then created from the new template on the same claim, and Pulumi
   * awaits it ready. A pod never started in this run only takes the new template.
   */
  const rollStatefulSet = async (next: DeclaredResource): Promise<void> => {
    const old = pods.get(next.name);
    const site = podSites.get(next.name);
    if (!site) throw new Error(`no site for ${next.name}`);
    const pod = new Pod(next.props.spec.template.spec, site, runContext, objects);
    pods.set(next.name, pod);
    if (!old) return;
    if (unavailable.has(next.name)) {
      // The new pod cannot be scheduled where its volume is: Pending, until the volume returns.
      if (next.props.metadata.annotations?.["pulumi.com/skipAwait"] === "true") return;
      throw new Error(
        `${next.name}: its pod stays Pending (its volume is unavailable); Pulumi waits 10 minutes for it and fails`,
      );
    }
    await old.stop();
    runningLabels.delete(next.name);
    await refreshNames();
    await pod.start();
    runningLabels.set(next.name, next.props.spec.template.metadata.labels);
    await refreshNames();
    await pod.ready(startupBudgetMs(next));
  };
  for (const statefulSet of statefulSets) {
    runningLabels.set(statefulSet.name, statefulSet.props.spec.template.metadata.labels);
  }

  return {
    platform: "kubernetes",
    spec,
    s3,
    members,
    get captured() {
      return current;
    },
    async apply(next) {
      const changes = changedResources(current, next);
      const previous = current;
      current = next;
      const report = await applyInPulumiOrder(next, changes, async (change) => {
        const resource = change.after;
        if (resource.type === "kubernetes:batch/v1:Job") await runJob(resource);
        else if (resource.type === "kubernetes:apps/v1:StatefulSet") await rollStatefulSet(resource);
        else if (resource.type === "kubernetes:core/v1:Service") await refreshNames();
        // ConfigMaps, Secrets and CronJobs are read from the applied program when a pod starts;
        // NetworkPolicies, RBAC, budgets and AWS resources are not run by the proving ground.
      });
      // A refused update (the gate) changed no pod: the proofs go on from the program as it was.
      if (report.failure) current = previous;
      return report;
    },
    async writerClient() {
      const readWrite = current
        .ofType("kubernetes:core/v1:Service")
        .find((service) => service.props.spec.selector?.["pgstack.io/role"] === "primary");
      if (!readWrite) throw new Error(`stack ${spec.stack} declares no read-write Service`);
      return {
        container: await client(),
        host: readWrite.props.metadata.name,
        sslmode: "verify-full",
        env: {},
      };
    },
    secretValues: secrets.flatMap((secret) =>
      Object.entries(data(secrets, secret.props.metadata.name))
        .filter(([key]) => !key.endsWith(".crt"))
        .flatMap(([, value]) => value.split("\n"))
        .map((line) => (line.includes("=") ? line.slice(line.indexOf("=") + 1) : line).trim())
        .filter((value) => value.length >= 8 && !value.startsWith("-----")),
    ),
    async deployPrimary() {
      await s3.start();
      // As `pulumi up` creates the stack: the switchover gate first (no member answers yet).
      const jobs = captured.ofType("kubernetes:batch/v1:Job");
      const gate = jobs.find((job) => (job.props.metadata.name as string).endsWith("-switchover-gate"));
      if (!gate) throw new Error(`stack ${spec.stack} declares no switchover gate Job`);
      await runJob(gate);
      await members.primary.start();
      const job = jobs.find((candidate) => (candidate.props.metadata.name as string).endsWith("-stanza"));
      if (!job) throw new Error(`stack ${spec.stack} declares no stanza Job`);
      const result = await runJobPod(job.props.spec.template, "stanza");
      if (result.code !== 0) throw new Error(`the stanza Job failed:\n${result.stdout}`);
    },
    async deployReplica(name) {
      const member = members[name];
      if (!member) throw new Error(`stack ${spec.stack} has no member ${name}`);
      await member.start();
    },
    async deliverSettings(files) {
      for (const configMap of current.ofType("kubernetes:core/v1:ConfigMap")) {
        const data = configMap.props.data as Record<string, string> | undefined;
        if (!data) continue;
        for (const [key, content] of Object.entries(files)) if (key in data) data[key] = content;
      }
      for (const pod of pods.values()) await pod.reproject();
    },
    scheduledBackup: (kind) =>
      runJobPod(cronJob(kind).props.spec.jobTemplate.spec.template, `backup-${kind}`),
    async inDrillContainer(argv) {
      const template = drillTemplate();
      const [container] = template.spec.containers as Json[];
      const {
        pod: _pod,
        podName: _name,
        ...result
      } = await runJobPod(
        {
          ...template,
          spec: { ...template.spec, containers: [{ ...container, command: [...INIT_COMMAND, ...argv] }] },
        },
        "restore-drill-exec",
      );
      return result;
    },
    async restoreDrill() {
      const template = drillTemplate();
      const { pod, podName, ...result } = await runJobPod(template, "restore-drill");
      const scratch = (template.spec.volumes as Json[]).find((volume) =>
        (template.spec.containers[0].volumeMounts as Json[]).some(
          (mount) => mount.name === volume.name && mount.mountPath === spec.layout.drill.scratchDir,
        ),
      );
      if (!scratch?.ephemeral)
        throw new Error("the restore drill's scratch directory is not a volume made for its pod");
      const processesLeft: string[] = [];
      for (const container of pod.containers.values())
        processesLeft.push(...(await container.processNames()));
      return {
        ...result,
        scratchDir: join(runContext.root, "volumes", `${podName}-${scratch.name}`),
        processesLeft,
      };
    },
    async scratchMember(name, argv) {
      // The read-write member's pod as the program now declares it (after a switchover, its
      // ConfigMaps are the new program's).
      const primarySet =
        current
          .ofType("kubernetes:apps/v1:StatefulSet")
          .find(
            (statefulSet) => statefulSet.props.spec.template.metadata.labels["pgstack.io/role"] === "primary",
          ) ?? initialPrimarySet;
      const template = primarySet.props.spec.template.spec as Json;
      const host = await runContext.host(name, [name]);
      const claim = await runContext.volume(`data-${name}`, { uid: 0, gid: postgres.gid }, 0o2775);
      const podSpec = {
        ...template,
        initContainers: [],
        containers: (template.containers as Json[])
          .filter((container) => container.name === "postgres")
          .map((container) => ({ ...container, command: ["tini", "--"], args: argv, lifecycle: undefined })),
      };
      const pod = new Pod(
        podSpec,
        { name, namespace: namespaceOf(primarySet), host, hostname: name, claims: { data: claim } },
        runContext,
        objects,
      );
      scratchPods.push(pod);
      return memberRuntime(
        {
          ...primarySet,
          props: {
            ...primarySet.props,
            spec: {
              ...primarySet.props.spec,
              template: {
                ...primarySet.props.spec.template,
                metadata: { labels: { "pgstack.io/member": name } },
                spec: podSpec,
              },
            },
          },
        },
        () => pod,
        () => claim,
      );
    },
    async sqlClient(member) {
      const host = spec.layout.hosts[member.name];
      const container = await client();
      // Scratch members present the primary's certificate, and have no Service name: by address.
      return host
        ? { container, host, sslmode: "verify-full", env: {} }
        : { container, host: member.container.spec.network.address, sslmode: "require", env: {} };
    },
    async monitoring() {
      if (monitoring) return monitoring;
      // The exporter is a container of each member pod (running with it); the Pushgateway a
      // Deployment's pod behind its Service, with its claim.
      const exporters: Record<string, string> = {};
      for (const statefulSet of statefulSets) {
        const site = podSites.get(statefulSet.name) as PodSite;
        exporters[memberOf(statefulSet)] = `${site.host.address}:${spec.monitoring.exporterPort}`;
      }
      const deployment = captured
        .ofType("kubernetes:apps/v1:Deployment")
        .find((candidate) => candidate.props.metadata.name === pushgatewayName(spec.name));
      if (!deployment) throw new Error(`stack ${spec.stack} declares no Pushgateway (pgstack:monitoring)`);
      const template = deployment.props.spec.template as Json;
      const serviceNames = current
        .ofType("kubernetes:core/v1:Service")
        .filter((service) => matches(service.props.spec.selector, template.metadata.labels))
        .flatMap((service) => {
          const { name, namespace } = service.props.metadata;
          return [
            name,
            `${name}.${namespace}`,
            `${name}.${namespace}.svc`,
            `${name}.${namespace}.svc.cluster.local`,
          ];
        });
      const podName = `${deployment.props.metadata.name}-0`;
      const host = await runContext.host(podName, [podName, ...serviceNames]);
      const claims: Record<string, string> = {};
      for (const volume of (template.spec.volumes as Json[] | undefined) ?? []) {
        const claimName = volume.persistentVolumeClaim?.claimName as string | undefined;
        if (!claimName) continue;
        const group = imageAccount(template.spec.securityContext?.fsGroup ?? 0).gid;
        claims[claimName] = await runContext.volume(claimName, { uid: 0, gid: group }, 0o2775);
      }
      const gateway = new Pod(
        template.spec,
        { name: podName, namespace: namespaceOf(deployment), host, hostname: podName, claims },
        runContext,
        objects,
      );
      pods.set(deployment.name, gateway);
      await gateway.start();
      // The backup CronJob's pod (its image, environment, files), running `argv` as its only container.
      const jobTemplate = cronJob("full").props.spec.jobTemplate.spec.template as Json;
      const main = (jobTemplate.spec.containers as Json[])[0];
      monitoring = {
        exporters,
        pushgateway: `${host.address}:${PUSHGATEWAY_PORT}`,
        runnerCommand: (argv) =>
          runJobPod(
            {
              ...jobTemplate,
              spec: {
                ...jobTemplate.spec,
                initContainers: [],
                containers: [{ ...main, command: [...argv], args: undefined }],
              },
            },
            "runner-command",
          ),
        testHost: await runContext.host("prometheus", ["pgstack-proving-prometheus"]),
        supervisor: runContext.supervisor,
        directory: join(runContext.root, "prometheus"),
      };
      return monitoring;
    },
    addressOf: (member) => member.container.spec.network.address,
    runningContainers() {
      return [...pods.values(), ...scratchPods]
        .flatMap((pod) => [...pod.containers.values()])
        .filter((c) => c.running());
    },
    async dispose(options = {}) {
      for (const pod of [...pods.values(), ...scratchPods]) pod.abandon();
      await runContext.dispose(options);
    },
  };
}
