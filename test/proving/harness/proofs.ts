import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { memberStartArguments } from "../../../components/render/commands";
import { pgtuneConfig } from "../../../scripts/bench/pgtune";
import { ALERT_PROOFS } from "./alert-proofs";
import { BACKUP_PROOFS } from "./backup-proofs";
import { CAPACITY_ALERT_PROOFS } from "./capacity-alert-proofs";
import { DRILL_PROOFS } from "./drill-proofs";
import { Member } from "./member";
import { pollUntil } from "./poll";
import { countRows, insertRows, phaseCounts, serverTime } from "./proof-rows";
import type { ProvingCluster } from "./proving-cluster";
import { ROLLOUT_PROOFS } from "./rollout-proofs";
import { type PgSetting, settingMatches } from "./settings";
import { SWITCHOVER_PROOFS } from "./switchover-proofs";

/**
 * The proofs, shared by the vitest suites and `npm run prove`: each runs what the platform runs
 * (see platform.ts) against real PostgreSQL and pgBackRest, asserts what a user relies on
 * (node:assert, so a failure says what was expected and what was seen), and returns the figure
 * it measured.
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
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/** A table the proofs write rows into; each row carries the phase that wrote it. */
/** Every file and directory under `dir` with its size, for before/after comparisons. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
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

/** The lines PostgreSQL logs when it treats a child's exit as a crash and restarts every session. */
const CRASH_RESTART =
  /terminating any other active server processes|all server processes terminated; reinitializing/;

export const configApplied: Proof = {
  id: 1,
  title: "the rendered postgresql.conf is accepted and every parameter reads back with its rendered value",
  async run(cluster) {
    const { primary } = cluster;
    const parameters = primary.spec.tuning.parameters;
    assert.ok(parameters.length > 0, "the spec renders no parameters");
    const names = parameters.map((parameter) => `'${parameter.name}'`).join(",");
    const query = `SELECT name, setting, coalesce(unit, ''), vartype, source FROM pg_settings WHERE name IN (${names})`;
    const parse = (text: string) =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line): PgSetting & { source: string } => {
          const [name, setting, unit, vartype, source] = line.split("|");
          return { name, setting, unit, vartype: vartype as PgSetting["vartype"], source };
        });
    const byName = new Map(parse(await primary.sql(query)).map((row) => [row.name.toLowerCase(), row]));
    // tcp_keepalives_* read 0 on a socket: those over TCP with TLS, from where the stack admits a
    // client (another pod, verify-full; dev: the member's loopback).
    for (const row of parse(await primary.sql(`${query} AND name LIKE 'tcp_keepalives%'`, { tcp: true }))) {
      byName.set(row.name.toLowerCase(), row);
    }
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
    const refused = await primary.sql(
      "SELECT name || ': ' || coalesce(error, 'not applied') FROM pg_file_settings WHERE error IS NOT NULL OR NOT applied",
    );
    assert.equal(refused, "", "pg_file_settings reports lines of the rendered config it did not apply");
    const note = perRole.length > 0 ? ` (${perRole.join(", ")}: per-role default for the superuser)` : "";
    return {
      figure: `${parameters.length} parameters read back as rendered (keepalives over TLS from where the stack admits a client)${note}`,
    };
  },
};

