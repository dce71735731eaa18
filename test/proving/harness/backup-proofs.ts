import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";

/** s3rver keeps each object's bytes in `<key>._S3rver_object` under the bucket's directory. */
const OBJECT_SUFFIX = "._S3rver_object";

/** This machine's directory of a repository path (`backup/<stanza>/...`) in the S3 stand-in. */
function repositoryDir(cluster: ProvingCluster, path: string): string {
  return join(cluster.runtime.s3.objectDirectory, cluster.spec.archive.path.replace(/^\/+/, ""), path);
}

/** Object files under `dir` (recursive), with their sizes, sorted by path. */
async function objectFiles(dir: string): Promise<{ path: string; size: number }[]> {
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

/** The newest full backup's label, taking a scheduled full first when the repository has none. */
async function latestFull(cluster: ProvingCluster): Promise<string> {
  let fulls = (await cluster.backups()).filter((backup) => backup.type === "full");
  if (fulls.length === 0) {
    await cluster.scheduledBackup("full");
    fulls = (await cluster.backups()).filter((backup) => backup.type === "full");
  }
  const label = fulls.at(-1)?.label;
  assert.ok(label, "no full backup in the repository");
  return label;
}

export const verifyFailsOnCorruptFile: Proof = {
  id: 20,
  title:
    "one byte changed in a backed-up file in S3 fails the scheduled backup's verify, naming the backup and the file; nothing else runs again",
  async run(cluster) {
    const label = await latestFull(cluster);
    const backupDir = repositoryDir(cluster, `backup/${cluster.stanza}/${label}`);
    // A relation file of the backup large enough to hold compressed data, not only a header.
    const target = (await objectFiles(join(backupDir, "pg_data", "base"))).find((file) => file.size > 1024);
    assert.ok(target, `no backed-up relation file under ${backupDir}`);
    const fileName = relative(join(backupDir, ".."), target.path).slice(0, -OBJECT_SUFFIX.length);
    const original = await readFile(target.path);
    const corrupt = Buffer.from(original);
    const offset = Math.floor(corrupt.length / 2);
    corrupt[offset] = (corrupt[offset] ?? 0) ^ 0xff;
    const backupsBefore = (await cluster.backups()).length;
    await writeFile(target.path, corrupt);
    let outcome: Awaited<ReturnType<typeof cluster.runtime.scheduledBackup>>;
    try {
      outcome = await cluster.runtime.scheduledBackup("diff");
    } finally {
      await writeFile(target.path, original);
    }
    const output = `${outcome.stdout}${outcome.stderr}`;
    assert.notEqual(outcome.code, 0, `the scheduled job passed with a corrupt file:\n${output}`);
    assert.match(output, /verify-repository\.sh: the repository of stanza .* is damaged:/, output);
    assert.ok(output.includes(`backup: ${label}, status: invalid`), `the backup is not named:\n${output}`);
    assert.ok(output.includes(`'${fileName}'`), `the file ${fileName} is not named:\n${output}`);
    // The backup of that run succeeded and was taken once: a failed verify re-runs nothing.
    const backupsAfter = await cluster.backups();
    assert.equal(backupsAfter.length, backupsBefore + 1, JSON.stringify(backupsAfter));
    return { figure: `exit ${outcome.code}: backup ${label} invalid, '${fileName}' named; 1 backup taken` };
  },
};

/** Backup-trust proofs (issue 13), run after the others by the same suites. */
export const BACKUP_PROOFS: readonly Proof[] = [verifyFailsOnCorruptFile];
