import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

type Projection = k8s.types.input.core.v1.VolumeProjection;

/** A file a container sees: where, and which key of which ConfigMap or Secret holds it. */
export interface MountedFile {
  readonly path: string;
  readonly source: { readonly configMap: pulumi.Input<string> } | { readonly secret: pulumi.Input<string> };
  readonly key: string;
  /** Secret keys: 0600, which fsGroup turns into 0640 root:postgres (what PostgreSQL accepts). */
  readonly mode?: number;
}

/** Files only readable: group read for postgres through fsGroup, nothing for others. */
const DEFAULT_MODE = 0o440;

/**
 * Read-only volumes that put each file at its path. Files are grouped by directory, and a
 * directory inside another (the layout's tlsDir sits in configDir) becomes a sub-path of the
 * outer volume: a mount point cannot be created inside a read-only ConfigMap mount.
 */
export function fileMounts(
  volumePrefix: string,
  files: readonly MountedFile[],
): { volumes: k8s.types.input.core.v1.Volume[]; mounts: k8s.types.input.core.v1.VolumeMount[] } {
  const directories = [...new Set(files.map((file) => dirname(file.path)))].sort(
    (a, b) => a.length - b.length,
  );
  const roots: string[] = [];
  for (const directory of directories) {
    if (!roots.some((root) => directory === root || directory.startsWith(`${root}/`))) roots.push(directory);
  }
  const volumes: k8s.types.input.core.v1.Volume[] = [];
  const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
  roots.forEach((root, index) => {
    const name = `${volumePrefix}-${index}`;
    const sources: Projection[] = files
      .filter((file) => dirname(file.path) === root || dirname(file.path).startsWith(`${root}/`))
      .map((file) => {
        const item = { key: file.key, path: file.path.slice(root.length + 1), mode: file.mode };
        return "configMap" in file.source
          ? { configMap: { name: file.source.configMap, items: [item] } }
          : { secret: { name: file.source.secret, items: [item] } };
      });
    volumes.push({ name, projected: { defaultMode: DEFAULT_MODE, sources } });
    mounts.push({ name, mountPath: root, readOnly: true });
  });
  return { volumes, mounts };
}

function dirname(path: string): string {
  if (!path.startsWith("/") || path.endsWith("/"))
    throw new Error(`mounted file path must be absolute: ${path}`);
  return path.slice(0, path.lastIndexOf("/")) || "/";
}