export const healthcheck: Proof = {
  id: 2,
  title:
    "the platform's readiness check passes on a running server, fails on a hung one, and a timed-out probe crashes nothing",
  async run(cluster) {
    const { primary } = cluster;
    const healthy = await primary.ready();
    assert.ok(
      healthy.ok,
      `readiness on the running primary: ${healthy.result.stdout}${healthy.result.stderr}`,
    );
    const before = await primary.postmasterHostPid();
    const logBefore = primary.log().length;
    // A hung server: the postmaster stopped (SIGSTOP) for longer than the probe's timeout.
    process.kill(before, "SIGSTOP");
    let hung: Awaited<ReturnType<Member["ready"]>>;
    let shellProbe: Awaited<ReturnType<Member["ready"]>>;
    try {
      hung = await primary.ready();
      // A probe wrapped in a shell (as many charts write them) and killed at a 1 s timeout, the
      // kubelet's default: its pg_isready is orphaned and exits 2 later, reaped by the container's
      // PID 1. With PostgreSQL as PID 1 that exit would count as a crashed backend.
      shellProbe = await primary.runtime.container.probe(
        ["sh", "-c", primary.spec.commands.healthcheck.join(" ")],
        1000,
      );
    } finally {
      process.kill(before, "SIGCONT");
    }
    assert.equal(hung.ok, false, "readiness passed while the postmaster was stopped");
    assert.equal(shellProbe.timedOut, true, "the shell probe was expected to time out while the server hung");
    // The orphaned pg_isready gives up (its own 3 s connect timeout) and exits 2 meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const again = await pollUntil("readiness after SIGCONT", async () =>
      (await primary.ready()).ok ? true : undefined,
    );
    assert.equal(await primary.postmasterHostPid(), before, "the postmaster changed: PostgreSQL restarted");
    assert.doesNotMatch(primary.log().slice(logBefore), CRASH_RESTART, "PostgreSQL restarted its sessions");
    return {
      figure: `running → ready; hung → not ready (exit ${hung.result.code}); a timed-out shell probe's orphan left the postmaster (${before}) running: ${again}`,
    };
  },
};

export const integrityCheck: Proof = {
  id: 3,
  title:
    "a data directory without global/pg_control is refused by the member's own start command, deleting nothing",
  async run(cluster) {
    const { primary } = cluster;
    await primary.stop();
    const control = join(primary.dataDir, "global", "pg_control");
    const aside = join(primary.runtime.volumeDir, "pg_control.lost");
    await rename(control, aside);
    const before = await listing(primary.dataDir);
    try {
      await assert.rejects(primary.start({ timeoutMs: 60_000 }), /global\/pg_control is missing/);
      await primary.stop();
      assert.match(primary.log(), /never deletes/);
      assert.deepEqual(await listing(primary.dataDir), before, "files changed under the damaged data dir");
    } finally {
      await primary.stop();
      await rename(aside, control);
    }
    await primary.start();
    return {
      figure: `missing pg_control → start refused, ${before.length} paths unchanged; restored → started`,
    };
  },
};

export const walArchiving: Proof = {
  id: 4,
  title:
    "WAL is archived to S3 through the stand-in at the stack's own endpoint; the member made its own spool and log dirs",
  async run(cluster) {
    const { primary } = cluster;
    await cluster.pgbackrest(primary, primary.spec.commands.check);
    const baseline = await cluster.archiver();
    assert.equal(
      baseline.failedCount,
      0,
      `archiving failed since the first start: last failed WAL ${baseline.lastFailedWal}`,
    );
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
    // Nothing but the member's own start command made these: the volume started empty.
    const { layout } = primary.spec;
    const made: string[] = [];
    for (const path of [layout.spoolPath, layout.pgbackrestLogPath]) {
      const onHost = join(primary.runtime.volumeDir, relative(layout.volumeDir, path));
      const info = await stat(onHost);
      assert.ok(info.isDirectory(), `${path} is missing`);
      made.push(relative(layout.volumeDir, path));
    }
    return {
      figure: `segment ${segment} in the repository after ${seconds(elapsed)}, failed_count 0; ${made.join(", ")} made by start-member.sh`,
    };
  },
};

export const scheduledBackups: Proof = {
  id: 5,
  title:
    "the runner's scheduled full and differential backups succeed through the TLS server, each followed by verify",
  async run(cluster) {
    // Dev's runner takes a first full backup when it starts on an empty repository (a laptop may
    // sleep through every scheduled slot); prod's first full is the CronJob's.
    const first = cluster.runtime.platform === "docker" ? await cluster.backups() : [];
    if (cluster.runtime.platform === "docker") {
      assert.deepEqual(
        first.map((backup) => backup.type),
        ["full"],
        `the runner's first backup: ${JSON.stringify(first)}`,
      );
    }
    const fullStart = Date.now();
    const full = await cluster.scheduledBackup("full");
    const fullMs = Date.now() - fullStart;
    await insertRows(cluster.primary, "between-backups", 1000);
    const diffStart = Date.now();
    const diff = await cluster.scheduledBackup("diff");
    const diffMs = Date.now() - diffStart;
    const backups = await cluster.backups();
    assert.deepEqual(
      backups.map((backup) => backup.type).slice(-2),
      ["full", "diff"],
      JSON.stringify(backups),
    );
    assert.ok(
      backups.every((backup) => !backup.error),
      `a backup set has errors: ${JSON.stringify(backups)}`,
    );
    for (const output of [full.stdout, diff.stdout]) assert.doesNotMatch(output, /status: (?!ok)/, output);
    // --verbose adds the per-archive and per-backup counts: WAL was read too.
    const verify = await cluster.pgbackrest(cluster.primary, [
      ...cluster.spec.commands.verify,
      "--log-level-console=info",
      "--verbose",
    ]);
    assert.match(verify.stdout, /status: ok/, verify.stdout);
    assert.match(verify.stdout, /total WAL checked: [1-9]\d*, total valid WAL: [1-9]/, verify.stdout);
    return {
      figure: `full ${seconds(fullMs)}, diff ${seconds(diffMs)}, verify passed (${backups.length} sets)`,
    };
  },
};

