import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { shellCommand, shellQuote } from "../../../components/render/shell-quote";
import type { ContainerRoot } from "./container-root";
import { MemoryCgroup } from "./memory-cgroup";
import { pollUntil } from "./poll";
import { type ProcessSupervisor, type RunResult, run, type Supervised } from "./processes";
import type { NetworkHost } from "./test-network";

/**
 * One container as a runtime runs it: its command as PID 1 of a PID namespace of its own,
 * chrooted into its root filesystem with its mounts at their paths, in its network namespace, as
 * its user with no capabilities and no-new-privileges, in a memory cgroup with its limit. `exec`
 * and `probe` enter the same namespaces and cgroup, as `docker exec`, the kubelet's exec probes
 * and Docker's healthchecks do.
 */
export interface ContainerMount {
  readonly target: string;
  /** A directory or file of this machine bound at `target`; absent for a tmpfs. */
  readonly source?: string;
  readonly tmpfs?: { readonly sizeBytes?: number; readonly mode?: number };
  readonly readOnly?: boolean;
}

export interface ContainerUser {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (Kubernetes' fsGroup). */
  readonly groups: readonly number[];
}

export interface ContainerSpec {
  /** Unique in the run: the cgroup and log are named after it. */
  readonly name: string;
  readonly root: ContainerRoot;
  /** Entrypoint and command, as the platform composes them (Docker) or as the pod says (Kubernetes). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user: ContainerUser;
  readonly network: NetworkHost;
  readonly memoryLimitBytes: number;
  /** Size of /dev/shm (Docker's shmSize; a Memory emptyDir on Kubernetes). */
  readonly shmBytes: number;
  readonly mounts: readonly ContainerMount[];
  readonly readOnlyRoot: boolean;
  /** What the platform sends PID 1 to stop the container. */
  readonly stopSignal: NodeJS.Signals;
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Extra environment for this exec only (e.g. PGPASSFILE of a client). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly result: RunResult;
}

export class Container {
  private proc: Supervised | undefined;
  private cgroupHandle: MemoryCgroup | undefined;
  private pid1Host: number | undefined;
  private incarnation = 0;

  constructor(
    readonly spec: ContainerSpec,
    private readonly supervisor: ProcessSupervisor,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get cgroup(): MemoryCgroup {
    if (!this.cgroupHandle) throw new Error(`${this.name} has not been started`);
    return this.cgroupHandle;
  }

  /** Host PID of the container's PID 1. */
  get pid1(): number {
    if (this.pid1Host === undefined || !this.running()) throw new Error(`${this.name} is not running`);
    return this.pid1Host;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  /** Resolves with the container's exit status (128+n for a signal, as a runtime reports it). */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.proc) throw new Error(`${this.name} has not been started`);
    return this.proc.exited;
  }

  log(): string {
    return this.proc?.log() ?? "";
  }

