import assert from "node:assert/strict";
import { readdir, rename, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Member } from "./member";
import { pollUntil } from "./poll";
import type { ProvingCluster } from "./proving-cluster";
import { type PgSetting, settingMatches } from "./settings";

/**
 * The proofs, shared by the vitest suites and `npm run prove`: each runs the rendered files and
 * commands against the real servers, asserts what a user relies on (node:assert, so a failure
 * says what was expected and what was seen), and returns the figure it measured.
 */
export interface ProofResult {
  /** One line for the report: what was measured. */
  readonly figure: string;
}

export interface Proof {
  readonly id: number;
  readonly title: string;
  readonly run: (cluster: ProvingCluster) => Promise<ProofResult>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A table the proofs write rows into; each row carries the phase that wrote it. */
const TABLE = "proving_rows";

async function ensureTable(member: Member): Promise<void> {
  await member.sql(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, phase text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
}

async function insertRows(member: Member, phase: string, count: number): Promise<void> {
  await ensureTable(member);
  await member.sql(`INSERT INTO ${TABLE} (phase) SELECT '${phase}' FROM generate_series(1, ${count})`);
}

async function countRows(member: Member, phase?: string): Promise<number> {
  const where = phase === undefined ? "" : ` WHERE phase = '${phase}'`;
  return Number(await member.sql(`SELECT count(*) FROM ${TABLE}${where}`));
}

async function phaseCounts(member: Member): Promise<Record<string, number>> {
  const rows = await member.sql(`SELECT phase, count(*) FROM ${TABLE} GROUP BY phase ORDER BY phase`);
  return Object.fromEntries(
    rows
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [phase, count] = line.split("|");
        return [phase, Number(count)];
      }),
  );
}

