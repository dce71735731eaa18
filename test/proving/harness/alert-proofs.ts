import assert from "node:assert/strict";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { alertThresholds } from "../../../components/render/alert-rules";
import { reportCertificatesScriptPath } from "../../../components/render/certificate-report";
import { CERTIFICATE_NOT_AFTER } from "../../../components/render/job-metrics";
import { PGBACKREST_TLS_FILES } from "../../../components/render/pgbackrest-conf";
import { ALERT_RULES_FILE, prometheusSetup } from "../../../components/render/prometheus-config";
import { reportJobScriptPath } from "../../../components/render/verify-repository";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import type { Member } from "./member";
import { osUser } from "./os-users";
import type { MonitoringRuntime } from "./platform";
import { pollUntil } from "./poll";
import { run, type Supervised } from "./processes";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";

/**
 * The rendered alert rules, live: Debian's Prometheus, started by the test in a network namespace
 * of the run, scrapes the stack's exporters as the platform runs them (Docker: the exporter
 * container beside each member; Kubernetes: the member pod's sidecar) and the stack's Pushgateway,
 * every second, and evaluates the rendered alerts.yaml every second. Its copy of the rules differs
 * from the rendered file only by having no `for:` (asserted): promtool's tests
 * (test/observability/alert-rules.test.ts) prove each `for:`, here a condition shows at the next
 * evaluation. Thresholds and expressions are the stack's own, unchanged.
 */
const INTERVAL = "1s";
const PROMETHEUS_PORT = 9090;
const PROMETHEUS = "/usr/bin/prometheus";

interface FiringAlert {
  readonly alertname: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
}

/** The rendered rules without their `for:` lines; throws unless that is the only difference. */
export function rulesWithoutFor(rendered: string): string {
  const copy = rendered.replace(/^[ \t]+for: \S+\n/gm, "");
  type Rules = { groups: { name: string; rules: Record<string, unknown>[] }[] };
  const original = parse(rendered) as Rules;
  const stripped = parse(copy) as Rules;
  const removed = original.groups.flatMap((group) => group.rules).filter((rule) => "for" in rule).length;
  assert.ok(removed > 0, "the rendered rules have no `for:` to remove");
  assert.deepEqual(
    stripped,
    {
      groups: original.groups.map((group) => ({
        ...group,
        rules: group.rules.map(({ for: _for, ...rule }) => rule),
      })),
    },
    "the test's rules copy differs from the rendered rules by more than their `for:` durations",
  );
  return copy;
}

/** Debian's Prometheus of the proof, as `nobody`, in its own network namespace of the run. */
export class TestPrometheus {
  private constructor(
    private readonly monitoring: MonitoringRuntime,
    private readonly proc: Supervised,
  ) {}