  /** Starts (or restarts, with the same root and volumes) the container. */
  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running`);
    this.incarnation++;
    // Named per test process and run (the run's directory, <run>/containers/<name>): concurrent
    // proving runs, and two runs of one process (a stack beside its changed copy), never share one.
    this.cgroupHandle ??= await MemoryCgroup.create(
      `pgstack-${process.pid}-${basename(dirname(dirname(this.spec.root.path)))}-${this.name}`,
      this.spec.memoryLimitBytes,
    );
    const wrapper = [
      `echo $$ > ${shellQuote(this.cgroupHandle.procsFile)}`,
      `exec ${shellCommand([
        "nsenter",
        `--net=${this.spec.network.nsPath}`,
        "--",
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        this.setupScript(),
      ])}`,
    ].join("\n");
    const proc = this.supervisor.start(this.name, ["sh", "-c", wrapper], {
      stopSignal: "SIGKILL",
      env: { PATH: RUNTIME_PATH },
    });
    this.proc = proc;
    let exitedEarly = false;
    this.pid1Host = await pollUntil(`${this.name}'s PID 1`, async () => {
      if (!proc.running()) {
        exitedEarly = true;
        return -1;
      }
      const children = await readFile(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").catch(() => "");
      const pid = Number(children.trim().split(/\s+/)[0]);
      return pid > 0 ? pid : undefined;
    });
    if (exitedEarly) this.pid1Host = undefined;
  }

  /** Mounts, then the command as PID 1 (exec: the setup shell becomes it). Runs as root in the new namespaces. */
  private setupScript(): string {
    const { root, mounts, readOnlyRoot, user, env, argv, shmBytes } = this.spec;
    const at = (path: string) => shellQuote(`${root.path}${path}`);
    const lines = [
      "set -eu",
      `mount --bind ${shellQuote(root.path)} ${shellQuote(root.path)}`,
      `mount --rbind /usr ${at("/usr")}`,
      `mount -o remount,bind,ro ${at("/usr")}`,
      `mount --bind ${shellQuote(root.localBin)} ${at("/usr/local/bin")}`,
      `mount -o remount,bind,ro ${at("/usr/local/bin")}`,
      `mount -t proc proc ${at("/proc")}`,
      `mount --rbind /dev ${at("/dev")}`,
      `mount -t tmpfs -o size=${shmBytes},mode=1777 shm ${at("/dev/shm")}`,
    ];
    for (const mount of [...mounts].sort((a, b) => a.target.length - b.target.length)) {
      if (mount.tmpfs) {
        const size = mount.tmpfs.sizeBytes !== undefined ? `size=${mount.tmpfs.sizeBytes},` : "";
        lines.push(`mkdir -p ${at(mount.target)}`);
        lines.push(
          `mount -t tmpfs -o ${size}mode=${(mount.tmpfs.mode ?? 0o1777).toString(8)} tmpfs ${at(mount.target)}`,
        );
      } else if (mount.source) {
        lines.push(
          `if [ -d ${shellQuote(mount.source)} ]; then mkdir -p ${at(mount.target)}; else mkdir -p "$(dirname ${at(mount.target)})"; [ -e ${at(mount.target)} ] || : > ${at(mount.target)}; fi`,
        );
        lines.push(`mount --bind ${shellQuote(mount.source)} ${at(mount.target)}`);
        if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${at(mount.target)}`);
      }
    }
    if (readOnlyRoot) lines.push(`mount -o remount,bind,ro ${shellQuote(root.path)}`);
    lines.push(
      `exec ${shellCommand(["chroot", root.path, ...privileges(user), ...environment(env), ...argv])}`,
    );
    return lines.join("\n");
  }

  /** Runs a command inside the container (`docker exec`, `kubectl exec`), as the container's user. */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    return run(this.execArgv(argv, options), {
      timeoutMs: options.timeoutMs ?? 120_000,
      input: options.input,
    });
  }

  async execOk(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) {
      throw new Error(
        `${this.name}: ${argv.join(" ")} exited ${result.code ?? result.signal}\n${result.stdout}${result.stderr}`,
      );
    }
    return result;
  }

  private execArgv(argv: readonly string[], options: ExecOptions): string[] {
    const enter = [
      "nsenter",
      `--target=${this.pid1}`,
      "--mount",
      "--pid",
      "--net",
      "--root",
      "--wd",
      "--",
      ...privileges(this.spec.user),
      ...environment({ ...this.spec.env, ...options.env }),
      ...argv,
    ];
    return [
      "sh",
      "-c",
      `PATH=${RUNTIME_PATH}\necho $$ > ${shellQuote(this.cgroup.procsFile)}\nexec ${shellCommand(enter)}`,
    ];
  }

  /**
   * An exec probe as the kubelet and dockerd run one: the command in the container's namespaces;
   * at the timeout the command's own process is killed, and any children it started are left to
   * the container's PID 1, as a runtime leaves them.
   */
  async probe(argv: readonly string[], timeoutMs: number): Promise<ProbeResult> {
    let timedOut = false;
    let nsenterPid: number | undefined;
    const started = run(this.execArgv(argv, {}), {
      timeoutMs: timeoutMs + 60_000,
      resolveOnExit: true,
      onSpawn: (pid) => {
        nsenterPid = pid;
      },
    });
    const timer = setTimeout(async () => {
      timedOut = true;
      if (nsenterPid === undefined) return;
      const children = await readFile(`/proc/${nsenterPid}/task/${nsenterPid}/children`, "utf8").catch(
        () => "",
      );
      for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    const result = await started;
    clearTimeout(timer);
    return { ok: !timedOut && result.code === 0, timedOut, result };
  }

  /** Sends a signal to the container's PID 1 (`docker kill -s`). */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid1, signal);
  }

  /**
   * Stops the container as its runtime does: the stop signal to PID 1, then SIGKILL after
   * `graceMs` (which ends every process of the PID namespace).
   */
  async stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const proc = this.proc;
    if (!proc || !proc.running()) return proc ? proc.exited : { code: null, signal: null };
    try {
      this.signal(this.spec.stopSignal);
    } catch {
      // PID 1 is already gone
    }
    const stopped = await Promise.race([
      proc.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs)),
    ]);
    if (!stopped) await this.supervisor.kill(proc, "SIGKILL").then(() => this.killPid1());
    return proc.exited;
  }

  /** SIGKILL to PID 1: the kernel ends every process of the namespace (`docker kill`). */
  async kill(): Promise<void> {
    if (!this.proc?.running()) return;
    this.killPid1();
    await this.proc.exited;
  }

  private killPid1(): void {
    try {
      if (this.pid1Host !== undefined) process.kill(this.pid1Host, "SIGKILL");
    } catch {
      // gone
    }
  }

  /** Host PIDs of every process in the container's memory cgroup. */
  async processes(): Promise<number[]> {
    const text = await readFile(this.cgroup.procsFile, "utf8").catch(() => "");
    return text.split("\n").filter(Boolean).map(Number);
  }

  /** Command names (/proc/<pid>/comm) of every process in the container's memory cgroup. */
  async processNames(): Promise<string[]> {
    const names: string[] = [];
    for (const pid of await this.processes()) {
      const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
      if (comm) names.push(comm.trim());
    }
    return names;
  }

  /** Removes the container's cgroup (after it has exited). */
  async remove(): Promise<void> {
    if (this.running()) await this.kill();
    await this.cgroupHandle?.remove();
    this.cgroupHandle = undefined;
  }

  /** How many times the container was started (restarts + 1). */
  get starts(): number {
    return this.incarnation;
  }
}

/** PATH of the runtime's own tools (nsenter, unshare, mount, chroot, setpriv), outside the container. */
const RUNTIME_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** setpriv: the container's uid, gid and groups, no capabilities, no way to gain privileges. */
function privileges(user: ContainerUser): string[] {
  return [
    "setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    user.groups.length > 0 ? `--groups=${user.groups.join(",")}` : "--clear-groups",
    "--no-new-privs",
    "--inh-caps=-all",
    "--",
  ];
}

/** env -i: exactly the container's environment, nothing of this process's. */
function environment(env: Readonly<Record<string, string>>): string[] {
  return ["env", "-i", ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
}
