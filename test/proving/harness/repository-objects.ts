import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ProvingCluster } from "./proving-cluster";

/** s3rver keeps each object's bytes in `<key>._S3rver_object` under the bucket's directory. */
export const OBJECT_SUFFIX = "._S3rver_object";

/** This machine's directory of a repository path (`backup/<stanza>/...`) in the S3 stand-in. */
export function repositoryDir(cluster: ProvingCluster, path: string): string {
  return join(cluster.runtime.s3.objectDirectory, cluster.spec.archive.path.replace(/^\/+/, ""), path);
}

/** Object files under `dir` (recursive), with their sizes, sorted by path. */
export async function objectFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith(OBJECT_SUFFIX)) found.push({ path: full, size: (await stat(full)).size });
    }
  };
  await walk(dir);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}
