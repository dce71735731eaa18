import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { serverTime } from "./proof-rows";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";
import { OBJECT_SUFFIX, objectFiles, repositoryDir } from "./repository-objects";

/** The newest full backup's label, taking a scheduled full first when the repository has none. */
async function latestFull(cluster: ProvingCluster): Promise<string> {
  // info's own listing: cluster.backups() refuses a stanza that has no backup yet (prod's stanza Job takes none).
  let fulls = (await repositoryBackups(cluster)).filter((backup) => backup.type === "full");
  if (fulls.length === 0) {
    await cluster.scheduledBackup("full");
    fulls = (await repositoryBackups(cluster)).filter((backup) => backup.type === "full");
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
    const backupsBefore = (await repositoryBackups(cluster)).length;
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
    const backupsAfter = await repositoryBackups(cluster);
    assert.equal(backupsAfter.length, backupsBefore + 1, JSON.stringify(backupsAfter));
    return { figure: `exit ${outcome.code}: backup ${label} invalid, '${fileName}' named; 1 backup taken` };
  },
};

interface RepositoryBackup {
  readonly label: string;
  readonly type: "full" | "diff" | "incr";
  /** First WAL segment the backup needs. */
  readonly archiveStart: string;
}

/** The repository's backups, oldest first (`info --output=json` on the primary). */
async function repositoryBackups(cluster: ProvingCluster): Promise<RepositoryBackup[]> {
  const result = await cluster.pgbackrest(cluster.primary, [...cluster.spec.commands.info, "--output=json"]);
  const stanza = (
    JSON.parse(result.stdout) as {
      name: string;
      backup: { label: string; type: RepositoryBackup["type"]; archive: { start: string } }[];
    }[]
  ).find((candidate) => candidate.name === cluster.stanza);
  assert.ok(stanza, `stanza ${cluster.stanza} missing from info: ${result.stdout}`);
  return stanza.backup.map((backup) => ({
    label: backup.label,
    type: backup.type,
    archiveStart: backup.archive.start,
  }));
}

/** The objects the store holds under a repository path (none once `expire` removed them). */
async function storedObjects(cluster: ProvingCluster, path: string): Promise<number> {
  return (await objectFiles(repositoryDir(cluster, path)).catch(() => [])).length;
}

const RETENTION_TABLE = "retention_rows";

async function insertPhase(cluster: ProvingCluster, phase: string): Promise<void> {
  await cluster.primary.sql(
    `CREATE TABLE IF NOT EXISTS ${RETENTION_TABLE} (id bigserial PRIMARY KEY, phase text NOT NULL)`,
  );
  await cluster.primary.sql(
    `INSERT INTO ${RETENTION_TABLE} (phase) SELECT '${phase}' FROM generate_series(1, 100)`,
  );
}

export const retentionPrunes: Proof = {
  id: 21,
  title:
    "retention: extra full backups expire no full backup and no WAL inside the recovery window; expire past the retention removes the oldest backups and the WAL only they needed from S3; a point-in-time restore inside the window still works",
  async run(cluster) {
    const { retentionFull } = cluster.spec.archive;
    assert.equal(retentionFull.type, "time", "the stack keeps backups by count, not by a recovery window");
    // Three scheduled fulls in a row (as retries or manual runs would add): each run's own
    // expire, with the stack's recovery window, must keep every full backup and every WAL segment
    // (differentials are kept by count, and full backups count among them: pgBackRest may expire
    // an older differential, which the window does not need, its full and the WAL being kept).
    const before = await repositoryBackups(cluster);
    const walBeforeExtra = await cluster.archivedWal();
    await insertPhase(cluster, "before-window");
    await cluster.scheduledBackup("full");
    await insertPhase(cluster, "in-window");
    await cluster.scheduledBackup("full");
    const target = await serverTime(cluster.primary);
    await insertPhase(cluster, "after-target");
    await cluster.scheduledBackup("full");
    await cluster.waitArchived(await cluster.switchWal());
    const afterExtra = await repositoryBackups(cluster);
    const fullLabels = (backups: RepositoryBackup[]) =>
      backups.filter((backup) => backup.type === "full").map((backup) => backup.label);
    assert.deepEqual(
      fullLabels(afterExtra).slice(0, fullLabels(before).length),
      fullLabels(before),
      `extra full backups expired older ones inside the ${retentionFull.days}-day window`,
    );
    assert.equal(fullLabels(afterExtra).length, fullLabels(before).length + 3, JSON.stringify(afterExtra));
    const walAfterExtra = await cluster.archivedWal();
    assert.deepEqual(
      walBeforeExtra.filter((name) => !walAfterExtra.includes(name)),
      [],
      "extra full backups expired WAL inside the recovery window",
    );

    // Past the retention: pgBackRest's own expire with a count of 2 (a recovery window of days
    // cannot be waited for), against the store.
    const fulls = afterExtra.filter((backup) => backup.type === "full");
    const kept = fulls.slice(-2);
    const oldestKept = kept[0] as RepositoryBackup;
    const expiring = afterExtra.filter((backup) => backup.label < oldestKept.label);
    assert.ok(expiring.length > 0, "nothing older than the two newest fulls to expire");
    const walBefore = await cluster.archivedWal();
    await cluster.pgbackrest(cluster.primary, [
      ...cluster.spec.commands.expire,
      "--repo1-retention-full-type=count",
      "--repo1-retention-full=2",
    ]);
    const afterExpire = await repositoryBackups(cluster);
    assert.deepEqual(
      afterExpire.map((backup) => backup.label),
      afterExtra.filter((backup) => backup.label >= oldestKept.label).map((backup) => backup.label),
      "expire did not keep exactly the two newest fulls and what follows them",
    );
    for (const backup of expiring) {
      assert.equal(
        await storedObjects(cluster, `backup/${cluster.stanza}/${backup.label}`),
        0,
        `backup ${backup.label} was expired but its files are still in the store`,
      );
    }
    const walAfter = await cluster.archivedWal();
    const segments = (names: string[]) => names.filter((name) => /^[0-9A-F]{24}$/.test(name));
    const removed = segments(walBefore).filter((name) => !walAfter.includes(name));
    assert.ok(removed.length > 0, "expire removed no WAL");
    assert.ok(
      removed.every((name) => name.slice(8) < oldestKept.archiveStart.slice(8)),
      `expire removed WAL the kept backups need (oldest kept starts at ${oldestKept.archiveStart}): ${removed.join(", ")}`,
    );
    assert.ok(
      segments(walAfter).every((name) => name.slice(8) >= oldestKept.archiveStart.slice(8)),
      `WAL older than ${oldestKept.archiveStart} is still in the store`,
    );

    // A point-in-time restore inside what is kept: the rows before the target, none after.
    const { copy, restoreMs } = await cluster.restoreCopy("retention-pitr", { type: "time", time: target });
    const phases = await copy.sql(
      `SELECT string_agg(DISTINCT phase, ',' ORDER BY phase) FROM ${RETENTION_TABLE}`,
    );
    await copy.stop();
    assert.equal(
      phases,
      "before-window,in-window",
      "the restore inside the window does not hold the right rows",
    );
    return {
      figure: `3 extra fulls expired no full and no WAL (window ${retentionFull.days} days); expire to 2 fulls removed ${expiring.length} backup(s) and ${removed.length} WAL segment(s) from S3; PITR to ${target} in ${(restoreMs / 1000).toFixed(1)} s`,
    };
  },
};

/** Backup-trust proofs (issue 13), run after the others by the same suites. */
export const BACKUP_PROOFS: readonly Proof[] = [verifyFailsOnCorruptFile, retentionPrunes];