export const streamingReplica: Proof = {
  id: 6,
  title: "the replica's own start command clones the primary and streams from its slot",
  async run(cluster) {
    const { primary } = cluster;
    const replica = cluster.replicas[0];
    assert.ok(replica, "the stack has no replica");
    await cluster.deployReplica(replica);
    const marker = `replicated-${Date.now()}`;
    await insertRows(primary, marker, 1);
    await pollUntil(`the row ${marker} on ${replica.name}`, async () =>
      (await countRows(replica, marker)) === 1 ? true : undefined,
    );
    assert.equal(await replica.sql("SELECT pg_is_in_recovery()"), "t");
    const slot = cluster.spec.members.find((member) => member.name === replica.name)?.slot;
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
    const { copy, restoreMs } = await cluster.restoreCopy("pitr", { type: "time", time: target });
    assert.deepEqual(
      await phaseCounts(copy),
      expected,
      "the restored copy does not hold exactly the rows before the target",
    );
    assert.equal(await copy.sql("SHOW archive_mode"), "off");
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
  title:
    "with S3 down WAL is kept, archiving fails visibly and PostgreSQL never restarts; after S3 returns every segment is archived",
  async run(cluster) {
    const { primary } = cluster;
    const baseline = await cluster.archiver();
    const postmaster = await primary.postmasterHostPid();
    const starts = primary.runtime.container.starts;
    const logBefore = primary.log().length;
    // A crash-restart (PostgreSQL as PID 1 reaping a failed archive-push worker) ends the wait at once.
    const crashRestarted = () => {
      const log = primary.log().slice(logBefore);
      const line = CRASH_RESTART.exec(log);
      return line
        ? `PostgreSQL crash-restarted during the outage: "${log
            .slice(Math.max(0, line.index - 200), line.index + 60)
            .split("\n")
            .slice(-2)
            .join(" | ")}"`
        : undefined;
    };
    await cluster.runtime.s3.stop();
    const down = Date.now();
    await insertRows(primary, "during-outage", 500);
    const during = await cluster.switchWal();
    const failing = await pollUntil(
      "archive_command to fail while S3 is down",
      async () => {
        const stats = await cluster.archiver();
        return stats.failedCount > baseline.failedCount ? stats : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500, abortIf: crashRestarted },
    );
    const failureMs = Date.now() - down;
    // Several archive attempts, each leaving pgBackRest's detached worker to exit with an error.
    await pollUntil(
      "a few more failed archive attempts",
      async () => ((await cluster.archiver()).failedCount >= failing.failedCount + 2 ? true : undefined),
      { timeoutMs: 240_000, intervalMs: 500, abortIf: crashRestarted },
    );
    const pending = await primary.pendingWal();
    assert.ok(
      pending.includes(during),
      `${during} is not kept in pg_wal for archiving (pending: ${pending.join(", ")})`,
    );
    assert.equal(
      await primary.postmasterHostPid(),
      postmaster,
      "the postmaster was replaced during the outage",
    );
    assert.equal(primary.runtime.container.starts, starts, "the container restarted during the outage");
    assert.doesNotMatch(
      primary.log().slice(logBefore),
      CRASH_RESTART,
      "PostgreSQL crash-restarted during the outage",
    );

    await cluster.runtime.s3.start();
    const back = Date.now();
    await insertRows(primary, "after-outage", 100);
    const last = await cluster.switchWal();
    await pollUntil(
      "every kept segment to be archived after S3 returned",
      async () => ((await primary.pendingWal()).length === 0 ? true : undefined),
      {
        timeoutMs: 240_000,
        intervalMs: 500,
        describe: async () => `pending ${(await primary.pendingWal()).join(", ")}`,
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
    const failed = (await cluster.archiver()).failedCount - baseline.failedCount;
    return {
      figure: `first failed push ${seconds(failureMs)} into the outage, ${failed} failed pushes, same postmaster (PID ${postmaster}), caught up ${seconds(catchUpMs)} after S3 returned; restore has all ${Object.values(expected).reduce((a, b) => a + b, 0)} rows`,
    };
  },
};

export const primaryCrash: Proof = {
  id: 9,
  title: "a primary killed with SIGKILL is restarted by its platform and recovers every committed row",
  async run(cluster) {
    const { primary } = cluster;
    await insertRows(primary, "before-crash", 1000);
    const expected = await phaseCounts(primary);
    const started = Date.now();
    await primary.crash();
    const recoveryMs = Date.now() - started;
    assert.deepEqual(await phaseCounts(primary), expected, "committed rows lost in the crash");
    return {
      figure: `restarted and recovered in ${seconds(recoveryMs)}, all ${expected["before-crash"]} new rows kept`,
    };
  },
};

export const replicaCatchUp: Proof = {
  id: 10,
  title: "a stopped replica catches up after its platform starts it again",
  async run(cluster) {
    const { primary } = cluster;
    const replica = cluster.replicas[0];
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

export const noSecretInEnvironment: Proof = {
  id: 11,
  title: "no password, key or cipher pass is in the environment of any process of any container",
  async run(cluster) {
    const secrets = cluster.runtime.secretValues;
    assert.ok(secrets.length >= 4, `expected the stack's secrets, found ${secrets.length}`);
    let processes = 0;
    const leaks: string[] = [];
    for (const container of cluster.runtime.runningContainers()) {
      for (const pid of await container.processes()) {
        const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => undefined);
        if (environ === undefined) continue;
        processes++;
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll(
          "\0",
          " ",
        );
        for (const secret of secrets) {
          if (environ.includes(secret))
            leaks.push(`${container.name} pid ${pid} (${cmdline.slice(0, 60)}): environment`);
          if (cmdline.includes(secret))
            leaks.push(`${container.name} pid ${pid} (${cmdline.slice(0, 60)}): command line`);
        }
      }
    }
    assert.ok(processes > 5, `read only ${processes} processes`);
    assert.deepEqual(leaks, [], "secrets in process environments or command lines");
    return {
      figure: `${processes} processes of ${cluster.runtime.runningContainers().length} containers read, ${secrets.length} secret values, none found`,
    };
  },
};

export const emptyVolumeWithStanza: Proof = {
  id: 12,
  title:
    "an empty volume where the stack's stanza exists is refused, not initialised; nothing is written to the repository",
  async run(cluster) {
    // The primary's own container and start command, on a fresh empty volume: its volume was lost.
    const lost = await cluster.runtime.scratchMember(
      "lost-volume",
      memberStartArguments(cluster.spec, "primary"),
    );
    await assert.rejects(lost.start({ timeoutMs: 120_000 }), /refusing to initialise a new database/);
    await lost.stop();
    const address = cluster.runtime.addressOf(lost);
    assert.match(lost.log(), /already holds stanza/);
    assert.match(lost.log(), /pgbackrest restore/);
    assert.equal(existsSync(lost.dataDir), false, `${lost.dataDir} was created: initdb ran`);
    const reads = cluster.runtime.s3.requestsFrom(address);
    assert.ok(reads.length > 0, "the member never asked the repository");
    assert.deepEqual(
      reads.filter((request) => !/^(GET|HEAD) /.test(request)),
      [],
      "the member wrote to the repository",
    );
    return {
      figure: `refused with the restore command after ${reads.length} read-only repository request(s); no PGDATA made`,
    };
  },
};

/** Sessions that each use their full work_mem: a sort and a hash aggregate past it, and a parallel scan. */
const FULL_LOAD_SCRIPT = `SELECT count(*) FROM (SELECT md5(g::text) AS h FROM generate_series(1, 150000) g ORDER BY h) sorted;
SELECT count(*) FROM (SELECT g % 60000 AS k, count(*) FROM generate_series(1, 200000) g GROUP BY 1) grouped;
SELECT count(*) FROM (SELECT k, count(*) FROM proving_load GROUP BY k) scanned;
`;

/** One full-load run's figures from the member's memory cgroup. */
export interface FullLoadRun {
  readonly oomKills: number;
  /** The cgroup's peak usage, page cache included (a data set larger than the limit fills it). */
  readonly peakBytes: number;
  /** Peak anonymous + shared memory (sampled every 200 ms): what an OOM kill is about. */
  readonly unreclaimablePeakBytes: number;
  readonly limitBytes: number;
  readonly clients: number;
  readonly failed: boolean;
  readonly output: string;
}

/** Proof 13's figures: pgstack's primary, and PGTune's values for the same limit under the same load. */
export interface FullLoadFigures {
  readonly pgstack: FullLoadRun;
  readonly pgtune: (FullLoadRun & { readonly workMem: string }) | { readonly error: string };
}

/**
 * All of max_connections at once (less the superuser reservation), each session sorting and
 * hashing past its work_mem, with a parallel aggregate and autovacuum running, from a client on
 * another host, against a member in its memory cgroup. Returns the cgroup's figures.
 */
async function fullLoad(cluster: ProvingCluster, member: Member): Promise<FullLoadRun> {
  const cgroup = member.runtime.container.cgroup;
  const connections = Number(await member.sql("SHOW max_connections"));
  const reserved = Number(await member.sql("SHOW superuser_reserved_connections"));
  const clients = connections - reserved - 1;
  await member.sql(
    `CREATE TABLE IF NOT EXISTS proving_load AS SELECT g % 5000 AS k, md5(g::text) AS v FROM generate_series(1, 1000000) g;
     ALTER TABLE proving_load OWNER TO ${cluster.spec.postgres.appUser}`,
  );
  await member.sql("VACUUM ANALYZE proving_load");
  const client = await cluster.runtime.sqlClient(member.runtime);
  await writeFile(join(client.container.spec.root.path, "tmp/pgstack-full-load.sql"), FULL_LOAD_SCRIPT, {
    mode: 0o644,
  });
  const oomBefore = await cgroup.oomKills();
  if (cgroup.version === 1) await writeFile(join(cgroup.path, "memory.max_usage_in_bytes"), "0");
  let peak = 0;
  let unreclaimablePeak = 0;
  const sampler = setInterval(() => {
    void cgroup.usageBytes().then((bytes) => {
      peak = Math.max(peak, bytes);
    });
    void cgroup.unreclaimableBytes().then((bytes) => {
      unreclaimablePeak = Math.max(unreclaimablePeak, bytes);
    });
  }, 200);
  const { layout, postgres } = cluster.spec;
  const result = await client.container.exec(
    [
      "pgbench",
      "-n",
      "-c",
      String(clients),
      "-j",
      "4",
      "-T",
      "30",
      "-f",
      "/tmp/pgstack-full-load.sql",
      `host=${client.host} port=${layout.port} dbname=${postgres.database} user=${postgres.appUser} sslmode=${client.sslmode} sslrootcert=${layout.tlsDir}/ca.crt`,
    ],
    { timeoutMs: 180_000, env: client.env },
  );
  clearInterval(sampler);
  const kernelPeak = await cgroup.peakBytes();
  return {
    oomKills: (await cgroup.oomKills()) - oomBefore,
    peakBytes: Math.max(peak, kernelPeak ?? 0),
    unreclaimablePeakBytes: unreclaimablePeak,
    limitBytes: cgroup.limitBytes,
    clients,
    failed: result.code !== 0 || /number of failed transactions: [1-9]/.test(result.stdout),
    output: `${result.stdout}${result.stderr}`.slice(-2000),
  };
}

/**
 * Proof 13's measurement: the full load against pgstack's primary (asserted: no OOM kill, no failed
 * session, the same postmaster), then against PGTune's values for the same limit, CPUs and
 * workload in a scratch member (a figure, not asserted).
 */
export async function measureFullLoad(cluster: ProvingCluster): Promise<FullLoadFigures> {
  const { primary } = cluster;
  const postmaster = await primary.postmasterHostPid();
  const pgstack = await fullLoad(cluster, primary);
  assert.equal(pgstack.oomKills, 0, `OOM kills in the primary's cgroup at full load:\n${pgstack.output}`);
  assert.equal(pgstack.failed, false, `sessions failed at full load:\n${pgstack.output}`);
  assert.equal(await primary.postmasterHostPid(), postmaster, "the postmaster was replaced under load");

  const { resources, postgres, layout } = cluster.spec;
  const pgtune = pgtuneConfig({
    version: postgres.version,
    workload: postgres.workload,
    memoryBytes: resources.memoryLimitBytes,
    cpus: resources.cpus,
    connections: postgres.maxConnections,
    storage: resources.storageMedium,
    dbSize: "mid_ram",
  });
  const workMem = pgtune.find((line) => line.name === "work_mem")?.value ?? "?";
  const overrides = pgtune.flatMap((line) => ["-c", `${line.name}=${line.value}`]);
  const twin = await cluster.runtime.scratchMember("pgtune", [
    "sh",
    "-c",
    `set -eu\ninitdb -D ${layout.dataDir} --username=${postgres.superuser} --pwfile=${layout.secretsDir}/superuser-password --auth-local=peer --auth-host=scram-sha-256 >/dev/null\nexec postgres -D ${layout.dataDir} -c config_file=${layout.configDir}/postgresql.conf -c archive_mode=off ${overrides.join(" ")}`,
  ]);
  try {
    await twin.start({ timeoutMs: 120_000 });
    const twinMember = new Member(twin, cluster.spec, cluster.runtime);
    await twinMember.sql(`CREATE ROLE ${postgres.appUser} LOGIN`, { database: "postgres" });
    await twinMember.sql(`CREATE DATABASE ${postgres.database} OWNER ${postgres.appUser}`, {
      database: "postgres",
    });
    await twinMember.execOk([
      "sh",
      "-c",
      `psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "ALTER ROLE ${postgres.appUser} PASSWORD '$(cat ${layout.secretsDir}/app-password)'"`,
    ]);
    return { pgstack, pgtune: { ...(await fullLoad(cluster, twinMember)), workMem } };
  } catch (error) {
    return { pgstack, pgtune: { error: (error as Error).message.split("\n")[0] } };
  } finally {
    await twin.stop();
  }
}

/** Proof 13's report line: peaks (page cache included, and what cannot be reclaimed), OOM kills. */
export function describeFullLoad({ pgstack, pgtune }: FullLoadFigures): string {
  const peaks = (run: FullLoadRun) =>
    `peak ${mib(run.unreclaimablePeakBytes)} not reclaimable (anonymous + shared), ${mib(run.peakBytes)} with page cache, of ${mib(run.limitBytes)}`;
  const baseline =
    "error" in pgtune
      ? `PGTune's values: the server did not survive (${pgtune.error})`
      : `PGTune's values (work_mem ${pgtune.workMem}): ${pgtune.oomKills} OOM kill(s), ${peaks(pgtune)}${
          pgtune.failed
            ? `, sessions failed: ${/(?:error|FATAL)[^\n]*/.exec(pgtune.output)?.[0] ?? "see pgbench"}`
            : ""
        }`;
  return `${pgstack.clients} sessions: 0 OOM kills, ${peaks(pgstack)}; ${baseline}`;
}

export const memoryAtFullLoad: Proof = {
  id: 13,
  title:
    "every connection at once, each past its work_mem, stays under the container's memory limit: no OOM kill",
  async run(cluster) {
    return { figure: describeFullLoad(await measureFullLoad(cluster)) };
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
  noSecretInEnvironment,
  emptyVolumeWithStanza,
  memoryAtFullLoad,
  ...BACKUP_PROOFS,
  ...ALERT_PROOFS,
  ...ROLLOUT_PROOFS,
  ...DRILL_PROOFS,
  ...CAPACITY_ALERT_PROOFS,
  ...SWITCHOVER_PROOFS,
];
