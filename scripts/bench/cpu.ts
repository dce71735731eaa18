import { readdirSync, readFileSync } from "node:fs";

/** Jiffies of the whole machine from /proc/stat's first line. */
export interface CpuSample {
  readonly busy: number;
  /** Time in processes (user, nice, system), without interrupts: what process accounting can attribute. */
  readonly processes: number;
  readonly iowait: number;
  readonly steal: number;
  readonly total: number;
}

export function sampleCpu(): CpuSample {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return {
    busy,
    processes: user + nice + system,
    iowait,
    steal: steal ?? 0,
    total: busy + idle + iowait + (steal ?? 0),
  };
}

/** Shares of machine CPU time between two samples, in percent. */
export interface CpuShare {
  readonly busyPercent: number;
  readonly iowaitPercent: number;
  readonly stealPercent: number;
}

export function cpuShare(before: CpuSample, after: CpuSample): CpuShare {
  const total = after.total - before.total || 1;
  return {
    busyPercent: (100 * (after.busy - before.busy)) / total,
    iowaitPercent: (100 * (after.iowait - before.iowait)) / total,
    stealPercent: (100 * (after.steal - before.steal)) / total,
  };
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** USER_HZ: 100 on every Linux architecture the benchmark runs on. */
const CLOCK_TICKS = 100;

/** Machine CPU share and one process's CPU seconds over a piece of work. */
export async function withCpu<T>(
  work: () => Promise<T>,
  pid: number | undefined,
): Promise<{ value: T; cpu: CpuShare; processSeconds: number; wallSeconds: number }> {
  const before = sampleCpu();
  const processBefore = pid === undefined ? 0 : processCpuSeconds(pid);
  const started = Date.now();
  const value = await work();
  const wallSeconds = (Date.now() - started) / 1000;
  const processSeconds = pid === undefined ? 0 : processCpuSeconds(pid) - processBefore;
  return { value, cpu: cpuShare(before, sampleCpu()), processSeconds, wallSeconds };
}

/** A process's fields after its command name (which may hold spaces) in /proc/<pid>/stat, or undefined once it is gone. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Jiffies of this benchmark: its own process and every live descendant (the containers, pgbench,
 * pgBackRest, the S3 stand-in), each with its reaped children's time (cutime, cstime), so work
 * that started and ended between two samples is counted too. Processes of a container's PID
 * namespace stay under its PID 1 when their parent exits, so none escapes the tree.
 */
export function benchTreeJiffies(root = process.pid): number {
  const parents = new Map<number, number>();
  const jiffies = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (!fields) continue;
    // After the name: state, ppid (index 1) ... utime, stime, cutime, cstime (indexes 11-14).
    parents.set(Number(entry), Number(fields[1]));
    jiffies.set(
      Number(entry),
      Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
    );
  }
  const inTree = (pid: number): boolean => {
    for (let current = pid, hops = 0; current > 1 && hops < 64; hops++) {
      if (current === root) return true;
      const parent = parents.get(current);
      if (parent === undefined) return false;
      current = parent;
    }
    return false;
  };
  let total = 0;
  for (const [pid, used] of jiffies) if (inTree(pid)) total += used;
  return total;
}

/** Machine CPU time over a run, and the share of it other processes than the benchmark's used. */
export interface RunCpu extends CpuShare {
  /** Busy machine time not spent by the benchmark's process tree, in percent of the machine's time. */
  readonly otherPercent: number;
}

export interface RunCpuSample {
  readonly machine: CpuSample;
  readonly bench: number;
}

export function sampleRunCpu(): RunCpuSample {
  return { machine: sampleCpu(), bench: benchTreeJiffies() };
}

export function runCpu(before: RunCpuSample, after: RunCpuSample): RunCpu {
  const total = after.machine.total - before.machine.total || 1;
  // Interrupt time (the benchmark's own disk and network traffic, mostly) is no process's: left out.
  const busy = after.machine.processes - before.machine.processes;
  const bench = after.bench - before.bench;
  return {
    ...cpuShare(before.machine, after.machine),
    otherPercent: Math.max(0, (100 * (busy - bench)) / total),
  };
}
