import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { drillPgbackrest } from "../../../components/render/restore-drill";
import { type DrillSummary, drillSummary as summaryOf } from "./drill-summary";
import type { DrillRun } from "./platform";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";
import { OBJECT_SUFFIX, objectFiles, repositoryDir } from "./repository-objects";

/** The drill's copy is gone: its scratch directory empty (or absent), no PostgreSQL or pgBackRest left. */
async function assertNothingLeft(run: DrillRun): Promise<void> {
  const left = await readdir(run.scratchDir).catch(() => [] as string[]);
  assert.deepEqual(left, [], `the drill left files in its scratch directory ${run.scratchDir}`);
  const processes = run.processesLeft.filter((name) => /^(postgres|pgbackrest|pg_amcheck|psql)$/.test(name));
  assert.deepEqual(processes, [], `the drill left processes running: ${run.processesLeft.join(", ")}`);
}

/** A drill that must fail: its exit status, its FAILED line, and nothing left behind. */
async function failedDrill(cluster: ProvingCluster): Promise<{ output: string; reason: string }> {
  const run = await cluster.runtime.restoreDrill();
  const output = `${run.stdout}${run.stderr}`;
  assert.notEqual(run.code, 0, `the drill passed:\n${output.slice(-4000)}`);
  const reason = /restore-drill: FAILED: (.*)/.exec(output)?.[1];
  assert.ok(reason, `the drill failed without saying why:\n${output.slice(-4000)}`);
  await assertNothingLeft(run);
  return { output, reason };
}

interface NewestBackup {
  readonly label: string;
  /** First and last WAL segment the backup needs to be consistent. */
  readonly archiveStart: string;
  readonly archiveStop: string;
}

/** The newest backup (`info --output=json`), after a scheduled full when the repository has none. */
async function newestBackup(cluster: ProvingCluster): Promise<NewestBackup> {
  const read = async () => {
    const result = await cluster.pgbackrest(cluster.primary, [
      ...cluster.spec.commands.info,
      "--output=json",
    ]);
    const stanza = (
      JSON.parse(result.stdout) as {
        name: string;
        backup: { label: string; archive: { start: string; stop: string } }[];
      }[]
    ).find((candidate) => candidate.name === cluster.stanza);
    return stanza?.backup.at(-1);
  };
  let backup = await read();
  if (!backup) {
    await cluster.scheduledBackup("full");
    backup = await read();
  }
  assert.ok(backup, "no backup in the repository");
  return { label: backup.label, archiveStart: backup.archive.start, archiveStop: backup.archive.stop };
}

const DRILL_TABLE = "drill_rows";

