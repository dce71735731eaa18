import { CronExpressionParser } from "cron-parser";
import { stringify } from "yaml";
import type { ClusterModel } from "../spec/build-cluster-spec";
import { memberDataClaim } from "../spec/layout";
import { parseMemoryValue, parseTimeValue } from "../spec/parameter-values";
import { MiB } from "../spec/units";
import { EXPORTER_METRICS as M } from "./exporter-queries";
import { commentLines, generatedHeader } from "./generated-header";
import { CERTIFICATE_NOT_AFTER, CERTIFICATE_RENEWAL_DAYS, JOB_METRICS as J } from "./job-metrics";

export type Severity = "critical" | "warning";

/** One Prometheus alerting rule, with the annotations every pgstack alert carries. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** Prometheus duration the condition must hold; absent = fires at the first evaluation. */
  readonly for?: string;
  readonly severity: Severity;
  /** One line, with `{{ $labels.x }}` only (no `$value`: the text is the same at every evaluation). */
  readonly summary: string;
  /** What it means and where the threshold comes from. */
  readonly description: string;
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

/**
 * Every threshold, computed from the spec (so from the stack config). Numbers are plain: bytes,
 * seconds, counts. The rules below only format them.
 */
export interface AlertThresholds {
  /** Newest archived WAL older than this while WAL is written: the archiver is stuck. */
  readonly archiveStaleSeconds: number;
  /** Segments waiting for the archiver (pg_wal/archive_status/*.ready). */
  readonly walReadyFiles: number;
  /** pg_wal larger than everything that may legitimately keep WAL there. */
  readonly walDirBytes: number;
  readonly replicaLagSeconds: number;
  readonly replicaLagBytes: number;
  /** Bound on WAL a slot may keep (max_slot_wal_keep_size); undefined when unlimited. */
  readonly slotBoundBytes: number | undefined;
  readonly slotRetainedWarningBytes: number;
  readonly volumeWarningBytes: number;
  readonly volumeCriticalBytes: number;
  /** Connections open to non-superusers: max_connections minus the reserved slots. */
  readonly connectionSlots: number;
  readonly connectionsWarning: number;
  readonly connectionsCritical: number;
  readonly longQuerySeconds: number;
  readonly idleInTransactionSeconds: number;
  readonly xidAgeWarning: number;
  readonly xidAgeCritical: number;
  readonly fullBackupMaxAgeSeconds: number;
  readonly anyBackupMaxAgeSeconds: number;
  readonly drillMaxAgeSeconds: number;
  readonly certificateWarningSeconds: number;
  readonly certificateCriticalSeconds: number;
}

/** The seeds' "more than 100 WAL files pending": past this the archiver is far behind. */
const WAL_READY_FILES = 100;
/** The seeds' "queries running over 5 minutes". */
const LONG_QUERY_SECONDS = 300;
/** A full backup reads the whole volume; 50 MiB/s is a conservative S3 upload rate for one. */
const BACKUP_BYTES_PER_SECOND = 50 * MiB;
/** XID wraparound stops writes 2^31 - 3M transactions after the oldest unfrozen one. */
const XID_WRAPAROUND = 2 ** 31;
/** Share of the data volume's filesystem left to PostgreSQL under which PgstackDataVolumeSpaceLow fires. */
const VOLUME_SPACE_LOW_FRACTION = 0.1;
const DAY = 86_400;

/** The value pgstack renders for `name` (override included), or PostgreSQL's default. */
function setting(model: ClusterModel, name: string, fallback: string): string {
  return model.tuning.parameters.find((parameter) => parameter.name === name)?.value ?? fallback;
}

/** Bytes of a memory setting; a bare number is in `unit` (PostgreSQL's unit for the setting). */
function bytesSetting(model: ClusterModel, name: string, fallback: string, unit: number): number {
  const text = setting(model, name, fallback);
  return /^-?\d+$/.test(text.trim()) ? Number(text) * unit : (parseMemoryValue(text) ?? Number.NaN);
}

/** Seconds of a time setting; a bare number is in `unitMs` milliseconds. */
function secondsSetting(model: ClusterModel, name: string, fallback: string, unitMs: number): number {
  const text = setting(model, name, fallback);
  const ms = /^-?\d+$/.test(text.trim()) ? Number(text) * unitMs : (parseTimeValue(text) ?? Number.NaN);
  return ms / 1000;
}

