import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { OsUser } from "./os-users";

/** PATH of every process the proving ground starts; the PostgreSQL 15 binaries first, as in the image. */
export const PROVING_PATH = "/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin";

export interface ProcessOptions {
  /** OS account to run as (uid/gid set by the kernel, supplementary groups dropped); root when unset. */
  readonly user?: OsUser;
  /** Extra environment; PATH, LANG and HOME are always set and nothing else leaks from this process. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface RunOptions extends ProcessOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Called with the child's PID once it has been spawned. */
  readonly onSpawn?: (pid: number) => void;
  /**
   * Resolve when the process exits, with the output read so far, instead of when its output
   * closes: children it left behind (a killed probe's) may hold the pipes open for long.
   */
  readonly resolveOnExit?: boolean;
}

export interface RunResult {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

function environment(options: ProcessOptions): NodeJS.ProcessEnv {
  return { PATH: PROVING_PATH, LANG: "C.UTF-8", HOME: options.cwd ?? "/tmp", ...options.env };
}

function spawnOptions(options: ProcessOptions) {
  return {
    env: environment(options),
    cwd: options.cwd ?? "/tmp",
    uid: options.user?.uid,
    gid: options.user?.gid,
  };
}

/** Runs a command to completion; never throws on a non-zero exit (callers assert on `code`). */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      ...spawnOptions(options),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once(options.resolveOnExit ? "exit" : "close", (code, signal) => {
      clearTimeout(timer);
      resolve({ argv, code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
    if (child.stdin) {
      // A command that exits without reading its input must not crash the harness (EPIPE).
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** Runs a command and throws, with the command and its output, unless it exits 0. */
export async function runOk(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(argv, options);
  if (result.code !== 0) throw new Error(describeFailure(result));
  return result;
}

export function describeFailure(result: RunResult): string {
  const status = result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
  return [`command failed (${status}): ${result.argv.join(" ")}`, result.stdout.trim(), result.stderr.trim()]
    .filter(Boolean)
    .join("\n");
}

/** A long-running process the supervisor owns. */
export interface Supervised {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** The process's stdout and stderr so far. */
  log(): string;
}

/**
 * Starts long-running processes and stops every one of them by PID: the signal that asks it to
 * stop, then SIGKILL after a timeout. `stopAll` runs in afterAll, also after a failed test; an
 * exit hook kills whatever is still running if the test process itself dies first.
 */
export class ProcessSupervisor {
  private readonly children = new Map<
    number,
    { proc: Supervised; child: ChildProcess; stopSignal: NodeJS.Signals }
  >();
  private readonly exitHook = () => {
    for (const pid of this.children.keys()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };

  constructor(private readonly logDir: string) {
    process.once("exit", this.exitHook);
  }

  start(
    name: string,
    argv: readonly string[],
    options: ProcessOptions & { readonly stopSignal?: NodeJS.Signals } = {},
  ): Supervised {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn(argv[0], argv.slice(1), { ...spawnOptions(options), stdio: ["ignore", fd, fd] });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${name}: ${argv.join(" ")}`);
    const pid = child.pid;
    let alive = true;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => {
        alive = false;
        this.children.delete(pid);
        resolve({ code, signal });
      });
    });
    const proc: Supervised = {
      name,
      pid,
      logFile,
      exited,
      running: () => alive,
      log: () => readFileSync(logFile, "utf8"),
    };
    this.children.set(pid, { proc, child, stopSignal: options.stopSignal ?? "SIGTERM" });
    return proc;
  }

  /** Asks the process to stop with its stop signal; SIGKILL if it is still running after `timeoutMs`. */
  async stop(proc: Supervised, timeoutMs = 15_000): Promise<void> {
    const entry = this.children.get(proc.pid);
    if (!entry || !proc.running()) return;
    entry.child.kill(entry.stopSignal);
    const stopped = await Promise.race([
      proc.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
    ]);
    if (!stopped) {
      entry.child.kill("SIGKILL");
      await proc.exited;
    }
  }

  /** Sends a signal (SIGKILL for a crash) and waits until the process is gone. */
  async kill(proc: Supervised, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const entry = this.children.get(proc.pid);
    if (!entry || !proc.running()) return;
    entry.child.kill(signal);
    await proc.exited;
  }

  /**
   * Stops every process, last started first: PostgreSQL stops before the S3 server it archives
   * to, so its final archive pass can finish instead of hanging on a dead endpoint.
   */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    const procs = [...this.children.values()].map((entry) => entry.proc).reverse();
    for (const proc of procs) await this.stop(proc, timeoutMs);
    process.removeListener("exit", this.exitHook);
  }

  /** Everything a process of this name wrote, over all its runs (they share one log file). */
  logOf(name: string): string {
    try {
      return readFileSync(join(this.logDir, `${name}.log`), "utf8");
    } catch {
      return "";
    }
  }

  runningCount(): number {
    return this.children.size;
  }
}

/**
 * Processes started by the ones the supervisor owns and left behind when their parent died (a
 * pgBackRest archive-push of a killed postmaster): found by their command line naming `marker`,
 * a path unique to one run, and stopped by PID (SIGTERM, then SIGKILL).
 */
export async function stopStrays(marker: string, timeoutMs = 5_000): Promise<number[]> {
  const strays = await findProcesses(marker);
  for (const pid of strays) signal(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await findProcesses(marker)).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const pid of await findProcesses(marker)) signal(pid, "SIGKILL");
  return strays;
}

async function findProcesses(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
