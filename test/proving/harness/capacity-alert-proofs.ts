import assert from "node:assert/strict";
import { readStackFiles } from "../../../components/config/stack-files";
import { alertThresholds } from "../../../components/render/alert-rules";
import { fault, TestPrometheus } from "./alert-proofs";
import { PROJECT_DIR } from "./captured-stack";
import type { Member } from "./member";
import { pollUntil } from "./poll";
import { runOk } from "./processes";
import type { Proof } from "./proofs";
import { ProvingCluster } from "./proving-cluster";

/**
 * The alerts whose thresholds are too far off at the stack's own config to reach in a test (80% of
 * a 200Gi volume; half of a 5-minute idle_in_transaction_session_timeout; gigabytes of WAL), proven
 * on the same stack with a small config instead: the program captured again with
 * pgstack:storageSize at its minimum, a short idle_in_transaction_session_timeout and small WAL
 * bounds (pgstack:parameters), so the rendered rules carry thresholds a test can reach, computed
 * exactly as for the real config. Only that copy's primary,
 * its exporter and the Pushgateway run, as the platform declares them; on Kubernetes its data
 * volume is a filesystem of the size its claim requests (ProvingRun.volume), on Docker a local
 * volume (no size: Docker gives none).
 */
const SMALL_CONFIG = {
  storageSize: "1Gi",
  idleInTransactionTimeout: "30s",
  // Four segments each: a checkpoint every few segments, and a slot lost past four.
  maxWalSize: "64MB",
  maxSlotWalKeepSize: "64MB",
} as const;

const SMALL_PARAMETERS: Readonly<Record<string, string>> = {
  idle_in_transaction_session_timeout: SMALL_CONFIG.idleInTransactionTimeout,
  max_wal_size: SMALL_CONFIG.maxWalSize,
  max_slot_wal_keep_size: SMALL_CONFIG.maxSlotWalKeepSize,
};

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;

/** What PgstackDataVolumeFilling adds up, by the exporter's own queries: every database plus pg_wal. */
const VOLUME_MEASURE =
  "SELECT (SELECT sum(pg_database_size(oid)) FROM pg_database) + (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())";

/** Size and space left for PostgreSQL (not root) of the filesystem holding `dir` on this machine. */
async function filesystem(dir: string): Promise<{ size: number; avail: number }> {
  const result = await runOk(["df", "--block-size=1", "--output=size,avail", dir]);
  const [size, avail] = result.stdout.trim().split("\n")[1].trim().split(/\s+/).map(Number);
  return { size, avail };
}

/**
 * A session that opens a transaction and sits idle in it (psql waiting on its input) until
 * `end()` commits it; `end` resolves with psql's output, which says COMMIT only if the session was
 * still there to commit (the server ends it at idle_in_transaction_session_timeout).
 */
