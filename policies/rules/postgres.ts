import type { PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { AWS, bucketName } from "./aws";
import { type ClusterView, clusterView, containerCommands, type PolicedSpec } from "./cluster-view";
import { DOCKER_VOLUME } from "./docker";
import { K8S } from "./pod-templates";
import { configOf, list, physicalName, record, stackPolicy } from "./policy-kit";
import {
  type HbaRule,
  parseIni,
  parsePgHba,
  parsePostgresqlConf,
  pgBoolean,
  pgMemoryBytes,
} from "./postgres-conf";

/**
 * Stack policies over PostgreSQL's own semantics: they read the rendered postgresql.conf and
 * pg_hba.conf the resources deliver and the ClusterSpec the cluster component exposes (see
 * cluster-view.ts for why each comes from where).
 */

const MiB = 1024 ** 2;
const kB = 1024;

interface Conf {
  readonly settings: Map<string, string>;
  /** Where it was found, for messages. */
  readonly where: string;
  readonly carrier?: PolicyResource;
}

/**
 * The cluster, or not applicable when the stack runs no pgstack cluster. Every delivered
 * postgresql.conf is checked; when none is found among the resources, the spec's rendered one.
 */
function clusterOrSkip(args: StackValidationArgs): { view: ClusterView; confs: Conf[] } {
  const view = clusterView(args.resources);
  const delivered = view.files.filter((f) => f.name === "postgresql.conf");
  if (!view.spec && delivered.length === 0) args.notApplicable("no pgstack cluster in this stack");
  const confs: Conf[] =
    delivered.length > 0
      ? delivered.map((f) => ({
          settings: parsePostgresqlConf(f.content),
          where: `postgresql.conf in ${f.carrier.name}`,
          carrier: f.carrier,
        }))
      : [
          {
            settings: parsePostgresqlConf(view.spec?.files["postgresql.conf"] ?? ""),
            where: "the spec's postgresql.conf",
          },
        ];
  return { view, confs };
}

const replicaCount = (spec: PolicedSpec | undefined) =>
  spec?.members.filter((m) => m.role === "replica").length;

const urnOf = (conf: Conf, view: ClusterView) => conf.carrier?.urn ?? view.specCarrier?.urn;

export const postgresDurability = stackPolicy({
  name: "postgres-durability",
  description:
    "Durability is never traded away: fsync and full_page_writes stay on (off corrupts the cluster on a crash), and synchronous_commit stays on where configured (prod).",
  severity: "critical",
  remediationSteps:
    "Remove fsync=off, full_page_writes=off (and in prod synchronous_commit=off) from pgstack:parameters.",
  configSchema: {
    properties: {
      allowAsynchronousCommit: {
        type: "boolean",
        default: false,
        description: "Allow synchronous_commit=off (loses the last commits on a crash, never corrupts).",
      },
    },
  },
  validate: (args, report) => {
    const { allowAsynchronousCommit } = configOf(args, { allowAsynchronousCommit: false });
    const { view, confs } = clusterOrSkip(args);
    for (const conf of confs) {
      for (const name of ["fsync", "full_page_writes"]) {
        if (pgBoolean(conf.settings.get(name)) === false) {
          report(
            `${conf.where} sets ${name}=off, which corrupts the database on a crash or power loss: remove the ${name} override from pgstack:parameters.`,
            urnOf(conf, view),
          );
        }
      }
      if (!allowAsynchronousCommit && conf.settings.get("synchronous_commit")?.toLowerCase() === "off") {
        report(
          `${conf.where} sets synchronous_commit=off, which loses acknowledged commits on a crash: remove that override (this stack's policy config forbids it).`,
          urnOf(conf, view),
        );
      }
    }
  },
});

export const postgresWalConsistency = stackPolicy({
  name: "postgres-wal-consistency",
  description:
    "WAL settings serve what the cluster does: wal_level carries replication and archiving, archive_mode has an archive_command, there are WAL senders and slots for every replica plus a re-seed, and slots cannot fill the disk (max_slot_wal_keep_size bounded below the volume).",
  severity: "critical",
  remediationSteps:
    "Leave wal_level, archive_mode, archive_command, max_wal_senders, max_replication_slots and max_slot_wal_keep_size to pgstack's tuning, or override them consistently.",
  validate: (args, report) => {
    const { view, confs } = clusterOrSkip(args);
    const replicas = replicaCount(view.spec) ?? 0;
    for (const conf of confs) {
      const s = conf.settings;
      const urn = urnOf(conf, view);
      const walLevel = (s.get("wal_level") ?? "replica").toLowerCase();
      const archiveMode = (s.get("archive_mode") ?? "off").toLowerCase();
      const archiving = archiveMode === "on" || archiveMode === "always";
      if (walLevel === "minimal" && (replicas > 0 || archiving)) {
        report(
          `${conf.where} sets wal_level=minimal, which cannot feed ${replicas > 0 ? `${replicas} replica(s)` : "the WAL archive"}: use wal_level=replica.`,
          urn,
        );
      }
      if (archiving && (s.get("archive_command") ?? "") === "" && (s.get("archive_library") ?? "") === "") {
        report(
          `${conf.where} turns archive_mode on with no archive_command: WAL piles up in pg_wal until the disk fills; set archive_command to pgBackRest's archive-push.`,
          urn,
        );
      }
      if (replicas === 0) continue;
      const senders = Number(s.get("max_wal_senders") ?? 10);
      if (!(senders >= replicas + 1)) {
        report(
          `${conf.where} sets max_wal_senders=${senders} for ${replicas} replica(s): it needs at least ${replicas + 1} (one per replica, one spare so a replica can be re-seeded with pg_basebackup -X stream).`,
          urn,
        );
      }
      const slots = Number(s.get("max_replication_slots") ?? 10);
      if (!(slots >= replicas)) {
        report(
          `${conf.where} sets max_replication_slots=${slots} for ${replicas} replica(s): each replica streams from its own slot; set it to at least ${replicas}.`,
          urn,
        );
      }
      const keep = pgMemoryBytes(s.get("max_slot_wal_keep_size") ?? "-1", MiB);
      if (keep === undefined || keep < 0) {
        report(
          `${conf.where} leaves max_slot_wal_keep_size unbounded (-1): a stalled replica's slot then keeps WAL until the primary's disk is full; bound it below the volume size.`,
          urn,
        );
      } else if (view.spec && keep >= view.spec.resources.storageBytes) {
        report(
          `${conf.where} sets max_slot_wal_keep_size to ${Math.round(keep / MiB)}MB, not below the ${Math.round(view.spec.resources.storageBytes / MiB)}MB volume: bound it well below the volume size.`,
          urn,
        );
      }
    }
  },
});

/** Worst-case memory of a postgresql.conf, term by term, as in the spec's MemoryBudget. */
export function memoryDemand(s: Map<string, string>, overheadBytes: number) {
  const sharedBuffers = pgMemoryBytes(s.get("shared_buffers") ?? "128MB", 8 * kB) ?? 0;
  const walSetting = pgMemoryBytes(s.get("wal_buffers") ?? "-1", 8 * kB) ?? -1;
  const walBuffers = walSetting >= 0 ? walSetting : Math.min(Math.max(sharedBuffers / 32, 64 * kB), 16 * MiB);
  const workMem = pgMemoryBytes(s.get("work_mem") ?? "4MB", kB) ?? 0;
  const hashMemMultiplier = Number(s.get("hash_mem_multiplier") ?? 2);
  // Every connection and every parallel worker can hold work_mem × hash_mem_multiplier at once.
  const workMemHolders = Number(s.get("max_connections") ?? 100) + Number(s.get("max_parallel_workers") ?? 8);
  const maintenanceWorkMem = pgMemoryBytes(s.get("maintenance_work_mem") ?? "64MB", kB) ?? 0;
  const autovacuumWorkers = Number(s.get("autovacuum_max_workers") ?? 3);
  const autovacuumSetting = pgMemoryBytes(s.get("autovacuum_work_mem") ?? "-1", kB) ?? -1;
  const autovacuumWorkMem = autovacuumSetting >= 0 ? autovacuumSetting : maintenanceWorkMem;
  const terms = {
    shared_buffers: sharedBuffers,
    wal_buffers: walBuffers,
    "(max_connections + max_parallel_workers) × work_mem × hash_mem_multiplier":
      workMemHolders * workMem * hashMemMultiplier,
    "autovacuum_max_workers × autovacuum_work_mem": autovacuumWorkers * autovacuumWorkMem,
    maintenance_work_mem: maintenanceWorkMem,
    overhead: overheadBytes,
  };
  return { terms, total: Object.values(terms).reduce((a, b) => a + b, 0) };
}

/**
 * pgBackRest's own worst case beside PostgreSQL: the main process (protocol, the backup manifest,
 * about 1kB per file) and, per process-max worker, a few buffer-size (1MiB) buffers for reading,
 * compressing, encrypting and sending, with ample headroom.
 */
const PGBACKREST_MAIN_BYTES = 256 * MiB;
const PGBACKREST_WORKER_BYTES = 64 * MiB;

export function pgbackrestDemand(processMax: number): number {
  return PGBACKREST_MAIN_BYTES + processMax * PGBACKREST_WORKER_BYTES;
}

export const postgresMemoryBudget = stackPolicy({
  name: "postgres-memory-budget",
  description:
    "PostgreSQL's worst-case memory (shared_buffers + wal_buffers + (connections + parallel workers) × work_mem × hash_mem_multiplier + autovacuum workers × autovacuum_work_mem + maintenance_work_mem + the spec's process overhead), recomputed from the delivered postgresql.conf, fits the container's memory limit: past it the kernel kills the postmaster. A pgBackRest TLS server in its own container (the primary's sidecar) has a limit of its own that covers 256MiB + 64MiB per process-max process.",
  severity: "critical",
  remediationSteps:
    "Lower the work_mem/shared_buffers/max_connections overrides in pgstack:parameters, or raise pgstack:memoryLimit.",
  validate: (args, report) => {
    const { view, confs } = clusterOrSkip(args);
    if (!view.spec) {
      report(
        "the cluster exposes no spec, so the memory budget's overhead and limit are unknown: the cluster component must register its ClusterSpec as the `spec` output.",
      );
      return;
    }
    const spec = view.spec;
    // The limit the containers really get: the smallest among containers running PostgreSQL.
    const postgresArgv = spec.commands.postgres.join(" ");
    const containerLimits = args.resources
      .flatMap((r) => containerCommands(r))
      .filter((c) => postgresArgv !== "" && c.argv.join(" ").includes(postgresArgv))
      .map((c) => c.limitBytes)
      .filter((b): b is number => b !== undefined);
    const limit = Math.min(spec.resources.memoryLimitBytes, ...containerLimits);
    for (const conf of confs) {
      const { terms, total } = memoryDemand(conf.settings, spec.tuning.memoryBudget.overheadBytes);
      if (total > limit) {
        const breakdown = Object.entries(terms)
          .map(([k, v]) => `${k} ${Math.round(v / MiB)}MB`)
          .join(" + ");
        report(
          `${conf.where} can use ${Math.round(total / MiB)}MB (${breakdown}) but the container limit is ${Math.round(limit / MiB)}MB: lower work_mem, shared_buffers or max_connections in pgstack:parameters, or raise pgstack:memoryLimit.`,
          urnOf(conf, view),
        );
      }
    }
    const pgbackrestConf = view.files.find((f) => f.name === "pgbackrest.conf");
    const processMax = Number(
      parseIni(pgbackrestConf?.content ?? "")
        .get("global")
        ?.get("process-max") ?? 1,
    );
    const demand = pgbackrestDemand(processMax);
    for (const resource of args.resources) {
      for (const container of containerCommands(resource)) {
        const [program, command] = container.argv;
        if (program !== "pgbackrest" || command !== "server") continue;
        if (container.limitBytes === undefined || container.limitBytes < demand) {
          report(
            `${resource.type.split(":").pop()} ${physicalName(resource)}: the pgBackRest TLS server's container has ${container.limitBytes === undefined ? "no memory limit" : `a ${Math.round(container.limitBytes / MiB)}MB limit`}, under pgBackRest's ${Math.round(demand / MiB)}MB for process-max=${processMax} (256MB + 64MB per process): a backup would be OOM-killed; give it at least that.`,
            resource.urn,
          );
        }
      }
    }
  },
});

export const postgresHbaNoTrust = stackPolicy({
  name: "postgres-hba-no-trust",
  description:
    "pg_hba.conf trusts nobody over the network: `trust` is allowed only on the local socket (which peer auth should cover anyway).",
  severity: "critical",
  remediationSteps: "Use scram-sha-256 (or cert) for every host/hostssl/hostnossl rule.",
  validate: (args, report) => {
    const view = clusterView(args.resources);
    const delivered = view.files.filter((f) => f.name === "pg_hba.conf");
    if (!view.spec && delivered.length === 0) args.notApplicable("no pgstack cluster in this stack");
    const files =
      delivered.length > 0
        ? delivered.map((f) => ({
            rules: parsePgHba(f.content),
            where: `pg_hba.conf in ${f.carrier.name}`,
            urn: f.carrier.urn,
          }))
        : [
            {
              rules: parsePgHba(view.spec?.files["pg_hba.conf"] ?? ""),
              where: "the spec's pg_hba.conf",
              urn: view.specCarrier?.urn,
            },
          ];
    for (const file of files) {
      for (const rule of file.rules.filter((r: HbaRule) => r.method === "trust" && r.type !== "local")) {
        report(
          `${file.where} line ${rule.line} ("${rule.text}") lets anyone from ${rule.address ?? "the network"} in without a password: use scram-sha-256 or cert.`,
          file.urn,
        );
      }
    }
  },
});

/** Every string value inside a resource's props. */
function stringsIn(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 14) return out;
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out, depth + 1);
  else {
    const object = record(value);
    if (object) for (const v of Object.values(object)) stringsIn(v, out, depth + 1);
  }
  return out;
}

