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
 * a 200Gi volume; half of a 5-minute idle_in_transaction_session_timeout), proven on the same stack
 * with a small config instead: the program captured again with pgstack:storageSize at its minimum
 * and a short idle_in_transaction_session_timeout (pgstack:parameters), so the rendered rules carry
 * thresholds a test can reach, computed exactly as for the real config. Only that copy's primary,
 * its exporter and the Pushgateway run, as the platform declares them; on Kubernetes its data
 * volume is a filesystem of the size its claim requests (ProvingRun.volume), on Docker a local
 * volume (no size: Docker gives none).
 */
const SMALL_CONFIG = {
  storageSize: "1Gi",
  idleInTransactionTimeout: "30s",
} as const;

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

export const smallVolumeAndIdleAlerts: Proof = {
  id: 35,
  title: `The stack with pgstack:storageSize ${SMALL_CONFIG.storageSize} and idle_in_transaction_session_timeout ${SMALL_CONFIG.idleInTransactionTimeout}, its primary, exporter and Pushgateway as the platform runs them (Kubernetes: a data volume of the claimed size): a database filled past 80% of storageSize fires PgstackDataVolumeFilling, dropping it clears it; a transaction idle past half the timeout fires PgstackIdleInTransaction, committing it clears it`,
  async run(cluster) {
    const stackParameters = (readStackFiles(PROJECT_DIR, cluster.captured.stack).values[
      "pgstack:parameters"
    ] ?? []) as string[];
    const small = await ProvingCluster.prepareChanged(cluster, {
      "pgstack:storageSize": SMALL_CONFIG.storageSize,
      "pgstack:parameters": [
        ...stackParameters.filter((entry) => !entry.startsWith("idle_in_transaction_session_timeout=")),
        `idle_in_transaction_session_timeout=${SMALL_CONFIG.idleInTransactionTimeout}`,
      ],
    });
    let prometheus: TestPrometheus | undefined;
    try {
      const { spec, primary } = small;
      const t = alertThresholds(spec);
      assert.equal(spec.resources.storageBytes, 1024 * MiB, "the copy's storageSize");
      assert.equal(t.idleInTransactionSeconds, 15, "the copy's idle-in-transaction threshold");
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
      const watched = ["PgstackDataVolumeFilling", "PgstackDataVolumeAlmostFull", "PgstackIdleInTransaction"];
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
      return {
        figure: `${volumeFigure} (${filled}); ${idleFigure} (threshold ${t.idleInTransactionSeconds} s)`,
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