/** Every file and directory under `dir` with its size, for before/after comparisons. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        out.push(`${relative(dir, full)}/`);
        await walk(full);
      } else {
        out.push(`${relative(dir, full)} ${(await stat(full)).size}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

export const configApplied: Proof = {
  id: 1,
  title: "the rendered postgresql.conf is accepted and every parameter reads back with its rendered value",
  async run(cluster) {
    const { primary } = cluster;
    const parameters = primary.spec.tuning.parameters;
    assert.ok(parameters.length > 0, "the spec renders no parameters");
    const names = parameters.map((parameter) => `'${parameter.name}'`).join(",");
    // Over TCP with TLS, as clients connect: the tcp_keepalives_* settings read 0 on a socket.
    const query = `SELECT name, setting, coalesce(unit, ''), vartype, source FROM pg_settings WHERE name IN (${names})`;
    const rows = (await primary.sql(query, { tcp: true }))
      .split("\n")
      .filter(Boolean)
      .map((line): PgSetting & { source: string } => {
        const [name, setting, unit, vartype, source] = line.split("|");
        return { name, setting, unit, vartype: vartype as PgSetting["vartype"], source };
      });
    const byName = new Map(rows.map((row) => [row.name.toLowerCase(), row]));
    // The file's own lines as the server parsed them, and whether it applied each.
    const fileLines = new Map(
      (
        await primary.sql(
          `SELECT name, setting, applied FROM pg_file_settings WHERE sourcefile = '${primary.spec.layout.configDir}/postgresql.conf'`,
        )
      )
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [name, setting, applied] = line.split("|");
          return [name.toLowerCase(), { setting, applied: applied === "t" }] as const;
        }),
    );
    const perRole: string[] = [];
    const mismatches = parameters.flatMap((parameter) => {
      const row = byName.get(parameter.name.toLowerCase());
      if (!row) return [`${parameter.name}: unknown to PostgreSQL ${primary.spec.postgres.version}`];
      if (row.source === "user") {
        // A per-role default (ALTER ROLE ... SET, from init-roles.sh) wins in this session: the
        // server-wide value is then the file's line, which must have been applied as rendered.
        const line = fileLines.get(parameter.name.toLowerCase());
        perRole.push(parameter.name);
        return line?.applied && line.setting === parameter.value
          ? []
          : [`${parameter.name}: rendered ${parameter.value}, file line ${JSON.stringify(line)}`];
      }
      return settingMatches(parameter.value, row)
        ? []
        : [
            `${parameter.name}: rendered ${parameter.value}, running ${row.setting}${row.unit ? ` (unit ${row.unit})` : ""}`,
          ];
    });
    assert.deepEqual(mismatches, [], "parameters that do not read back with their rendered value");
    // Nothing in the rendered file was refused or left unapplied (a restart-only value, a typo).
    const refused = await primary.sql(
      "SELECT name || ': ' || coalesce(error, 'not applied') FROM pg_file_settings WHERE error IS NOT NULL OR NOT applied",
    );
    assert.equal(refused, "", "pg_file_settings reports lines of the rendered config it did not apply");
    const note = perRole.length > 0 ? ` (${perRole.join(", ")}: per-role default for the superuser)` : "";
    return { figure: `${parameters.length} parameters read back as rendered${note}` };
  },
};

export const healthcheck: Proof = {
  id: 2,
  title: "the rendered healthcheck reports healthy on a running server and unhealthy on a stopped one",
  async run(cluster) {
    const { primary } = cluster;
    const healthy = await primary.healthcheck();
    assert.equal(healthy.code, 0, `healthcheck on the running primary: ${healthy.stdout}${healthy.stderr}`);
    await primary.stop();
    const stopped = await primary.healthcheck();
    assert.notEqual(stopped.code, 0, "healthcheck reports healthy while PostgreSQL is stopped");
    await primary.start();
    const again = await primary.healthcheck();
    assert.equal(again.code, 0);
    return { figure: `running → exit ${healthy.code}, stopped → exit ${stopped.code}` };
  },
};

export const integrityCheck: Proof = {
  id: 3,
  title:
    "the integrity check passes a good data dir and refuses one without global/pg_control, deleting nothing",
  async run(cluster) {
    const scratch = await cluster.local.addMember("scratch");
    await cluster.initdb(scratch);
    const good = await scratch.integrityCheck();
    assert.equal(good.code, 0, `integrity check on a fresh cluster: ${good.stderr}`);

    // Lose the control file (kept beside the data dir, as an operator would find it missing).
    await rename(
      join(scratch.dataDir, "global", "pg_control"),
      join(scratch.spec.layout.volumeDir, "pg_control.lost"),
    );
    const before = await listing(scratch.spec.layout.volumeDir);
    const damaged = await scratch.integrityCheck();
    assert.equal(damaged.code, 1, "integrity check accepted a data dir without global/pg_control");
    assert.match(damaged.stderr, /global\/pg_control is missing/);
    assert.match(damaged.stderr, /never deletes/);
    // A start goes through the check and stops there: PostgreSQL never runs on the damaged dir.
    await assert.rejects(scratch.start(), /global\/pg_control is missing/);
    assert.equal(scratch.running(), false);
    assert.deepEqual(
      await listing(scratch.spec.layout.volumeDir),
      before,
      "files changed under the damaged data dir",
    );
    return {
      figure: `good → exit ${good.code}, missing pg_control → exit ${damaged.code}, ${before.length} paths unchanged`,
    };
  },
};

export const walArchiving: Proof = {
  id: 4,
  title: "WAL is archived to S3: pgbackrest check passes and a switched segment reaches the repository",
  async run(cluster) {
    const { primary } = cluster;
    await cluster.pgbackrest(primary, primary.spec.commands.check);
    await insertRows(primary, "archived", 100);
    const started = Date.now();
    const segment = await cluster.switchWal();
    const stats = await cluster.waitArchived(segment);
    const elapsed = Date.now() - started;
    assert.ok(
      (await cluster.archivedWal()).includes(segment),
      `${segment} is not in the repository's archive`,
    );
    assert.equal(stats.failedCount, 0, `archive_command failed: last failed WAL ${stats.lastFailedWal}`);
    return { figure: `segment ${segment} in the repository after ${seconds(elapsed)}, failed_count 0` };
  },
};

export const scheduledBackups: Proof = {
  id: 5,
  title: "the runner's scheduled full and differential backups succeed through the TLS server and verify",
  async run(cluster) {
    const { commands } = cluster.primary.spec;
    await cluster.startBackupServer();
    await cluster.runnerOk(commands.runnerCheck);
    const fullStart = Date.now();
    await cluster.runnerOk(commands.runnerBackupFull);
    const fullMs = Date.now() - fullStart;
    await insertRows(cluster.primary, "between-backups", 1000);
    const diffStart = Date.now();
    await cluster.runnerOk(commands.runnerBackupDiff);
    const diffMs = Date.now() - diffStart;
    const backups = await cluster.backups();
    const types = backups.map((backup) => backup.type);
    assert.deepEqual(types.slice(-2), ["full", "diff"], `backup sets: ${JSON.stringify(backups)}`);
    assert.ok(
      backups.every((backup) => !backup.error),
      `a backup set has errors: ${JSON.stringify(backups)}`,
    );
    // --verbose only adds the per-archive and per-backup counts to the report.
    const verify = await cluster.runnerOk([...commands.runnerVerify, "--verbose"]);
    assert.match(verify.stdout, /status: ok/, `verify:\n${verify.stdout}`);
    // It read the archived WAL too (an S3 listing that hides sub-folders makes it find none).
    assert.match(
      verify.stdout,
      /total WAL checked: [1-9]\d*, total valid WAL: [1-9]/,
      `verify:\n${verify.stdout}`,
    );
    assert.doesNotMatch(verify.stdout, /status: (?!ok|valid)/, `verify:\n${verify.stdout}`);
    return {
      figure: `full ${seconds(fullMs)}, diff ${seconds(diffMs)}, verify passed (${backups.length} sets)`,
    };
  },
};

export const streamingReplica: Proof = {
  id: 6,
  title: "the replica bootstrapped by the rendered script streams from its own slot",
  async run(cluster) {
    const { primary } = cluster;
    const replica = cluster.local.replicas[0];
    assert.ok(replica, "the stack has no replica");
    await cluster.bootstrapReplica(replica);
    const marker = `replicated-${Date.now()}`;
    await insertRows(primary, marker, 1);
    await pollUntil(`the row ${marker} on ${replica.name}`, async () =>
      (await countRows(replica, marker)) === 1 ? true : undefined,
    );
    assert.equal(await replica.sql("SELECT pg_is_in_recovery()"), "t");
    const slot = cluster.local.specs.primary.members.find((member) => member.name === replica.name)?.slot;
    assert.ok(slot, `no slot in the spec for ${replica.name}`);
    assert.equal(
      await primary.sql(
        `SELECT slot_type || ':' || active FROM pg_replication_slots WHERE slot_name = '${slot}'`,
      ),
      "physical:true",
      `slot ${slot} is not an active physical slot on the primary`,
    );
    const lag = await pollUntil(
      "replication lag to be reported",
      async () => {
        const row = await primary.sql(
          "SELECT state, coalesce(extract(epoch FROM replay_lag) * 1000, -1), pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication",
        );
        const [state, lagMs, bytes] = row.split("|");
        return state === "streaming" && Number(lagMs) >= 0
          ? { lagMs: Number(lagMs), bytes: Number(bytes) }
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    return {
      figure: `replay lag ${lag.lagMs.toFixed(1)} ms, ${lag.bytes} bytes behind, slot ${slot} active`,
    };
  },
};

/** The recovery target as pgBackRest reads it, from the primary's clock. */
async function serverTime(member: Member): Promise<string> {
  return member.sql(
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
  );
}

