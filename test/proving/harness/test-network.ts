import { randomBytes } from "node:crypto";
import { runOk } from "./processes";

/**
 * The proving run's own network: one network namespace per container (or pod), each with an
 * address on a bridge that lives in a hub namespace of its own. Traffic flows only between the
 * namespaces this run creates; nothing is attached to the machine's own network, and `dispose`
 * removes every namespace (and with them their links).
 *
 * Addresses: a /24 per run, picked at random so concurrent runs do not meet, inside the range
 * the platform gives its workloads when the stack's rules depend on it (a Kubernetes stack's pod
 * CIDR, which pg_hba.conf admits replication and clients from), else inside 198.18.0.0/15, the
 * range set aside for benchmarking networks (RFC 2544). Either way they exist only inside the
 * run's own namespaces.
 */
export interface NetworkHost {
  /** Name of the network namespace (`ip netns`), and its path for nsenter. */
  readonly netns: string;
  readonly nsPath: string;
  readonly address: string;
}

export class TestNetwork {
  private readonly hosts: NetworkHost[] = [];
  private hubCreated = false;

  private constructor(
    private readonly id: string,
    private readonly subnet: string,
  ) {}

  static async create(podCidr?: string): Promise<TestNetwork> {
    const id = randomBytes(3).toString("hex");
    const network = new TestNetwork(id, subnetWithin(podCidr ?? "198.18.0.0/15"));
    try {
      await runOk(["ip", "netns", "add", network.hub]);
      network.hubCreated = true;
      await runOk(["ip", "-n", network.hub, "link", "add", "br0", "type", "bridge"]);
      await runOk(["ip", "-n", network.hub, "link", "set", "br0", "up"]);
    } catch (error) {
      await network.dispose();
      throw new Error(
        `the proving ground could not create its network namespaces (ip netns, needs root): ${(error as Error).message}`,
      );
    }
    return network;
  }

  private get hub(): string {
    return `pgs-${this.id}-hub`;
  }

  /** A new namespace with loopback and one address on the run's bridge. */
  async addHost(label: string): Promise<NetworkHost> {
    const index = this.hosts.length;
    if (index > 250) throw new Error("the proving network holds 250 hosts at most");
    const netns = `pgs-${this.id}-${index}-${label}`.slice(0, 60);
    const address = `${this.subnet}.${index + 2}`;
    const hostSide = `v${this.id}${index}`;
    // Taken before the first await: hosts added at once get distinct indexes.
    const host: NetworkHost = { netns, nsPath: `/run/netns/${netns}`, address };
    this.hosts.push(host);
    await runOk(["ip", "netns", "add", netns]);
    await runOk(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await runOk(["ip", "link", "set", hostSide, "netns", this.hub]);
    await runOk(["ip", "-n", this.hub, "link", "set", hostSide, "master", "br0"]);
    await runOk(["ip", "-n", this.hub, "link", "set", hostSide, "up"]);
    await runOk(["ip", "-n", netns, "addr", "add", `${address}/24`, "dev", "eth0"]);
    await runOk(["ip", "-n", netns, "link", "set", "eth0", "up"]);
    await runOk(["ip", "-n", netns, "link", "set", "lo", "up"]);
    return host;
  }

  /** Removes every namespace of the run (their veth links go with them). */
  async dispose(): Promise<void> {
    for (const host of this.hosts.splice(0)) await runOk(["ip", "netns", "del", host.netns]).catch(() => {});
    if (this.hubCreated) await runOk(["ip", "netns", "del", this.hub]).catch(() => {});
    this.hubCreated = false;
  }
}

/** The first three octets of a random /24 inside an IPv4 CIDR of prefix length 8 to 24. */
export function subnetWithin(cidr: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!match || Number(match[5]) > 24 || Number(match[5]) < 8) {
    throw new Error(`the proving network needs an IPv4 range of /8 to /24, got ${cidr}`);
  }
  const base = match.slice(1, 4).map(Number);
  const free = 24 - Number(match[5]);
  const offset = randomBytes(2).readUInt16BE(0) % 2 ** free;
  const value = ((base[0] << 16) | (base[1] << 8) | base[2]) + offset;
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255].join(".");
}