  static async start(spec: ClusterSpec, monitoring: MonitoringRuntime): Promise<TestPrometheus> {
    const dir = monitoring.directory;
    const nobody = osUser("nobody");
    await mkdir(join(dir, "tsdb"), { recursive: true });
    await chown(dir, nobody.uid, nobody.gid);
    await chown(join(dir, "tsdb"), nobody.uid, nobody.gid);
    await writeFile(join(dir, ALERT_RULES_FILE), rulesWithoutFor(spec.monitoringFiles["alerts.yaml"]));
    const setup = prometheusSetup(spec, {
      exporterAddress: (member) => monitoring.exporters[member.name] ?? "127.0.0.1:1",
      pushgateway: monitoring.pushgateway,
      rulesDir: dir,
      scrapeInterval: INTERVAL,
      evaluationInterval: INTERVAL,
    });
    await writeFile(join(dir, "prometheus.yml"), stringify(setup.config));
    const proc = monitoring.supervisor.start("test-prometheus", [
      "nsenter",
      `--net=${monitoring.testHost.nsPath}`,
      "--",
      "setpriv",
      `--reuid=${nobody.uid}`,
      `--regid=${nobody.gid}`,
      "--clear-groups",
      PROMETHEUS,
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=${monitoring.testHost.address}:${PROMETHEUS_PORT}`,
    ]);
    const prometheus = new TestPrometheus(monitoring, proc);
    await pollUntil(
      "the test's Prometheus to be ready",
      () => prometheus.api("/-/ready").catch(() => undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        abortIf: () => (proc.running() ? undefined : `Prometheus exited:\n${proc.log().slice(-2000)}`),
      },
    );
    return prometheus;
  }

  /** A GET of Prometheus' HTTP API from inside its network namespace. */
  async api(path: string): Promise<string> {
    const result = await run([
      "nsenter",
      `--net=${this.monitoring.testHost.nsPath}`,
      "--",
      "curl",
      "--silent",
      "--fail",
      "--max-time",
      "5",
      "--get",
      `http://${this.monitoring.testHost.address}:${PROMETHEUS_PORT}${path}`,
    ]);
    if (result.code !== 0) throw new Error(`GET ${path}: exit ${result.code} ${result.stderr}`);
    return result.stdout;
  }

  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const body = JSON.parse(await this.api(`/api/v1/query?query=${encodeURIComponent(expr)}`));
    return body.data.result;
  }

  /** Active alerts (pending or firing). */
  async alerts(): Promise<FiringAlert[]> {
    const body = JSON.parse(await this.api("/api/v1/alerts")) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    return body.data.alerts.map((alert) => ({
      alertname: alert.labels.alertname,
      labels: alert.labels,
      state: alert.state,
    }));
  }

  /** Every rule with its evaluation health: an expression that fails on the real series is `err`. */
  async ruleHealth(): Promise<
    { name: string; health: string; lastError?: string; lastEvaluation: string }[]
  > {
    const body = JSON.parse(await this.api("/api/v1/rules")) as {
      data: {
        groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[];
      };
    };
    return body.data.groups.flatMap((group) => group.rules);
  }

  log(): string {
    return this.proc.log();
  }

  async stop(): Promise<void> {
    await this.monitoring.supervisor.stop(this.proc);
  }
}