/**
 * The longest time between two consecutive runs of the given cron schedules (UTC), over a year
 * from a fixed date so the result is deterministic: "0 1 * * 0" gives 7 days, "0 1 * * 1-6"
 * together with it 1 day, "0 1 * * 1-5" alone 3 days.
 */
export function longestCronGapSeconds(schedules: readonly string[]): number {
  const start = Date.UTC(2025, 0, 1);
  const end = start + 400 * DAY * 1000;
  const runs: number[] = [];
  for (const schedule of schedules) {
    const iterator = CronExpressionParser.parse(schedule, { currentDate: new Date(start), tz: "UTC" });
    // A schedule every minute has ~575k runs in 400 days; 20k runs cover its pattern many times over.
    for (let i = 0; i < 20_000; i++) {
      const next = iterator.next().getTime();
      if (next > end) break;
      runs.push(next);
    }
  }
  runs.sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i] - runs[i - 1]);
  return longest / 1000;
}

export function alertThresholds(model: ClusterModel): AlertThresholds {
  const storage = model.resources.storageBytes;
  const archiveTimeout = secondsSetting(model, "archive_timeout", "0", 1000);
  const maxWalSize = bytesSetting(model, "max_wal_size", "1GB", MiB);
  const walKeepSize = bytesSetting(model, "wal_keep_size", "0", MiB);
  const slotSetting = bytesSetting(model, "max_slot_wal_keep_size", "-1", MiB);
  const slotBoundBytes = slotSetting >= 0 ? slotSetting : undefined;
  const maxConnections = Number(setting(model, "max_connections", String(model.postgres.maxConnections)));
  const reserved =
    Number(setting(model, "superuser_reserved_connections", "3")) +
    Number(setting(model, "reserved_connections", "0"));
  const connectionSlots = maxConnections - reserved;
  const statementTimeout = secondsSetting(model, "statement_timeout", "0", 1);
  const idleTimeout = secondsSetting(model, "idle_in_transaction_session_timeout", "0", 1);
  const freezeMaxAge = Number(setting(model, "autovacuum_freeze_max_age", "200000000"));
  // A backup may still be running when the next one is due: allow the time a full one takes.
  const backupGrace = Math.max(3600, Math.ceil(storage / BACKUP_BYTES_PER_SECOND / 3600) * 3600);
  const { schedules } = model.archive;
  return {
    // archive_timeout forces a segment switch whenever WAL was written: three of them without an
    // archived file, plus a minute for the asynchronous push, is a stuck archiver.
    archiveStaleSeconds: 3 * archiveTimeout + 60,
    walReadyFiles: WAL_READY_FILES,
    walDirBytes: maxWalSize + walKeepSize + (slotBoundBytes ?? 0.5 * storage),
    // A replica further behind than archive_timeout would lose more than the archive on failover.
    replicaLagSeconds: Math.max(30, archiveTimeout),
    replicaLagBytes: maxWalSize,
    slotBoundBytes,
    slotRetainedWarningBytes: Math.round(0.75 * (slotBoundBytes ?? 0.5 * storage)),
    volumeWarningBytes: Math.round(0.8 * storage),
    volumeCriticalBytes: Math.round(0.9 * storage),
    connectionSlots,
    connectionsWarning: Math.floor(0.8 * connectionSlots),
    connectionsCritical: Math.floor(0.95 * connectionSlots),
    // Before statement_timeout cancels it, when the workload has one shorter than 10 minutes.
    longQuerySeconds:
      statementTimeout > 0 ? Math.min(LONG_QUERY_SECONDS, statementTimeout / 2) : LONG_QUERY_SECONDS,
    // Half of idle_in_transaction_session_timeout: someone can look before the server ends it.
    idleInTransactionSeconds: idleTimeout > 0 ? idleTimeout / 2 : LONG_QUERY_SECONDS,
    // Anti-wraparound autovacuum starts at autovacuum_freeze_max_age; 1.5x means it is not keeping up.
    xidAgeWarning: Math.round(1.5 * freezeMaxAge),
    xidAgeCritical: XID_WRAPAROUND / 2,
    fullBackupMaxAgeSeconds: longestCronGapSeconds([schedules.full]) + backupGrace,
    anyBackupMaxAgeSeconds: longestCronGapSeconds([schedules.full, schedules.diff]) + backupGrace,
    drillMaxAgeSeconds: longestCronGapSeconds([model.archive.drillSchedule]) + backupGrace,
    certificateWarningSeconds: CERTIFICATE_RENEWAL_DAYS * DAY,
    certificateCriticalSeconds: 7 * DAY,
  };
}

