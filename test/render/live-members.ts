import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { memberStartArguments } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import { SECRET_FILES } from "../../components/render/secret-files";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import { PG_BIN, postgresDir, postgresFile } from "./local-postgres";

/**
 * Members of a local cluster as the platforms run them, for the live tests: each member's
 * rendered files and secrets written where its layout mounts them, and its container's start
 * command (start-member.sh with the member's arguments) run as the postgres user.
 */

export interface MemberPasswords {
  readonly superuser: string;
  readonly replication: string;
  readonly app: string;
}

/** Writes a member's rendered files (as a `pulumi up` with this model would) and its secrets. */
export function installMember(model: ClusterModel, passwords: MemberPasswords): void {
  const { layout } = model;
  for (const dir of [
    layout.volumeDir,
    layout.configDir,
    layout.secretsDir,
    layout.socketDir,
    layout.tlsDir,
  ]) {
    postgresDir(dir);
  }
  for (const [file, content] of Object.entries(renderFiles(model))) {
    postgresFile(join(layout.configDir, file), content, 0o644);
  }
  // Secret mounts are group-readable: the scripts must cope (libpq would ignore such a passfile).
  postgresFile(join(layout.secretsDir, SECRET_FILES.superuserPassword), `${passwords.superuser}\n`, 0o640);
  postgresFile(
    join(layout.secretsDir, SECRET_FILES.replicationPassword),
    `${passwords.replication}\n`,
    0o640,
  );
  postgresFile(join(layout.secretsDir, SECRET_FILES.appPassword), passwords.app, 0o640);
}

export interface RunningMember {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts member `name` as its container would: start-member.sh with the member's arguments. */
export function startMember(model: ClusterModel, name: string): RunningMember {
  const argv = memberStartArguments(model, name);
  const child = spawn("/usr/sbin/runuser", ["-u", "postgres", "--", ...argv], {
    env: { PATH: `${PG_BIN}:/usr/bin:/bin` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Waits until the member accepts TCP connections at host:port, or its start script exits. */
export async function waitAccepting(
  member: RunningMember,
  name: string,
  host: string,
  port: number,
  attempts: number,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (member.child.exitCode !== null)
      throw new Error(`${name} exited (${member.child.exitCode}):\n${member.output()}`);
    if (spawnSync(join(PG_BIN, "pg_isready"), ["-q", "-h", host, "-p", String(port)]).status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not become ready:\n${member.output()}`);
}

/**
 * Stops a member by signalling its postmaster (pid from `dataDir`): SIGINT is the platforms' fast
 * shutdown; SIGKILL a crash, its children killed too, as a lost node would.
 */
export async function stopMember(
  member: RunningMember,
  dataDir: string,
  signal: "SIGINT" | "SIGKILL" = "SIGINT",
): Promise<void> {
  if (member.child.exitCode !== null) return;
  const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  process.kill(pid, signal);
  if (signal === "SIGKILL") spawnSync("pkill", ["-KILL", "-P", String(pid)]);
  await member.exited;
}
