import { chmod, chown, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { osUser } from "./os-users";
import { runOk } from "./processes";
import { IMAGE_DIRECTORIES, IMAGE_ETC, IMAGE_LOCAL_BIN, systemCaBundle } from "./substitutions";

/**
 * A container's root filesystem: the image's (see substitutions.ts) laid out in a directory the
 * container is chrooted into. /usr is bind-mounted read-only from this machine when the
 * container starts; /etc is a copy with the container's own hosts file and trust store.
 */
export interface ContainerRootOptions {
  /** Lines of /etc/hosts: what the platform's DNS answers for the names the stack uses. */
  readonly hosts: readonly { readonly address: string; readonly names: readonly string[] }[];
  readonly hostname: string;
  /** CA certificates added to the system trust store (the S3 stand-in's, for AWS endpoints). */
  readonly extraCaPems?: readonly string[];
}

export interface ContainerRoot {
  readonly path: string;
  /** Directory bind-mounted over the image's /usr/local/bin. */
  readonly localBin: string;
}

export async function createContainerRoot(
  dir: string,
  options: ContainerRootOptions,
): Promise<ContainerRoot> {
  // A container made again (a pod re-created) starts from the image again.
  await rm(dir, { recursive: true, force: true });
  const root = join(dir, "rootfs");
  await mkdir(root, { recursive: true, mode: 0o755 });
  for (const path of [
    "usr",
    "proc",
    "dev",
    "run",
    "var/lib",
    "var/log",
    "root",
    "home",
    "etc",
    "opt",
    "srv",
  ]) {
    await mkdir(join(root, path), { recursive: true, mode: 0o755 });
  }
  for (const [link, target] of [
    ["bin", "usr/bin"],
    ["lib", "usr/lib"],
    ["lib64", "usr/lib64"],
    ["sbin", "usr/sbin"],
    ["var/run", "../run"],
    ["var/tmp", "../tmp"],
  ]) {
    await symlink(target, join(root, link));
  }
  for (const entry of IMAGE_ETC) await runOk(["cp", "-a", `/etc/${entry}`, join(root, "etc", entry)]);
  const bundle = [systemCaBundle(), ...(options.extraCaPems ?? [])].join("\n");
  await writeFile(join(root, "etc/ssl/certs/ca-certificates.crt"), bundle, { mode: 0o644 });
  await writeFile(
    join(root, "etc/hosts"),
    [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      ...options.hosts.map((host) => `${host.address}\t${host.names.join(" ")}`),
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  await writeFile(join(root, "etc/hostname"), `${options.hostname}\n`, { mode: 0o644 });
  // No resolver: names resolve through /etc/hosts only, as the platform's DNS would answer them.
  await writeFile(join(root, "etc/resolv.conf"), "", { mode: 0o644 });
  await symlink("/usr/share/zoneinfo/Etc/UTC", join(root, "etc/localtime"));

  const postgres = osUser("postgres");
  for (const directory of IMAGE_DIRECTORIES) {
    const path = join(root, directory.path);
    await mkdir(path, { recursive: true });
    await chmod(path, directory.mode);
    if (directory.owner === "postgres") await chown(path, postgres.uid, postgres.gid);
  }

  const localBin = join(dir, "image-local-bin");
  await mkdir(localBin, { recursive: true, mode: 0o755 });
  for (const [name, text] of Object.entries(IMAGE_LOCAL_BIN)) {
    await writeFile(join(localBin, name), text, { mode: 0o755 });
  }
  return { path: root, localBin };
}

/** Writes a file into a container's filesystem (Docker's `uploads`): parents root-owned 0755. */
export async function placeFile(
  root: ContainerRoot,
  path: string,
  content: string,
  owner: { uid: number; gid: number },
  mode: number,
): Promise<void> {
  const target = join(root.path, path);
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  await writeFile(target, content, { mode });
  await chmod(target, mode);
  await chown(target, owner.uid, owner.gid);
}