export const pointInTimeRecovery: Proof = {
  id: 7,
  title: "a point-in-time restore holds exactly the rows committed before the target, and archives nothing",
  async run(cluster) {
    const { primary } = cluster;
    await insertRows(primary, "before-target", 250);
    const expected = await phaseCounts(primary);
    const target = await serverTime(primary);
    await insertRows(primary, "after-target", 250);
    await cluster.waitArchived(await cluster.switchWal());
    const archiveBefore = await cluster.archivedWal();

    const started = Date.now();
    const { copy } = await cluster.restoreCopy("pitr", { type: "time", time: target });
    const restoreMs = Date.now() - started;
    assert.deepEqual(
      await phaseCounts(copy),
      expected,
      "the restored copy does not hold exactly the rows before the target",
    );
    assert.equal(await copy.sql("SHOW archive_mode"), "off");
    // The copy promoted onto a new timeline; none of it may reach the stack's repository.
    await copy.sql("SELECT pg_switch_wal()");
    const copyArchiver = await cluster.archiver(copy);
    assert.equal(
      copyArchiver.archivedCount + copyArchiver.failedCount,
      0,
      "the restored copy tried to archive",
    );
    assert.deepEqual(
      await cluster.archivedWal(),
      archiveBefore,
      "the restored copy changed the repository's archive",
    );
    await copy.stop();
    const rows = Object.values(expected).reduce((a, b) => a + b, 0);
    return { figure: `${rows} rows restored to ${target}, in ${seconds(restoreMs)}; archive untouched` };
  },
};

