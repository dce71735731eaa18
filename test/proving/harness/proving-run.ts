import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Container } from "./container";
import { type ContainerRoot, createContainerRoot } from "./container-root";
import { ProcessSupervisor, runOk, stopStrays } from "./processes";
import { type NetworkHost, TestNetwork } from "./test-network";

/**
 * What one proving run owns on this machine, and takes down again: a directory (container roots,
 * volumes, logs), the supervised processes, the network namespaces, and the containers (with
 * their memory cgroups). Names resolve the way the platform's DNS would answer them: every host
 * of the run is in every container's /etc/hosts.
 */
export class ProvingRun {
  private readonly hostEntries: { address: string; names: string[] }[] = [];
  private readonly containers: Container[] = [];
  /** Volumes of a fixed size: their mount points, unmounted by `dispose`. */
  private readonly sizedVolumes: string[] = [];

  private constructor(
    readonly root: string,
    readonly supervisor: ProcessSupervisor,
    readonly network: TestNetwork,
  ) {}

  /** `podCidr`: the range the platform gives its workloads, where the stack's rules name one. */
  static async create(label: string, podCidr?: string): Promise<ProvingRun> {
    if (process.getuid?.() !== 0) {
      throw new Error(
        "the proving ground runs each member as its container runs it (PID, mount and network namespaces, " +
          "memory cgroups, other OS users): it needs root. Run the tests as root (sudo -E npm test).",
      );
    }
    const root = await mkdtemp(join(tmpdir(), `pgstack-prove-${label}-`));
    await chmod(root, 0o755);
    await mkdir(join(root, "logs"), { recursive: true });
    const supervisor = new ProcessSupervisor(join(root, "logs"));
    const network = await TestNetwork.create(podCidr);
    return new ProvingRun(root, supervisor, network);
  }

  /** A network namespace for a container or pod, reachable by `names` from every container. */
  async host(label: string, names: readonly string[]): Promise<NetworkHost> {
    const host = await this.network.addHost(label);
    this.hostEntries.push({ address: host.address, names: [...new Set(names)] });
    return host;
  }

  /** Adds names to an existing host (a Service created after its pod). */
  alias(host: NetworkHost, names: readonly string[]): void {
    const entry = this.hostEntries.find((candidate) => candidate.address === host.address);
    if (entry) entry.names.push(...names.filter((name) => !entry.names.includes(name)));
  }

  /**
   * The names `host` answers to now (a Service whose endpoints moved, a network alias that moved
   * to another container): taken from any other host, and every container's /etc/hosts rewritten
   * in place, as the platform's DNS would answer from then on.
   */
  async rename(host: NetworkHost, names: readonly string[]): Promise<void> {
    for (const entry of this.hostEntries) {
      entry.names =
        entry.address === host.address
          ? [...new Set(names)]
          : entry.names.filter((name) => !names.includes(name));
    }
    const text = [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      ...this.hostEntries.map((entry) => `${entry.address}\t${entry.names.join(" ")}`),
      "",
    ].join("\n");
    // Running containers only (a stopped one's root may be being removed), each file replaced
    // whole (a reader never sees it half written).
    for (const container of this.containers.filter((candidate) => candidate.running())) {
      const hosts = join(container.spec.root.path, "etc/hosts");
      await writeFile(`${hosts}.new`, text, { mode: 0o644 })
        .then(() => rename(`${hosts}.new`, hosts))
        .catch(() => {});
    }
  }

  /** A container's root filesystem, with the run's hosts as they are now. */
  async containerRoot(
    name: string,
    hostname: string,
    extraCaPems: readonly string[] = [],
  ): Promise<ContainerRoot> {
    return createContainerRoot(join(this.root, "containers", name), {
      hosts: this.hostEntries,
      hostname,
      extraCaPems,
    });
  }

  /**
   * A volume's directory, made on first use with the owner and mode the runtime gives a new one.
   * With `sizeBytes` (what the platform's claim requests), a filesystem of exactly that size, as a
   * provisioned disk is: ext4 with mkfs' defaults (its own overhead and 5% reserved for root) in a
   * sparse file of the run, loop-mounted at the directory, so a volume fills up here as it would
   * there. Without it, a directory of this machine's filesystem (a Docker local volume has no size).
   */
  async volume(
    name: string,
    owner: { uid: number; gid: number },
    mode: number,
    sizeBytes?: number,
  ): Promise<string> {
    const path = join(this.root, "volumes", name);
    await mkdir(path, { recursive: true });
    if (sizeBytes !== undefined && !this.sizedVolumes.includes(path)) {
      const image = join(this.root, "volume-images", `${name}.ext4`);
      await mkdir(dirname(image), { recursive: true });
      await runOk(["truncate", "-s", String(sizeBytes), image]);
      // Lazy init and noinit_itable: a 200Gi volume costs a few MB of this disk, not its size.
      await runOk(["/usr/sbin/mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", image]);
      await runOk(["mount", "-o", "loop,noinit_itable", image, path]);
      this.sizedVolumes.push(path);
    }
    await chmod(path, mode);
    await chown(path, owner.uid, owner.gid);
    return path;
  }

  /** Registers a container so `dispose` stops it and removes its cgroup. */
  track<T extends Container>(container: T): T {
    this.containers.push(container);
    return container;
  }

  async dispose(options: { readonly keepFiles?: boolean } = {}): Promise<void> {
    for (const container of [...this.containers].reverse()) await container.kill().catch(() => {});
    await this.supervisor.stopAll();
    await stopStrays(this.root);
    for (const container of this.containers) await container.remove().catch(() => {});
    await this.network.dispose();
    // The loop device goes with its mount (mount -o loop sets autoclear).
    for (const path of this.sizedVolumes.splice(0).reverse()) await runOk(["umount", path]).catch(() => {});
    // The containers' mounts (this machine's /usr among them) live in their own mount namespaces;
    // never delete while one of them is visible here.
    const mounted = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .filter((line) => line.split(" ")[4]?.startsWith(this.root));
    if (mounted.length > 0)
      throw new Error(`mounts left under ${this.root}; not removing it:\n${mounted.join("\n")}`);
    if (!options.keepFiles)
      await rm(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