/** Resources that hold a data volume or the archive: what `pulumi destroy` must not delete. */
function dataHolders(resources: readonly PolicyResource[]): PolicyResource[] {
  return resources.filter(
    (r) =>
      r.type === DOCKER_VOLUME ||
      r.type === K8S.pvc ||
      r.type === AWS.bucket ||
      r.type === AWS.bucketV2 ||
      (r.type === K8S.statefulSet && list(record(r.props.spec)?.volumeClaimTemplates).length > 0),
  );
}

interface Readiness {
  minReplicas: number;
  requireArchiving: boolean;
  requireBackupSchedules: boolean;
  requireProtection: boolean;
}

const STRICT: Readiness = {
  minReplicas: 1,
  requireArchiving: true,
  requireBackupSchedules: true,
  requireProtection: true,
};

export const postgresProductionReadiness = stackPolicy({
  name: "postgres-production-readiness",
  description:
    "A production cluster survives the loss of a node and of its disks: at least one streaming replica, WAL archived by pgBackRest, full and differential backups deployed on their schedules, and volumes and bucket protected from `pulumi destroy`.",
  severity: "critical",
  remediationSteps:
    "Set pgstack:replicas >= 1, keep archiving on, set pgstack:backupFullSchedule/backupDiffSchedule, and pgstack:protect true.",
  configSchema: {
    properties: {
      minReplicas: { type: "integer", minimum: 0, default: STRICT.minReplicas },
      requireArchiving: { type: "boolean", default: STRICT.requireArchiving },
      requireBackupSchedules: { type: "boolean", default: STRICT.requireBackupSchedules },
      requireProtection: { type: "boolean", default: STRICT.requireProtection },
    },
  },
  validate: (args, report: ReportViolation) => {
    const config = configOf(args, STRICT);
    const { view, confs } = clusterOrSkip(args);
    const spec = view.spec;
    if (!spec) {
      report(
        "the cluster exposes no spec, so replicas and backup schedules cannot be checked: the cluster component must register its ClusterSpec as the `spec` output.",
      );
      return;
    }
    const urn = view.specCarrier?.urn;
    const replicas = replicaCount(spec) ?? 0;
    if (replicas < config.minReplicas) {
      report(
        `the cluster has ${replicas} replica(s); this stack requires at least ${config.minReplicas}: set pgstack:replicas to ${config.minReplicas} or more.`,
        urn,
      );
    }
    if (config.requireArchiving) {
      for (const conf of confs) {
        const mode = (conf.settings.get("archive_mode") ?? "off").toLowerCase();
        const command = conf.settings.get("archive_command") ?? "";
        if (!(mode === "on" || mode === "always") || !command.includes("archive-push")) {
          report(
            `${conf.where} does not archive WAL with pgBackRest (archive_mode=${mode}, archive_command="${command}"): without it there is no point-in-time recovery; remove the override that disables archiving.`,
            urnOf(conf, view),
          );
        }
      }
    }
    if (config.requireBackupSchedules) {
      const deployed = new Set(
        args.resources.filter((r) => r !== view.specCarrier).flatMap((r) => stringsIn(r.props)),
      );
      for (const [kind, schedule] of Object.entries(spec.archive.schedules)) {
        if (!schedule) {
          report(
            `no ${kind} backup schedule: set pgstack:backup${kind === "full" ? "Full" : "Diff"}Schedule.`,
            urn,
          );
        } else if (![...deployed].some((s) => s === schedule || s.includes(`${schedule} `))) {
          report(
            `the ${kind} backup schedule "${schedule}" is deployed by no resource (no CronJob or crontab carries it): the platform must schedule spec.commands.runnerBackup${kind === "full" ? "Full" : "Diff"}.`,
            urn,
          );
        }
      }
    }
    if (config.requireProtection) {
      for (const holder of dataHolders(args.resources)) {
        if (holder.opts.protect !== true) {
          const name =
            holder.type === AWS.bucket || holder.type === AWS.bucketV2
              ? bucketName(holder)
              : physicalName(holder);
          report(
            `${holder.type.split(":").pop()} ${name} holds data but is not protected: set pgstack:protect true so \`pulumi destroy\` cannot delete it.`,
            holder.urn,
          );
        }
      }
    }
  },
});

export const postgresPolicies = [
  postgresDurability,
  postgresWalConsistency,
  postgresMemoryBudget,
  postgresHbaNoTrust,
  postgresProductionReadiness,
];
