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
 * Certificate expiry comes from enix/x509-certificate-exporter watching the mounted certificate
 * files (never the keys): PostgreSQL exposes no function for its server certificate's dates.
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
} as const;

/** The Pushgateway job name the runner's pushes are grouped under. */
export const PUSH_JOB = "pgstack_backup_runner";

/** enix/x509-certificate-exporter: Unix time a watched certificate stops being valid. */
export const CERTIFICATE_NOT_AFTER = "x509_cert_not_after";

/** Leaf certificates are renewed by `pulumi up` within this many days of expiry (both platforms). */
export const CERTIFICATE_RENEWAL_DAYS = 30;
