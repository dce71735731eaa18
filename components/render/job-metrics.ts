/**
 * Series the alert rules read that no PostgreSQL query can give: the outcome of the backup
 * runner's jobs, and the expiry of the stack's certificates.
 *
 * Backups, verify and the restore drill are batch jobs of the backup runner (supercronic in dev,
 * CronJobs in prod). Their outcome is pushed by the job itself to a Prometheus Pushgateway when it
 * ends, under the job `pgstack_backup_runner` and the stack's cluster label. The Pushgateway is the
 * component Prometheus documents for exactly this ("the outcome of a service-level batch job"),
 * and Debian ships it (prometheus-pushgateway). pgbackrest_exporter, which reads `pgbackrest info`,
 * was rejected: it is a long-running process that must hold the repository's S3 credentials and
 * cipher passphrase, while a push needs neither, and it knows nothing of verify or drills.
 *
 * Certificate expiry is pushed the same way, by the runner's report-certificates.sh: each member's
 * certificate as PostgreSQL presents it (openssl s_client -starttls postgres), the runner's own and
 * the CA. PostgreSQL exposes no function for its server certificate's dates, and reading the
 * served certificate measures what the process loaded. enix/x509-certificate-exporter (reading the
 * mounted files) was the other candidate: no image digest of it could be checked here, Debian does
 * not ship it (so the proving ground could not run it), and a file tells what should be served,
 * not what is. blackbox_exporter's tls probe cannot speak PostgreSQL's SSLRequest first.
 */
export const JOB_METRICS = {
  /** Unix time the newest backup of `type` (full or diff) finished successfully. */
  backupLastSuccess: "pgstack_backup_last_success_timestamp_seconds",
  /** 1 when the last `pgbackrest verify` found every file intact, else 0. */
  verifyLastSuccess: "pgstack_verify_last_success",
  /** 1 when the last restore drill restored, recovered and checked the data, else 0. */
  drillLastSuccess: "pgstack_drill_last_success",
  /** Unix time the newest successful restore drill finished. */
  drillLastSuccessTime: "pgstack_drill_last_success_timestamp_seconds",
  /** Seconds the last passed drill's `pgbackrest restore` took (files from the repository). */
  drillRestoreSeconds: "pgstack_drill_restore_seconds",
  /** Seconds its PostgreSQL took from start to the end of recovery (WAL replayed to the end of the archive). */
  drillRecoverySeconds: "pgstack_drill_recovery_seconds",
  /** Bytes of every database of the restored copy. */
  drillDatabaseBytes: "pgstack_drill_database_bytes",
  /** Restore plus recovery seconds per GB (1e9 bytes) of data: the RTO figure to plan with. */
  drillRtoSecondsPerGigabyte: "pgstack_drill_rto_seconds_per_gigabyte",
  /** Age of the newest transaction the restored copy holds, when the drill ended: how recent a restore is. */
  drillDataAgeSeconds: "pgstack_drill_data_age_seconds",
} as const;

/** The drill's measurements, pushed with its success (report-job.sh's series file). */
export const DRILL_MEASUREMENTS = [
  JOB_METRICS.drillRestoreSeconds,
  JOB_METRICS.drillRecoverySeconds,
  JOB_METRICS.drillDatabaseBytes,
  JOB_METRICS.drillRtoSecondsPerGigabyte,
  JOB_METRICS.drillDataAgeSeconds,
] as const;

/** The Pushgateway job name the runner's pushes are grouped under. */
export const PUSH_JOB = "pgstack_backup_runner";

/** Unix time a certificate of the stack stops being valid (label `certificate`: member name, runner, ca). */
export const CERTIFICATE_NOT_AFTER = "pgstack_certificate_not_after_timestamp_seconds";

/** Leaf certificates are renewed by `pulumi up` within this many days of expiry (both platforms). */
export const CERTIFICATE_RENEWAL_DAYS = 30;