function idleTransaction(member: Member): { opened: Promise<unknown>; end: () => Promise<string> } {
  const { layout, postgres } = member.spec;
  const flag = "/tmp/pgstack-proving-idle-end";
  const script = [
    `rm -f ${flag}`,
    `{ printf 'BEGIN;\\nSELECT txid_current();\\n'; while [ ! -e ${flag} ]; do sleep 0.2; done; printf 'COMMIT;\\n'; }` +
      ` | psql -X -v ON_ERROR_STOP=1 "host=${layout.socketDir} port=${layout.port} dbname=${postgres.database} user=${postgres.superuser}"`,
  ].join("\n");
  const session = member.exec(["sh", "-c", script], { timeoutMs: 300_000 });
  const opened = pollUntil(
    "the transaction to sit idle",
    async () =>
      (await member.sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")) !== "0"
        ? true
        : undefined,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return {
    opened,
    async end() {
      await member.execOk(["touch", flag]);
      const result = await session;
      return `exit ${result.code}\n${result.stdout}${result.stderr}`;
    },
  };
}

const WAL_ALERTS = ["PgstackSlotRetainingWal", "PgstackSlotLost", "PgstackWalPilingUp"];

/** The slot a stopped replica leaves behind: physical, WAL reserved from its creation, no consumer. */
const STOPPED_SLOT = "proving_stopped_replica";

// The insert position: inside one statement the written position (pg_current_wal_lsn) lags it by
// up to wal_buffers.
const SLOT_RETAINED = `SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn), 0) FROM pg_replication_slots WHERE slot_name = '${STOPPED_SLOT}'`;
const WAL_DIR_BYTES = "SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()";

/**
 * Writes WAL until `done` (a boolean SQL expression) holds, at most `maxSteps` steps of `step`:
 * "segment", a tiny record then a segment switch (a 16 MiB segment in pg_wal for a few bytes
 * written); "mebibyte", a 1 MiB record (WAL advances by about that much, never past a target by
 * more).
 */
async function writeWalUntil(
  member: Member,
  done: string,
  step: "segment" | "mebibyte",
  maxSteps = 48,
): Promise<void> {
  const write =
    step === "segment"
      ? "PERFORM pg_logical_emit_message(false, 'pgstack-proving', 'wal'); PERFORM pg_switch_wal();"
      : `PERFORM pg_logical_emit_message(false, 'pgstack-proving', repeat('x', ${MiB}));`;
  await member.sql(`DO $$ BEGIN FOR i IN 1..${maxSteps} LOOP EXIT WHEN ${done}; ${write} END LOOP; END $$`, {
    timeoutMs: 120_000,
  });
  assert.equal(await member.sql(`SELECT ${done}`), "t", `WAL written ${maxSteps} ${step}s without ${done}`);
}

/**
 * The WAL alerts on the small copy, one after the other (each needs the archive in its own state):
 * a slot reserving WAL with no consumer retains past 75% of max_slot_wal_keep_size
 * (PgstackSlotRetainingWal); written past the bound and checkpointed, PostgreSQL drops its WAL
 * (PgstackSlotLost, and the slot retains nothing any more); dropped, nothing fires. Then S3 stopped
 * while WAL is written: the segments wait for the archiver in pg_wal past max_wal_size +
 * max_slot_wal_keep_size (PgstackWalPilingUp); S3 back, they are archived and a checkpoint removes
 * them.
 */
async function walAlerts(small: ProvingCluster, test: TestPrometheus): Promise<string> {
  const { spec, primary } = small;
  const t = alertThresholds(spec);
  const slotBound = t.slotBoundBytes as number;
  let reservedFrom = "";
  let retained = 0;
  let status = "";
  let lostAt = 0;
  const retaining = await fault(
    test,
    [`PgstackSlotRetainingWal@${primary.name}`],
    async () => {
      // A physical slot reserves from the last checkpoint's redo point: a fresh one, so the slot
      // begins here and not at WAL written before.
      await primary.sql("CHECKPOINT");
      reservedFrom = await primary.sql(
        `SELECT lsn FROM pg_create_physical_replication_slot('${STOPPED_SLOT}', true)`,
      );
      // Under the bound: a checkpoint meanwhile must not drop the slot's WAL yet.
      // A mebibyte at a time, so it stops well under the bound: a checkpoint of max_wal_size's own
      // must not drop the slot's WAL before Prometheus sees it.
      await writeWalUntil(
        primary,
        `(${SLOT_RETAINED}) > ${t.slotRetainedWarningBytes + MiB}`,
        "mebibyte",
        128,
      );
      retained = Number(await primary.sql(SLOT_RETAINED));
      status = await primary.sql(
        `SELECT wal_status FROM pg_replication_slots WHERE slot_name = '${STOPPED_SLOT}'`,
      );
      assert.ok(
        retained < slotBound - 8 * MiB && ["reserved", "extended"].includes(status),
        `the slot retains ${retained} bytes (${status}), near its bound ${slotBound}`,
      );
    },
    async () => {
      // Measured from where the slot began: once lost, the slot has no restart_lsn (and a
      // checkpoint of max_wal_size's own may lose it while this writes).
      const written = `pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '${reservedFrom}')`;
      await writeWalUntil(primary, `${written} > ${slotBound + 32 * MiB}`, "segment");
      await pollUntil(
        "the checkpoint to drop the slot's WAL",
        async () => {
          await primary.sql("CHECKPOINT");
          const status = await primary.sql(
            `SELECT wal_status FROM pg_replication_slots WHERE slot_name = '${STOPPED_SLOT}'`,
          );
          return status === "lost" ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      lostAt = Number(await primary.sql(`SELECT ${written}`));
    },
  );
  const lost = await fault(
    test,
    [`PgstackSlotLost@${primary.name}`],
    async () => {},
    async () => {
      await primary.sql(`SELECT pg_drop_replication_slot('${STOPPED_SLOT}')`);
    },
  );

  // pg_wal back under the threshold before S3 stops (the slot's segments go at a checkpoint).
  const dirBefore = await pollUntil(
    "pg_wal under the piling-up threshold and the alert clear",
    async () => {
      await primary.sql("CHECKPOINT");
      const bytes = Number(await primary.sql(WAL_DIR_BYTES));
      const firing = (await test.alerts()).some(
        (alert) => alert.alertname === "PgstackWalPilingUp" && alert.state === "firing",
      );
      return bytes < t.walDirBytes && !firing ? bytes : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  let piled = 0;
  let ready = 0;
  let dirAfter = 0;
  const pilingUp = await fault(
    test,
    [`PgstackWalPilingUp@${primary.name}`],
    async () => {
      await small.runtime.s3.stop();
      await writeWalUntil(primary, `(${WAL_DIR_BYTES}) > ${t.walDirBytes + 16 * MiB}`, "segment");
      piled = Number(await primary.sql(WAL_DIR_BYTES));
      ready = Number(
        await primary.sql("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"),
      );
    },
    async () => {
      await small.runtime.s3.start();
      await small.waitArchived(await small.switchWal(), 240_000);
      dirAfter = await pollUntil(
        "a checkpoint to remove the archived segments",
        async () => {
          await primary.sql("CHECKPOINT");
          const bytes = Number(await primary.sql(WAL_DIR_BYTES));
          return bytes <= t.walDirBytes ? bytes : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    },
    { fireTimeoutMs: 60_000 },
  );
  return (
    `${retaining} (the slot retained ${(retained / MiB).toFixed(1)} MiB, ${status}, warning at ${mib(t.slotRetainedWarningBytes)}; ` +
    `lost with ${mib(lostAt)} written since it began, past max_slot_wal_keep_size ${mib(slotBound)}); ${lost}; ` +
    `${pilingUp} (S3 stopped: pg_wal ${mib(dirBefore)} → ${mib(piled)} with ${ready} segments ready, ` +
    `threshold ${mib(t.walDirBytes)}; S3 back: ${mib(dirAfter)} after archiving and a checkpoint)`
  );
}

export const smallVolumeAndIdleAlerts: Proof = {
  id: 35,
  title: `The stack with pgstack:storageSize ${SMALL_CONFIG.storageSize}, idle_in_transaction_session_timeout ${SMALL_CONFIG.idleInTransactionTimeout}, max_wal_size and max_slot_wal_keep_size ${SMALL_CONFIG.maxWalSize}, its primary, exporter and Pushgateway as the platform runs them (Kubernetes: a data volume of the claimed size): a database filled past 80% of storageSize fires PgstackDataVolumeFilling, dropping it clears it; a transaction idle past half the timeout fires PgstackIdleInTransaction, committing it clears it; a slot reserving WAL with no consumer fires PgstackSlotRetainingWal, WAL written past its bound loses it (PgstackSlotLost), dropping it clears both; S3 stopped while WAL is written fires PgstackWalPilingUp, S3 back and a checkpoint clear it`,
  async run(cluster) {
    const stackParameters = (readStackFiles(PROJECT_DIR, cluster.captured.stack).values[
      "pgstack:parameters"
    ] ?? []) as string[];
    const small = await ProvingCluster.prepareChanged(cluster, {
      "pgstack:storageSize": SMALL_CONFIG.storageSize,
      "pgstack:parameters": [
        ...stackParameters.filter((entry) => !(entry.split("=")[0].trim() in SMALL_PARAMETERS)),
        ...Object.entries(SMALL_PARAMETERS).map(([name, value]) => `${name}=${value}`),
      ],
    });
    let prometheus: TestPrometheus | undefined;
    try {
      const { spec, primary } = small;
      const t = alertThresholds(spec);
      assert.equal(spec.resources.storageBytes, 1024 * MiB, "the copy's storageSize");
      assert.equal(t.idleInTransactionSeconds, 15, "the copy's idle-in-transaction threshold");
      assert.equal(t.slotBoundBytes, 64 * MiB, "the copy's max_slot_wal_keep_size");
      assert.equal(t.slotRetainedWarningBytes, 48 * MiB, "the copy's slot-retaining threshold");
      assert.equal(
        t.walDirBytes,
        128 * MiB,
        "the copy's pg_wal threshold (max_wal_size + max_slot_wal_keep_size)",
      );
      await small.startPrimary();
      const monitoring = await small.runtime.monitoring();
      prometheus = await TestPrometheus.start(spec, monitoring);
      const test = prometheus;
      await pollUntil(
        "the primary's exporter to be scraped, pg_up = 1",
        async () =>
          (await test.query(`pg_up{pgstack_member="${primary.name}"} == 1`)).length === 1 ? true : undefined,
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          describe: async () => JSON.stringify(await test.query("up or pg_up")),
        },
      );
      const watched = [
        "PgstackDataVolumeFilling",
        "PgstackDataVolumeAlmostFull",
        "PgstackIdleInTransaction",
        ...WAL_ALERTS,
      ];
      const active = (await test.alerts()).filter((alert) => watched.includes(alert.alertname));
      assert.deepEqual(active, [], "a capacity or session alert is active before any fault");

      // An unlogged table: pg_database_size counts every file of the database's directory, its
      // unlogged relations too, and the fill writes the volume once instead of again as WAL (which
      // checkpoints recycle at their own pace). One row per page: 8000 bytes stored PLAIN (never
      // compressed or moved to TOAST), so the rows occupy the bytes the measure adds up.
      const before = Number(await primary.sql(VOLUME_MEASURE));
      const target = t.volumeWarningBytes + 32 * MiB;
      assert.ok(target < t.volumeCriticalBytes, "the fill would pass the critical threshold too");
      const rows = Math.ceil((target - before) / 8192);
      let filled = "";
      let committed = "";
      const idle = idleTransaction(primary);
      // Both faults at once: each awaits only its own alert.
      const outcomes = await Promise.allSettled([
        fault(
          test,
          [`PgstackDataVolumeFilling@${primary.name}`],
          async () => {
            await primary.sql("CREATE UNLOGGED TABLE proving_fill (pad text)");
            await primary.sql("ALTER TABLE proving_fill ALTER COLUMN pad SET STORAGE PLAIN");
            await primary.sql(
              `INSERT INTO proving_fill SELECT repeat('x', 8000) FROM generate_series(1, ${rows})`,
              { timeoutMs: 300_000 },
            );
            const measured = Number(await primary.sql(VOLUME_MEASURE));
            assert.ok(
              measured > t.volumeWarningBytes,
              `filled to ${measured} bytes, under ${t.volumeWarningBytes}`,
            );
            const fs = await filesystem(primary.dataDir);
            filled =
              `databases + pg_wal ${mib(before)} → ${mib(measured)}, warning at ${mib(t.volumeWarningBytes)}; ` +
              (spec.platform === "kubernetes"
                ? `the volume's filesystem ${mib(fs.size)}, ${mib(fs.avail)} of it left for PostgreSQL: its writes ` +
                  `fail near ${mib(measured + fs.avail)} of databases + pg_wal (critical at ${mib(t.volumeCriticalBytes)})`
                : "a Docker local volume: no size of its own");
          },
          async () => {
            await primary.sql("DROP TABLE proving_fill");
          },
          { fireTimeoutMs: 180_000 },
        ),
        fault(
          test,
          [`PgstackIdleInTransaction@${primary.name}`],
          async () => {
            await idle.opened;
          },
          async () => {
            committed = await idle.end();
          },
          { fireTimeoutMs: (t.idleInTransactionSeconds + 30) * 1000 },
        ),
      ]);
      const failures = outcomes.flatMap((outcome) =>
        outcome.status === "rejected" ? [(outcome.reason as Error).message] : [],
      );
      if (failures.length > 0) {
        await idle.end().catch(() => "");
        throw new Error(failures.join("\n"));
      }
      const [volumeFigure, idleFigure] = outcomes.map(
        (outcome) => (outcome as PromiseFulfilledResult<string>).value,
      );
      assert.match(committed, /^exit 0\n[\s\S]*COMMIT/, "the idle transaction was not committed by the test");
      const walFigures = await walAlerts(small, test);
      return {
        figure: `${volumeFigure} (${filled}); ${idleFigure} (threshold ${t.idleInTransactionSeconds} s); ${walFigures}`,
      };
    } catch (error) {
      throw new Error(
        `${(error as Error).message}${prometheus ? `\n--- test Prometheus log (tail)\n${prometheus.log().slice(-1500)}` : ""}`,
      );
    } finally {
      await prometheus?.stop();
      await small.dispose();
    }
  },
};

export const CAPACITY_ALERT_PROOFS: readonly Proof[] = [smallVolumeAndIdleAlerts];
