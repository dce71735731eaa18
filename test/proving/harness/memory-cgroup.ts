import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A memory cgroup of its own for one container, under the test process's own cgroup, with the
 * container's memory limit: page cache is charged to it as in a container, and the kernel's OOM
 * killer acts on it alone. cgroup v1 (`memory.limit_in_bytes`, this kind of machine) and v2
 * (`memory.max`, e.g. GitHub's runners).
 */
export class MemoryCgroup {
  private constructor(
    readonly path: string,
    readonly version: 1 | 2,
    readonly limitBytes: number,
  ) {}

  /** Creates `<own cgroup>/<name>` with `limitBytes`; throws saying what is missing when it cannot. */
  static async create(name: string, limitBytes: number): Promise<MemoryCgroup> {
    const { path, version } = childPath(name);
    await mkdir(path, { recursive: true });
    const cgroup = new MemoryCgroup(path, version, limitBytes);
    if (version === 1) {
      await writeFile(join(path, "memory.limit_in_bytes"), String(limitBytes));
      // No swap beyond the limit where the kernel accounts swap (as Docker's memorySwap = memory).
      if (existsSync(join(path, "memory.memsw.limit_in_bytes")))
        await writeFile(join(path, "memory.memsw.limit_in_bytes"), String(limitBytes));
    } else {
      await writeFile(join(path, "memory.max"), String(limitBytes));
      if (existsSync(join(path, "memory.swap.max"))) await writeFile(join(path, "memory.swap.max"), "0");
    }
    return cgroup;
  }

  /** The file a process writes its PID to, to move itself (and its future children) in. */
  get procsFile(): string {
    return join(this.path, "cgroup.procs");
  }

  /** Processes the kernel's OOM killer ended in this cgroup. */
  async oomKills(): Promise<number> {
    const file = this.version === 1 ? "memory.oom_control" : "memory.events";
    const match = /^oom_kill (\d+)$/m.exec(await readFile(join(this.path, file), "utf8"));
    return match ? Number(match[1]) : 0;
  }

  /** Highest memory use seen (page cache included), in bytes; undefined where the kernel keeps none. */
  async peakBytes(): Promise<number | undefined> {
    const file = this.version === 1 ? "memory.max_usage_in_bytes" : "memory.peak";
    if (!existsSync(join(this.path, file))) return undefined;
    return Number((await readFile(join(this.path, file), "utf8")).trim());
  }

  /** Memory in use now, page cache included. */
  async usageBytes(): Promise<number> {
    const file = this.version === 1 ? "memory.usage_in_bytes" : "memory.current";
    return Number((await readFile(join(this.path, file), "utf8")).trim());
  }

  /**
   * Memory the kernel cannot reclaim under the limit (no swap): anonymous pages (what processes
   * allocated: work_mem, backends) plus shared memory (shared_buffers). Page cache is left out: it
   * fills any limit when the data set is larger, and is dropped before an OOM kill.
   */
  async unreclaimableBytes(): Promise<number> {
    const stat = await readFile(join(this.path, "memory.stat"), "utf8");
    const keys = this.version === 1 ? ["total_rss", "total_shmem"] : ["anon", "shmem"];
    return keys.reduce(
      (sum, key) => sum + Number(new RegExp(`^${key} (\\d+)$`, "m").exec(stat)?.[1] ?? 0),
      0,
    );
  }

  /** Removes the cgroup once its processes are gone (retries while the kernel still counts them). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await rmdir(this.path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`memory cgroup ${this.path} still has processes`);
  }
}

/** Where a child of this process's own memory cgroup lives, for cgroup v1 or v2. */
function childPath(name: string): { path: string; version: 1 | 2 } {
  const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
  if (v1 && existsSync("/sys/fs/cgroup/memory")) {
    return { path: join("/sys/fs/cgroup/memory", v1.split(":")[2], name), version: 1 };
  }
  const v2 = lines.find((line) => line.startsWith("0::"));
  if (v2 && existsSync("/sys/fs/cgroup/cgroup.controllers")) {
    const own = join("/sys/fs/cgroup", v2.slice(3));
    // cgroup v2 lets a cgroup with processes of its own have no children with controllers (a
    // runner's own cgroup usually has): then a group of the run's own at the root holds them.
    const controllers = readFileSync(join(own, "cgroup.subtree_control"), "utf8");
    const base = controllers.split(/\s+/).includes("memory")
      ? own
      : join("/sys/fs/cgroup", "pgstack-proving");
    if (base !== own) {
      mkdirSync(base, { recursive: true });
      const enabled = readFileSync(join(base, "cgroup.subtree_control"), "utf8").split(/\s+/);
      if (!enabled.includes("memory")) {
        try {
          writeFileSync(join(base, "cgroup.subtree_control"), "+memory");
        } catch (error) {
          throw new Error(
            `the proving ground needs the memory controller for child cgroups (cgroup v2): enabling it in ${base} failed: ${(error as Error).message}`,
          );
        }
      }
    }
    return { path: join(base, name), version: 2 };
  }
  throw new Error("the proving ground needs a memory cgroup controller (cgroup v1 memory or v2 memory)");
}
