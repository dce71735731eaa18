import { readFileSync } from "node:fs";

/** Jiffies of the whole machine from /proc/stat's first line. */
export interface CpuSample {
  readonly busy: number;
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
  return { busy, iowait, steal: steal ?? 0, total: busy + idle + iowait + (steal ?? 0) };
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