/** A duration for humans: 2d, 3h, 150s. */
function human(seconds: number): string {
  if (seconds % DAY === 0) return `${seconds / DAY}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function humanBytes(bytes: number): string {
  for (const [unit, factor] of [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
  ] as const) {
    if (bytes >= factor) return `${Number((bytes / factor).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** Anchor of an alert's runbook section in README.md (GitHub lowercases heading anchors). */
export function runbookAnchor(alert: string): string {
  return `README.md#${alert.toLowerCase()}`;
}

/** The alert rules of a stack, grouped as they are evaluated. */
export function alertGroups(model: ClusterModel): AlertGroup[] {
  const t = alertThresholds(model);
  const { clusterLabel, memberLabel } = model.monitoring;
  const sel = (extra = "") => `{${clusterLabel}="${model.name}"${extra ? `, ${extra}` : ""}}`;
  const on = `on (${clusterLabel}, ${memberLabel})`;
  const onPrimary = `and ${on} ${M.inRecovery}${sel()} == 0`;
  const member = `{{ $labels.${memberLabel} }}`;
  const archiveTimeout = model.archive.archiveTimeoutSeconds;
  const replicas = model.members.filter((m) => m.role === "replica");
  const slots = replicas.map((m) => m.slot as string);
  const storage = humanBytes(model.resources.storageBytes);
  const claims = model.members.map((m) => memberDataClaim(model.name, m)).join("|");
  const kubeletVolume = (stat: "available" | "capacity") =>
    `kubelet_volume_stats_${stat}_bytes{namespace="${model.network.namespace}", persistentvolumeclaim=~"${claims}"}`;

  const groups: AlertGroup[] = [
    {
      name: `${model.name}.availability`,
      rules: [
        {
          alert: "PgstackPostgresDown",
          expr: `${M.up}${sel()} == 0 or up${sel()} == 0`,
          for: "1m",
          severity: "critical",
          summary: `PostgreSQL member ${member} of ${model.name} is down or unreachable by its exporter.`,
          description:
            "The exporter beside the member cannot connect over the local socket (pg_up = 0), or Prometheus " +
            "cannot scrape the exporter (up = 0), for a minute.",
        },
        {
          alert: "PgstackSettingsPendingRestart",
          expr: `${M.settingsPendingRestart}${sel()} > 0`,
          for: "15m",
          severity: "warning",
          summary: `Member ${member} runs with settings that take effect only after a restart.`,
          description:
            "postgresql.conf on disk differs from what the server runs (pg_settings.pending_restart) for 15 minutes: " +
            "the reviewed config is not in force.",
        },
      ],
    },
    {
      name: `${model.name}.archiving`,
      rules: [
        {
          alert: "PgstackArchivingFailing",
          expr: `increase(${M.archiveFailedCount}${sel()}[5m]) > 0`,
          severity: "warning",
          summary: `WAL archiving to the pgBackRest repository failed on ${member}.`,
          description:
            "archive_command (pgbackrest archive-push) failed at least once in 5 minutes. PostgreSQL keeps the " +
            "segment and retries; until it succeeds, the point-in-time recovery window does not advance.",
        },
        {
          alert: "PgstackArchivingStalled",
          expr:
            `${M.lastArchivedAgeSeconds}${sel()} > ${t.archiveStaleSeconds} ` +
            `and ${on} delta(${M.walPositionBytes}${sel()}[${t.archiveStaleSeconds}s]) > 0 ${onPrimary}`,
          // After an idle spell the first WAL meets the condition until archive_timeout switches its
          // segment (up to archive_timeout later): held that long plus two minutes (push, scrape,
          // evaluation), it is a stall.
          for: human(archiveTimeout + 120),
          severity: "critical",
          summary: `No WAL archived from ${member} for ${human(t.archiveStaleSeconds)} while WAL is being written.`,
          description:
            `archive_timeout is ${archiveTimeout}s, so a written segment is archived within it; none for ` +
            `3 x archive_timeout + 60s = ${t.archiveStaleSeconds}s while the WAL position moves, for archive_timeout ` +
            "+ 2 minutes, means data written since then exists only on this volume.",
        },
        {
          alert: "PgstackWalPilingUp",
          expr:
            `${M.walReadyForArchive}${sel()} > ${t.walReadyFiles} or ` +
            `${M.walDirBytes}${sel()} > ${t.walDirBytes}`,
          for: "5m",
          severity: "warning",
          summary: `WAL is piling up in pg_wal of ${member}.`,
          description:
            `More than ${t.walReadyFiles} segments wait for the archiver, or pg_wal holds more than ` +
            `${humanBytes(t.walDirBytes)} (max_wal_size + wal_keep_size + the slots' bound) for 5 minutes. ` +
            "pg_wal is on the data volume: it fills the volume next.",
        },
      ],
    },
  ];

  if (replicas.length > 0) {
    groups.push({
      name: `${model.name}.replication`,
      rules: [
        {
          alert: "PgstackReplicaNotStreaming",
          expr: `${M.slotActive}${sel(`slot_name=~"${slots.join("|")}"`)} == 0 ${onPrimary}`,
          for: "2m",
          severity: "critical",
          summary: "The replica using slot {{ $labels.slot_name }} is not streaming from the primary.",
          description:
            "No standby has used the slot for 2 minutes: the replica is down, cut off or refused. The slot keeps " +
            "WAL for it, up to max_slot_wal_keep_size.",
        },
        {
          alert: "PgstackFewerReplicasThanConfigured",
          expr: `${M.streamingReplicas}${sel()} < ${replicas.length} ${onPrimary}`,
          for: "5m",
          severity: "warning",
          summary: `Fewer than ${replicas.length} replica(s) stream from the primary of ${model.name}.`,
          description: `pgstack:replicas is ${replicas.length}; fewer have streamed for 5 minutes.`,
        },
        {
          alert: "PgstackReplicaLagSeconds",
          expr: `${M.replicaReplayLagSeconds}${sel()} > ${t.replicaLagSeconds}`,
          for: "2m",
          severity: "warning",
          summary: `Replica {{ $labels.application_name }} replays more than ${t.replicaLagSeconds}s behind.`,
          description:
            `Replay lag above max(30s, archive_timeout = ${archiveTimeout}s) for 2 minutes: failing over to this ` +
            "replica would lose more than the archive does.",
        },
        {
          alert: "PgstackReplicaLagBytes",
          expr: `${M.replicaReplayLagBytes}${sel()} > ${t.replicaLagBytes}`,
          for: "2m",
          severity: "warning",
          summary: `Replica {{ $labels.application_name }} is more than ${humanBytes(t.replicaLagBytes)} of WAL behind.`,
          description:
            "The standby has not replayed more than max_wal_size of WAL for 2 minutes: it falls behind faster " +
            "than it catches up.",
        },
        {
          alert: "PgstackSlotRetainingWal",
          expr: `${M.slotRetainedBytes}${sel()} > ${t.slotRetainedWarningBytes}`,
          for: "5m",
          severity: "warning",
          summary: `Slot {{ $labels.slot_name }} holds more than ${humanBytes(t.slotRetainedWarningBytes)} of WAL.`,
          description:
            t.slotBoundBytes !== undefined
              ? `75% of max_slot_wal_keep_size (${humanBytes(t.slotBoundBytes)}, 20% of the ${storage} volume) for ` +
                "5 minutes. At the bound PostgreSQL drops the WAL and the slot is lost."
              : `max_slot_wal_keep_size is unlimited: 75% of half the ${storage} volume for 5 minutes.`,
        },
        {
          alert: "PgstackSlotLost",
          expr: `${M.slotLost}${sel()} == 1`,
          severity: "critical",
          summary: "Replication slot {{ $labels.slot_name }} lost its WAL.",
          description:
            "The slot passed max_slot_wal_keep_size and PostgreSQL removed WAL its replica needs. The replica " +
            "can only continue from the archive, or must be rebuilt.",
        },
      ],
    });
  }

  groups.push(
    {
      name: `${model.name}.capacity`,
      rules: [
        {
          alert: "PgstackDataVolumeFilling",
          expr: `${M.databaseBytes}${sel()} + ${M.walDirBytes}${sel()} > ${t.volumeWarningBytes}`,
          for: "5m",
          severity: "warning",
          summary: `The data volume of ${member} is over 80% of ${storage}.`,
          description:
            `Databases plus pg_wal exceed ${humanBytes(t.volumeWarningBytes)} of the ${storage} volume ` +
            "(pgstack:storageSize) for 5 minutes.",
        },
        {
          alert: "PgstackDataVolumeAlmostFull",
          expr: `${M.databaseBytes}${sel()} + ${M.walDirBytes}${sel()} > ${t.volumeCriticalBytes}`,
          for: "1m",
          severity: "critical",
          summary: `The data volume of ${member} is over 90% of ${storage}.`,
          description:
            `Databases plus pg_wal exceed ${humanBytes(t.volumeCriticalBytes)} of the ${storage} volume. A full ` +
            "volume stops PostgreSQL (it cannot write WAL).",
        },
        // Kubernetes: the filesystem as the kubelet measures it (kubelet_volume_stats_*, which the
        // Prometheus operator's kubelet ServiceMonitor scrapes). Databases plus pg_wal leave out the
        // filesystem's own overhead and its 5% reserved for root, the pgBackRest spool and logs:
        // on a 1Gi volume PostgreSQL's writes fail before they reach 90% of storageSize.
        ...(model.platform === "kubernetes"
          ? [
              {
                alert: "PgstackDataVolumeSpaceLow",
                expr: `${kubeletVolume("available")} / ${kubeletVolume("capacity")} < ${VOLUME_SPACE_LOW_FRACTION}`,
                for: "1m",
                severity: "critical" as const,
                summary: `The data volume {{ $labels.persistentvolumeclaim }} has under ${VOLUME_SPACE_LOW_FRACTION * 100}% of its filesystem left.`,
                description:
                  `Under ${VOLUME_SPACE_LOW_FRACTION * 100}% of the volume's filesystem is left for PostgreSQL to write (kubelet_volume_stats), ` +
                  "whatever fills it: databases, pg_wal, the pgBackRest spool or logs. When it runs out, PostgreSQL stops.",
              },
            ]
          : []),
        {
          alert: "PgstackConnectionsNearLimit",
          expr: `${M.connections}${sel()} > ${t.connectionsWarning}`,
          for: "5m",
          severity: "warning",
          summary: `Member ${member} uses over 80% of its ${t.connectionSlots} connection slots.`,
          description:
            `max_connections minus the reserved slots leaves ${t.connectionSlots} for applications; more than ` +
            `${t.connectionsWarning} have been in use for 5 minutes.`,
        },
        {
          alert: "PgstackConnectionsExhausted",
          expr: `${M.connections}${sel()} > ${t.connectionsCritical}`,
          for: "1m",
          severity: "critical",
          summary: `Member ${member} has almost no connection slot left.`,
          description: `More than ${t.connectionsCritical} of ${t.connectionSlots} slots in use: new connections are refused at the limit.`,
        },
        {
          alert: "PgstackXidWraparoundApproaching",
          expr: `${M.oldestXidAge}${sel()} > ${t.xidAgeWarning}`,
          for: "15m",
          severity: "warning",
          summary: `Transaction ID age on ${member} is past 1.5 x autovacuum_freeze_max_age.`,
          description:
            `The oldest unfrozen database is more than ${t.xidAgeWarning} transactions old: anti-wraparound ` +
            "autovacuum is not keeping up.",
        },
        {
          alert: "PgstackXidWraparoundImminent",
          expr: `${M.oldestXidAge}${sel()} > ${t.xidAgeCritical}`,
          for: "5m",
          severity: "critical",
          summary: `Transaction ID age on ${member} is past half of the wraparound limit.`,
          description:
            `More than ${t.xidAgeCritical} transactions (2^31 / 2) since the oldest freeze: PostgreSQL stops ` +
            "accepting writes near 2^31.",
        },
      ],
    },
    {
      name: `${model.name}.sessions`,
      rules: [
        {
          alert: "PgstackLongRunningQuery",
          expr: `${M.longestQuerySeconds}${sel()} > ${t.longQuerySeconds}`,
          severity: "warning",
          summary: `A query on ${member} has run for more than ${human(t.longQuerySeconds)}.`,
          description:
            "The oldest running client statement is past the threshold (5 minutes, or half of statement_timeout " +
            "when shorter). It holds back vacuum and may hold locks.",
        },
        {
          alert: "PgstackIdleInTransaction",
          expr: `${M.longestIdleInTransactionSeconds}${sel()} > ${t.idleInTransactionSeconds}`,
          severity: "warning",
          summary: `A session on ${member} has sat idle in a transaction for more than ${human(t.idleInTransactionSeconds)}.`,
          description:
            "Half of idle_in_transaction_session_timeout (5 minutes when unset): an open transaction holds its " +
            "locks and blocks vacuum until the server ends it.",
        },
      ],
    },
    {
      name: `${model.name}.backups`,
      rules: [
        {
          alert: "PgstackFullBackupTooOld",
          expr: `time() - ${J.backupLastSuccess}${sel('type="full"')} > ${t.fullBackupMaxAgeSeconds}`,
          severity: "warning",
          summary: `The newest full backup of ${model.name} is older than ${human(t.fullBackupMaxAgeSeconds)}.`,
          description:
            `pgstack:backupFullSchedule is "${model.archive.schedules.full}": its longest gap plus the time a full ` +
            `backup of the ${storage} volume may take has passed without a successful full backup.`,
        },
        {
          alert: "PgstackBackupTooOld",
          expr: `time() - max by (${clusterLabel}) (${J.backupLastSuccess}${sel()}) > ${t.anyBackupMaxAgeSeconds}`,
          severity: "critical",
          summary: `No backup of ${model.name} succeeded in ${human(t.anyBackupMaxAgeSeconds)}.`,
          description:
            `The full ("${model.archive.schedules.full}") and differential ("${model.archive.schedules.diff}") ` +
            "schedules together should have produced a backup by now. Restores replay ever more WAL.",
        },
        {
          alert: "PgstackVerifyFailed",
          expr: `${J.verifyLastSuccess}${sel()} == 0`,
          severity: "critical",
          summary: `pgbackrest verify found damaged files in the repository of ${model.name}.`,
          description:
            "The last verify of the repository failed: a backup or WAL file does not match its checksum. A restore " +
            "that needs it would fail.",
        },
        {
          alert: "PgstackRestoreDrillFailed",
          expr: `${J.drillLastSuccess}${sel()} == 0`,
          severity: "critical",
          summary: `The last restore drill of ${model.name} failed.`,
          description:
            "Restoring the newest backup into scratch space, recovering it and checking it did not succeed: " +
            "the backups are not proven restorable.",
        },
        {
          alert: "PgstackRestoreDrillTooOld",
          expr: `time() - ${J.drillLastSuccessTime}${sel()} > ${t.drillMaxAgeSeconds}`,
          severity: "warning",
          summary: `No restore drill of ${model.name} passed in ${human(t.drillMaxAgeSeconds)}.`,
          description: `pgstack:restoreDrillSchedule is "${model.archive.drillSchedule}": its longest gap plus a full restore's time has passed.`,
        },
      ],
    },
    {
      name: `${model.name}.certificates`,
      rules: [
        {
          alert: "PgstackCertificateExpiring",
          expr: `${CERTIFICATE_NOT_AFTER}${sel()} - time() < ${t.certificateWarningSeconds}`,
          severity: "warning",
          summary: `The {{ $labels.certificate }} certificate of ${model.name} expires within 30 days.`,
          description:
            "pgstack renews its certificates on `pulumi up` within 30 days of expiry: run `pulumi up` for this stack.",
        },
        {
          alert: "PgstackCertificateExpiringSoon",
          expr: `${CERTIFICATE_NOT_AFTER}${sel()} - time() < ${t.certificateCriticalSeconds}`,
          severity: "critical",
          summary: `The {{ $labels.certificate }} certificate of ${model.name} expires within 7 days.`,
          description: "Replication, backups and TLS clients fail once it expires.",
        },
      ],
    },
  );
  return groups;
}

/** The rule file Prometheus loads (`rule_files`), or a PrometheusRule's spec.groups. */
export function prometheusRuleGroups(model: ClusterModel) {
  return alertGroups(model).map((group) => ({
    name: group.name,
    rules: group.rules.map((rule) => ({
      alert: rule.alert,
      expr: rule.expr,
      ...(rule.for ? { for: rule.for } : {}),
      labels: { severity: rule.severity },
      annotations: {
        summary: rule.summary,
        description: rule.description,
        runbook_url: runbookAnchor(rule.alert),
      },
    })),
  }));
}

export function renderAlertRules(model: ClusterModel): string {
  const header = commentLines([
    ...generatedHeader(model, "Prometheus alert rules"),
    "",
    "Thresholds are computed from the stack config; each alert's runbook is a section of README.md.",
  ]);
  return `${header.join("\n")}\n${stringify({ groups: prometheusRuleGroups(model) }, { lineWidth: 0 })}`;
}