export const s3Outage: Proof = {
  id: 8,
  title: "with S3 down WAL is kept and archiving fails visibly; after S3 returns every segment is archived",
  async run(cluster) {
    const { primary } = cluster;
    const baseline = await cluster.archiver();
    await cluster.local.s3.stop();
    const down = Date.now();
    await insertRows(primary, "during-outage", 500);
    const during = await cluster.switchWal();
    const failing = await pollUntil(
      "archive_command to fail while S3 is down",
      async () => {
        const stats = await cluster.archiver();
        return stats.failedCount > baseline.failedCount ? stats : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const failureMs = Date.now() - down;
    const pending = await cluster.pendingWal();
    assert.ok(
      pending.includes(during),
      `${during} is not kept in pg_wal for archiving (pending: ${pending.join(", ")})`,
    );

    await cluster.local.s3.start();
    const back = Date.now();
    await insertRows(primary, "after-outage", 100);
    const last = await cluster.switchWal();
    await pollUntil(
      "every kept segment to be archived after S3 returned",
      async () => ((await cluster.pendingWal()).length === 0 ? true : undefined),
      {
        timeoutMs: 240_000,
        intervalMs: 500,
        describe: async () => `pending ${(await cluster.pendingWal()).join(", ")}`,
      },
    );
    await cluster.waitArchived(last, 240_000);
    const catchUpMs = Date.now() - back;
    const archive = await cluster.archivedWal();
    assert.ok(
      archive.includes(during) && archive.includes(last),
      `${during} or ${last} missing from the archive`,
    );

    const expected = await phaseCounts(primary);
    const { copy } = await cluster.restoreCopy("after-outage", { type: "latest" });
    assert.deepEqual(await phaseCounts(copy), expected, "a restore to the latest point lost committed rows");
    await copy.stop();
    return {
      figure: `first failed push ${seconds(failureMs)} into the outage (failed_count +${failing.failedCount - baseline.failedCount}), caught up ${seconds(catchUpMs)} after S3 returned; restore has all ${Object.values(expected).reduce((a, b) => a + b, 0)} rows`,
    };
  },
};

export const primaryCrash: Proof = {
  id: 8,
  title: "a primary killed with SIGKILL recovers every committed row",
  async run(cluster) {
    const { primary } = cluster;
    await insertRows(primary, "before-crash", 1000);
    const expected = await phaseCounts(primary);
    await primary.crash();
    const started = Date.now();
    await primary.start({ timeoutMs: 120_000 });
    const recoveryMs = Date.now() - started;
    assert.deepEqual(await phaseCounts(primary), expected, "committed rows lost in the crash");
    return {
      figure: `crash recovery in ${seconds(recoveryMs)}, all ${expected["before-crash"]} new rows kept`,
    };
  },
};

export const replicaCatchUp: Proof = {
  id: 8,
  title: "a stopped replica catches up after it is started again",
  async run(cluster) {
    const { primary } = cluster;
    const replica = cluster.local.replicas[0];
    assert.ok(replica, "the stack has no replica");
    await replica.stop();
    await insertRows(primary, "while-replica-down", 1000);
    const expected = await phaseCounts(primary);
    const started = Date.now();
    await replica.start();
    await pollUntil(
      `${replica.name} to catch up`,
      async () =>
        JSON.stringify(await phaseCounts(replica)) === JSON.stringify(expected) ? true : undefined,
      { timeoutMs: 60_000 },
    );
    return { figure: `caught up ${seconds(Date.now() - started)} after restart` };
  },
};

/** In the order they run: each builds on the state the previous ones left. */
export const PROOFS: readonly Proof[] = [
  configApplied,
  healthcheck,
  integrityCheck,
  walArchiving,
  scheduledBackups,
  streamingReplica,
  pointInTimeRecovery,
  s3Outage,
  primaryCrash,
  replicaCatchUp,
];