/** "name@member" of each firing alert (the slot or replica name where there is no member label). */
function describe(alerts: readonly FiringAlert[]): string[] {
  return alerts
    .filter((alert) => alert.state === "firing")
    .map(
      (alert) =>
        `${alert.alertname}@${alert.labels.pgstack_member ?? alert.labels.slot_name ?? alert.labels.application_name ?? "-"}`,
    )
    .sort();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * One fault: made, its alerts awaited firing, undone, its alerts awaited cleared. Returns the
 * times from fault to firing and from recovery to cleared.
 */
export async function fault(
  prometheus: TestPrometheus,
  alerts: readonly string[],
  make: () => Promise<void>,
  undo: () => Promise<void>,
  options: {
    readonly fireTimeoutMs?: number;
    readonly clearTimeoutMs?: number;
    readonly clears?: boolean;
  } = {},
): Promise<string> {
  const firingNow = async () => describe(await prometheus.alerts());
  const started = Date.now();
  await make();
  await pollUntil(
    `${alerts.join(", ")} to fire`,
    async () => {
      const firing = await firingNow();
      return alerts.every((alert) => firing.includes(alert)) ? true : undefined;
    },
    {
      timeoutMs: options.fireTimeoutMs ?? 60_000,
      intervalMs: 500,
      describe: async () => `firing: ${(await firingNow()).join(", ")}`,
    },
  );
  const fired = Date.now() - started;
  await undo();
  const recovered = Date.now();
  if (options.clears === false) return `${alerts.join(", ")} fired in ${seconds(fired)}`;
  await pollUntil(
    `${alerts.join(", ")} to clear`,
    async () => {
      const firing = await firingNow();
      return alerts.every((alert) => !firing.includes(alert)) ? true : undefined;
    },
    {
      timeoutMs: options.clearTimeoutMs ?? 60_000,
      intervalMs: 500,
      describe: async () => `firing: ${(await firingNow()).join(", ")}`,
    },
  );
  return `${alerts.join(", ")} fired in ${seconds(fired)}, cleared ${seconds(Date.now() - recovered)} after recovery`;
}

/** `sessions` client sessions on `member` (pgbench, each sleeping in a loop) for `durationSeconds`. */
function holdSessions(member: Member, sessions: number, durationSeconds: number) {
  const { layout, postgres } = member.spec;
  const script = "/tmp/pgstack-proving-sleep.sql";
  return member
    .execOk(["sh", "-c", `printf 'SELECT pg_sleep(0.5);\\n' > ${script}`])
    .then(() =>
      member.exec(
        [
          "pgbench",
          "-n",
          "-h",
          layout.socketDir,
          "-p",
          String(layout.port),
          "-U",
          postgres.superuser,
          "-c",
          String(sessions),
          "-j",
          "2",
          "-T",
          String(durationSeconds),
          "-f",
          script,
          postgres.database,
        ],
        { timeoutMs: (durationSeconds + 60) * 1000 },
      ),
    );
}

/** notAfter of the PEM in `text` (the output of `openssl x509 -noout -enddate`), as Unix time. */
const enddate = (text: string) => Math.floor(Date.parse(text.trim().replace(/^notAfter=/, "")) / 1000);

/**
 * The certificates' expiry as the runner's jobs report it (report-certificates.sh, run where the
 * runner's jobs run), in Prometheus: one series per member, the runner and the CA, each equal to
 * the notAfter of the file that member or the runner mounts.
 */
async function certificatesReported(
  cluster: ProvingCluster,
  monitoring: MonitoringRuntime,
  prometheus: TestPrometheus,
): Promise<string> {
  const { spec } = cluster;
  const runnerTls = spec.layout.runner.tlsDir;
  const result = await monitoring.runnerCommand([
    "sh",
    "-c",
    [
      `sh ${reportCertificatesScriptPath(spec)}`,
      `openssl x509 -noout -enddate -in ${runnerTls}/${PGBACKREST_TLS_FILES.runnerCert}`,
      `openssl x509 -noout -enddate -in ${runnerTls}/${PGBACKREST_TLS_FILES.ca}`,
    ].join(" && "),
  ]);
  assert.equal(result.code, 0, `report-certificates.sh failed:\n${result.stdout}${result.stderr}`);
  const [runnerEnd, caEnd] = `${result.stdout}${result.stderr}`
    .split("\n")
    .filter((line) => line.startsWith("notAfter="));
  const expected: Record<string, number> = { runner: enddate(runnerEnd), ca: enddate(caEnd) };
  for (const member of Object.values(cluster.members)) {
    const mounted = await member.execOk([
      "openssl",
      "x509",
      "-noout",
      "-enddate",
      "-in",
      `${spec.layout.tlsDir}/${PGBACKREST_TLS_FILES.serverCert}`,
    ]);
    expected[member.name] = enddate(mounted.stdout);
  }
  const seen = await pollUntil(
    "every certificate's expiry in Prometheus",
    async () => {
      const series = await prometheus.query(CERTIFICATE_NOT_AFTER);
      const values = Object.fromEntries(series.map((s) => [s.metric.certificate, Number(s.value[1])]));
      return Object.keys(values).length === Object.keys(expected).length ? values : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 500 },
  );
  assert.deepEqual(seen, expected, "the reported expiry differs from the mounted certificates'");
  const days = Math.round((Math.min(...Object.values(expected)) - Date.now() / 1000) / 86_400);
  return `${Object.keys(expected).length} certificates reported, each as mounted (soonest in ${days} days)`;
}

export const alertsFireAndClear: Proof = {
  id: 30,
  title:
    "Prometheus with the rendered rules on the exporters and the Pushgateway as the platform runs them: every certificate's expiry reported as mounted; a healthy cluster fires nothing; a stopped replica, a long query, connections near the limit, an old backup, a failed verify, a failed and an overdue restore drill, a setting pending a restart, a replica whose replay is paused and S3 down each fire their alert, cleared by recovery",
  async run(cluster) {
    const { spec, primary } = cluster;
    const t = alertThresholds(spec);
    const replica = cluster.replicas[0];
    assert.ok(replica, "the stack has no replica");
    // Healthy means the configured cluster: every member running.
    for (const member of cluster.replicas) if (!member.running()) await cluster.deployReplica(member);
    const monitoring = await cluster.runtime.monitoring();
    const prometheus = await TestPrometheus.start(spec, monitoring);
    try {
      const memberNames = Object.keys(cluster.members).sort();
      await pollUntil(
        "every exporter and the Pushgateway to be scraped, each member's pg_up = 1",
        async () => {
          const up = await prometheus.query("up");
          const pgUp = await prometheus.query("pg_up == 1");
          const members = pgUp.map((series) => series.metric.pgstack_member).sort();
          return up.length === memberNames.length + 1 &&
            up.every((series) => series.value[1] === "1") &&
            JSON.stringify(members) === JSON.stringify(memberNames)
            ? true
            : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          describe: async () => JSON.stringify(await prometheus.query("up or pg_up")),
        },
      );

      const certificates = await certificatesReported(cluster, monitoring, prometheus);
      // A segment just archived, so the archive is younger than the stall threshold (3 x
      // archive_timeout + 60 s) throughout. After a long idle spell the first WAL written meets
      // PgstackArchivingStalled's condition until archive_timeout switches the segment: the
      // rule's `for:` (archive_timeout + 2 minutes) absorbs that; this copy has no `for:`.
      await primary.sql("CREATE TABLE IF NOT EXISTS proving_alerts (at timestamptz DEFAULT now())");
      await primary.sql("INSERT INTO proving_alerts DEFAULT VALUES");
      await cluster.waitArchived(await cluster.switchWal());

      // Healthy: several evaluations, every rule evaluated without error, no alert even pending.
      const healthyFrom = Date.now();
      while (Date.now() - healthyFrom < 6_000) {
        assert.deepEqual(await prometheus.alerts(), [], "an alert is active on the healthy cluster");
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const rules = await prometheus.ruleHealth();
      assert.deepEqual(
        rules.filter((rule) => rule.health !== "ok"),
        [],
        "a rule did not evaluate on the live series",
      );
      assert.deepEqual(await prometheus.alerts(), [], "an alert is active on the healthy cluster");

      const report = (step: string, outcome: string, finishedAt?: number) =>
        monitoring
          .runnerCommand([
            "sh",
            reportJobScriptPath(spec),
            step,
            outcome,
            ...(finishedAt === undefined ? [] : [String(finishedAt)]),
          ])
          .then((result) => {
            if (result.code !== 0)
              throw new Error(`report-job.sh ${step} ${outcome}: ${result.stdout}${result.stderr}`);
          });
      const now = () => Math.floor(Date.now() / 1000);
      let archivingFailed = 0;

      // The faults at once: each awaits only its own alerts.
      const outcomes = await Promise.allSettled([
        fault(
          prometheus,
          [
            `PgstackPostgresDown@${replica.name}`,
            `PgstackReplicaNotStreaming@${primary.name}`,
            `PgstackFewerReplicasThanConfigured@${primary.name}`,
          ],
          () => replica.stop(),
          () => replica.start(),
          { clearTimeoutMs: 120_000 },
        ),
        // statement_timeout cancels a query at twice the threshold: one a few seconds past it.
        (async () => {
          let query: Promise<string> | undefined;
          return fault(
            prometheus,
            [`PgstackLongRunningQuery@${primary.name}`],
            async () => {
              query = primary.sql(`SELECT pg_sleep(${t.longQuerySeconds + 4})`, { timeoutMs: 120_000 });
            },
            async () => {
              await query;
            },
            { fireTimeoutMs: (t.longQuerySeconds + 30) * 1000, clearTimeoutMs: 30_000 },
          );
        })(),
        (async () => {
          let sessions: Promise<unknown> | undefined;
          const figure = await fault(
            prometheus,
            [`PgstackConnectionsNearLimit@${primary.name}`],
            async () => {
              sessions = holdSessions(primary, t.connectionsWarning + 2, 12);
            },
            async () => {
              await sessions;
            },
          );
          return figure;
        })(),
        // An old backup, as the runner's report-job.sh pushes one: its finished-at in the past.
        fault(
          prometheus,
          [`PgstackFullBackupTooOld@-`, `PgstackBackupTooOld@-`],
          async () => {
            const old = now() - t.fullBackupMaxAgeSeconds - 600;
            await report("backup-full", "ok", old);
            await report("backup-diff", "ok", old);
          },
          async () => {
            await report("backup-full", "ok");
          },
        ),
        fault(
          prometheus,
          ["PgstackVerifyFailed@-"],
          () => report("verify", "failed"),
          () => report("verify", "ok"),
        ),
        // A drill that failed, then one whose last pass is older than its schedule allows, as
        // restore-drill.sh reports them through report-job.sh.
        fault(
          prometheus,
          ["PgstackRestoreDrillFailed@-"],
          () => report("drill", "failed"),
          () => report("drill", "ok"),
        ).then(async (failedFigure) => {
          const tooOld = await fault(
            prometheus,
            ["PgstackRestoreDrillTooOld@-"],
            () => report("drill", "ok", now() - t.drillMaxAgeSeconds - 600),
            () => report("drill", "ok"),
          );
          return `${failedFigure}; ${tooOld}`;
        }),

        // S3 down: archive_command fails. The rule counts failures over 5 minutes, so it clears
        // 5 minutes after the last one (promtool proves that); here it fires, and archiving resumes.
        (async () => {
          const before = await cluster.archiver();
          const figure = await fault(
            prometheus,
            [`PgstackArchivingFailing@${primary.name}`],
            async () => {
              await cluster.runtime.s3.stop();
              await primary.sql("INSERT INTO proving_alerts DEFAULT VALUES");
              await cluster.switchWal();
            },
            async () => {
              await cluster.runtime.s3.start();
              await primary.sql("INSERT INTO proving_alerts DEFAULT VALUES");
              await cluster.waitArchived(await cluster.switchWal(), 240_000);
            },
            { fireTimeoutMs: 240_000, clears: false },
          );
          archivingFailed = (await cluster.archiver()).failedCount - before.failedCount;
          return `${figure} (${archivingFailed} failed pushes), archiving resumed`;
        })(),
      ]);
      const failed = outcomes.find((outcome) => outcome.status === "rejected");
      if (failed) throw failed.reason;
      const figures = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<string>).value);

      // A restart-level setting changed on disk and reloaded: the server runs the old value. Alone,
      // after the others: PostgreSQL 15 keeps pending_restart set even when the file is reverted,
      // until the server restarts, so the recovery is a restart of the primary.
      const filesPerProcess = Number(await primary.sql("SHOW max_files_per_process"));
      figures.push(
        await fault(
          prometheus,
          [`PgstackSettingsPendingRestart@${primary.name}`],
          async () => {
            await primary.sql(`ALTER SYSTEM SET max_files_per_process = ${filesPerProcess + 1}`);
            await primary.sql("SELECT pg_reload_conf()");
          },
          async () => {
            await primary.sql("ALTER SYSTEM RESET max_files_per_process");
            await primary.stop();
            await primary.start();
          },
          { clearTimeoutMs: 120_000 },
        ),
      );

      // The replica's replay paused while the primary writes: its replay lag (pg_stat_replication on
      // the primary) grows past the threshold; replay resumed, it catches up and the alert clears.
      let writes: ReturnType<typeof setInterval> | undefined;
      figures.push(
        await fault(
          prometheus,
          [`PgstackReplicaLagSeconds@${primary.name}`],
          async () => {
            // Streaming again first (the primary just restarted): a paused standby starts no walreceiver.
            await pollUntil(
              "the replica streaming again",
              async () =>
                (await primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) !==
                "0"
                  ? true
                  : undefined,
              { timeoutMs: 60_000, intervalMs: 500 },
            );
            await replica.sql("SELECT pg_wal_replay_pause()");
            writes = setInterval(() => {
              void primary.sql("INSERT INTO proving_alerts DEFAULT VALUES").catch(() => {});
            }, 1_000);
          },
          async () => {
            clearInterval(writes);
            await replica.sql("SELECT pg_wal_replay_resume()");
          },
          { fireTimeoutMs: (2 * t.replicaLagSeconds + 60) * 1000, clearTimeoutMs: 60_000 },
        ).finally(() => clearInterval(writes)),
      );

      // Recovered: nothing fires but the archiving failures still inside the rule's 5-minute window.
      const stillFiring = async () =>
        describe(await prometheus.alerts()).filter((alert) => !alert.startsWith("PgstackArchivingFailing@"));
      await pollUntil(
        "every alert but the archiving failures to clear",
        async () => ((await stillFiring()).length === 0 ? true : undefined),
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          describe: async () => `firing: ${(await stillFiring()).join(", ")}`,
        },
      );
      return { figure: [certificates, ...figures].join("; ") };
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- test Prometheus log (tail)\n${prometheus.log().slice(-1500)}`,
      );
    } finally {
      await prometheus.stop();
    }
  },
};

export const ALERT_PROOFS: readonly Proof[] = [alertsFireAndClear];