/** Rows of about `bytes` in DRILL_TABLE (incompressible enough that the backup carries them). */
async function growTo(cluster: ProvingCluster, bytes: number): Promise<void> {
  await cluster.primary.sql(
    `CREATE TABLE IF NOT EXISTS ${DRILL_TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)`,
  );
  const rows = Math.ceil(bytes / 200);
  await cluster.primary.sql(
    `INSERT INTO ${DRILL_TABLE} (payload) SELECT md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || md5((g * 31)::text) FROM generate_series(1, ${rows}) g`,
    { timeoutMs: 600_000 },
  );
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const describe = (s: DrillSummary) =>
  `${mb(s.databaseBytes)}: RTO ${s.rtoSecondsPerGb} s/GB (restore ${s.restoreSeconds} s + recovery ${s.recoverySeconds} s)`;

/** The larger database of the RTO figure: this many times the small one. */
const LARGER_FACTOR = 5;

export const drillPasses: Proof = {
  id: 60,
  title:
    "restore drill on a healthy repository: restores the newest backup and the archive into scratch space, recovers, passes pg_amcheck, reports RTO and data age, leaves nothing behind; RTO at two database sizes",
  async run(cluster) {
    await newestBackup(cluster);
    // A transaction after the backup, archived: the drill must replay it and report its age.
    await cluster.primary.sql(
      "CREATE TABLE IF NOT EXISTS drill_marks (at timestamptz NOT NULL DEFAULT now())",
    );
    await cluster.primary.sql("INSERT INTO drill_marks DEFAULT VALUES");
    await cluster.waitArchived(await cluster.switchWal());
    const refusedBefore = cluster.runtime.s3.refusedWrites().length;

    const small = await cluster.runtime.restoreDrill();
    assert.equal(small.code, 0, `the drill failed:\n${small.stdout}${small.stderr}`);
    const first = summaryOf(small);
    await assertNothingLeft(small);
    assert.ok(first.databaseBytes > 0 && first.rtoSecondsPerGb > 0, JSON.stringify(first));
    // The newest replayed transaction is the one written just before: seconds old, not the backup's age.
    assert.ok(first.dataAgeSeconds >= 0 && first.dataAgeSeconds < 120, `data age ${first.dataAgeSeconds} s`);
    assert.match(`${small.stdout}`, /newest replayed transaction/);
    // The drill never tried to write into the repository (a read-only key's write is logged refused).
    assert.deepEqual(cluster.runtime.s3.refusedWrites().slice(refusedBefore), []);

    // The larger database: the same drill after a backup of several times the data (a
    // differential: it copies only the new table; the drill restores the whole database either way).
    await growTo(cluster, first.databaseBytes * (LARGER_FACTOR - 1));
    await cluster.scheduledBackup("diff");
    const large = await cluster.runtime.restoreDrill();
    assert.equal(large.code, 0, `the drill of the larger database failed:\n${large.stdout}${large.stderr}`);
    const second = summaryOf(large);
    await assertNothingLeft(large);
    assert.ok(second.databaseBytes > first.databaseBytes * (LARGER_FACTOR / 2), JSON.stringify(second));
    // Back to the small database for the proofs that follow (a differential without the table).
    await cluster.primary.sql(`DROP TABLE ${DRILL_TABLE}`);
    await cluster.scheduledBackup("diff");
    return {
      figure: `RTO ${cluster.spec.stack}: ${describe(first)}; ${describe(second)}; data age ${first.dataAgeSeconds} s`,
    };
  },
};

export const drillFailsOnCorruptFile: Proof = {
  id: 61,
  title: "one byte changed in a file of the newest backup in S3 fails the restore drill, saying why",
  async run(cluster) {
    // A file the newest backup holds itself (a differential may hold only small ones: then a full).
    const sizeable = async () => {
      const { label } = await newestBackup(cluster);
      const dir = repositoryDir(cluster, `backup/${cluster.stanza}/${label}`);
      return {
        label,
        backupDir: dir,
        file: (await objectFiles(join(dir, "pg_data"))).find((file) => file.size > 1024),
      };
    };
    let { label, backupDir, file: target } = await sizeable();
    if (!target) {
      await cluster.scheduledBackup("full");
      ({ label, backupDir, file: target } = await sizeable());
    }
    assert.ok(target, `no backed-up file under ${backupDir}`);
    const fileName = relative(join(backupDir, "pg_data"), target.path).slice(0, -OBJECT_SUFFIX.length);
    const original = await readFile(target.path);
    const corrupt = Buffer.from(original);
    const offset = Math.floor(corrupt.length / 2);
    corrupt[offset] = (corrupt[offset] ?? 0) ^ 0xff;
    await writeFile(target.path, corrupt);
    let failure: { output: string; reason: string };
    try {
      failure = await failedDrill(cluster);
    } finally {
      await writeFile(target.path, original);
    }
    assert.match(
      failure.reason,
      new RegExp(`pgbackrest restore of backup ${label} exited [1-9]`),
      failure.output,
    );
    // pgBackRest names the file it could not restore; the drill's FAILED line carries that error.
    const restoredName = fileName.replace(/\.(lz4|gz|zst|bz2)$/, "");
    assert.ok(
      failure.output.includes(restoredName),
      `the file ${restoredName} is not named:\n${failure.output}`,
    );
    const verified = /verify: (.*)$/.exec(failure.reason)?.[1] ?? "";
    return { figure: `drill failed, naming ${verified || restoredName}: ${failure.reason.slice(0, 120)}` };
  },
};

export const drillFailsOnMissingWal: Proof = {
  id: 62,
  title: "a WAL segment the newest backup needs removed from S3 fails the restore drill, naming the segment",
  async run(cluster) {
    const { label, archiveStart } = await newestBackup(cluster);
    const archiveDir = repositoryDir(cluster, `archive/${cluster.stanza}`);
    const segment = (await objectFiles(archiveDir)).find((file) =>
      file.path.split("/").at(-1)?.startsWith(`${archiveStart}-`),
    );
    assert.ok(segment, `segment ${archiveStart} of backup ${label} is not in the store`);
    // Every file of the object (bytes and s3rver's metadata) moved aside, and back afterwards.
    const dir = join(segment.path, "..");
    const base = segment.path.split("/").at(-1)?.slice(0, -OBJECT_SUFFIX.length) ?? "";
    const aside = await mkdtemp(join(tmpdir(), "pgstack-drill-wal-"));
    const files = (await readdir(dir)).filter((name) => name.startsWith(base));
    for (const name of files) await rename(join(dir, name), join(aside, name));
    let failure: { output: string; reason: string };
    try {
      failure = await failedDrill(cluster);
    } finally {
      for (const name of files) await rename(join(aside, name), join(dir, name));
      await rm(aside, { recursive: true, force: true });
    }
    assert.ok(
      failure.reason.includes(`WAL segment ${archiveStart}`),
      `the missing segment ${archiveStart} is not named: ${failure.reason}\n${failure.output.slice(-3000)}`,
    );
    return { figure: `drill failed: ${failure.reason}` };
  },
};

export const drillCannotWrite: Proof = {
  id: 63,
  title:
    "the restore drill's credentials cannot write or delete in the repository: pgbackrest expire of a backup with them is refused, and the backup stays",
  async run(cluster) {
    const { label } = await newestBackup(cluster);
    const refusedBefore = cluster.runtime.s3.refusedWrites().length;
    const attempt = await cluster.runtime.inDrillContainer([
      ...drillPgbackrest(cluster.spec, "expire"),
      `--set=${label}`,
      "--log-level-console=warn",
    ]);
    const output = `${attempt.stdout}${attempt.stderr}`;
    assert.notEqual(attempt.code, 0, `expire with the drill's credentials succeeded:\n${output}`);
    const refused = cluster.runtime.s3.refusedWrites().slice(refusedBefore);
    assert.ok(
      refused.length > 0,
      `the store refused nothing: the attempt failed for another reason:\n${output}`,
    );
    assert.ok(
      refused.every((line) => /^(PUT|POST|DELETE) /.test(line)),
      `unexpected refusals: ${refused.join("\n")}`,
    );
    const after = await newestBackup(cluster);
    assert.equal(after.label, label, `backup ${label} is gone after the refused expire`);
    return {
      figure: `expire --set=${label} with the drill's credentials: exit ${attempt.code}, ${refused.length} write(s) refused (${refused[0]?.split(" ")[0]}); the backup stays`,
    };
  },
};

/** Restore drill proofs (issue 13), run after the backup proofs by the same suites. */
export const DRILL_PROOFS: readonly Proof[] = [
  drillPasses,
  drillFailsOnCorruptFile,
  drillFailsOnMissingWal,
  drillCannotWrite,
];
