import { type ConfigProblem, displayValue } from "../config/config-error";
import type { ConfParameter } from "./cluster-spec";
import { parseMemoryValue } from "./parameter-values";
import { formatPgMemory, formatQuantity, GiB, MiB } from "./units";

/**
 * The WAL PostgreSQL may keep must fit on the data volume, which also holds the data and the
 * pgBackRest spool. Every retention bound counts in full, as if they did not overlap, because
 * each can be reached alone: max_wal_size between checkpoints (a soft bound that a burst
 * overshoots), wal_keep_size for standbys without a slot, max_slot_wal_keep_size for a lagging
 * replica's slot, and the archive-get queue pgBackRest prefetches into the spool. Their sum must
 * stay within half of the volume: the other half is the data and the headroom for WAL that
 * waits while the archive is unreachable (archiving failures keep every segment until pushed).
 */

/**
 * pgBackRest's archive-get-queue-max default, 134217728 bytes (pgbackrest.org/configuration.html,
 * "Maximum Archive Get Queue Size Option"); pgstack does not change it, and the spool is on the
 * data volume (layout.spoolPath).
 */
export const ARCHIVE_GET_QUEUE_BYTES = 128 * MiB;

/** Share of the data volume the retained WAL may take. */
export const WAL_VOLUME_SHARE = 0.5;

/** The parameters that bound retained WAL, and what an unset one means to PostgreSQL. */
const WAL_RETENTION = ["max_wal_size", "wal_keep_size", "max_slot_wal_keep_size"] as const;

export interface WalRetention {
  readonly terms: Readonly<Record<(typeof WAL_RETENTION)[number], number>>;
  readonly totalBytes: number;
}

/** The WAL the parameters let PostgreSQL keep, term by term (Infinity for an unbounded one). */
export function walRetention(parameters: readonly ConfParameter[]): WalRetention {
  const bytes = (name: string): number => {
    const value = parameters.find((parameter) => parameter.name === name)?.value;
    if (value === undefined || value === "0") return 0;
    if (value === "-1") return Number.POSITIVE_INFINITY;
    return parseMemoryValue(value) ?? Number.POSITIVE_INFINITY;
  };
  const terms = {
    max_wal_size: bytes("max_wal_size"),
    wal_keep_size: bytes("wal_keep_size"),
    max_slot_wal_keep_size: bytes("max_slot_wal_keep_size"),
  };
  return {
    terms,
    totalBytes:
      terms.max_wal_size + terms.wal_keep_size + terms.max_slot_wal_keep_size + ARCHIVE_GET_QUEUE_BYTES,
  };
}

export interface WalVolumeInput {
  /** Final parameters (computed, then overrides). */
  readonly parameters: readonly ConfParameter[];
  readonly storageBytes: number;
  /** pgstack:parameters entries by parameter name, for the ones set by an override. */
  readonly overrideKeys: Readonly<Record<string, { key: string; entry: string }>>;
  /** The retained WAL of the same config on a volume of another size (computed terms scale with it). */
  readonly retentionAt: (storageBytes: number) => number;
}

const allowed = (storageBytes: number) => Math.floor(storageBytes * WAL_VOLUME_SHARE);

export function walVolumeProblems(input: WalVolumeInput): ConfigProblem[] {
  const retention = walRetention(input.parameters);
  const limit = allowed(input.storageBytes);
  if (retention.totalBytes <= limit) return [];
  const volume = formatQuantity(input.storageBytes);
  const show = (bytes: number) => (Number.isFinite(bytes) ? formatPgMemory(bytes) : "unbounded");
  const sum =
    WAL_RETENTION.map((name) => `${name} ${show(retention.terms[name])}`).join(" + ") +
    ` + pgBackRest's archive-get queue ${formatPgMemory(ARCHIVE_GET_QUEUE_BYTES)} = ${show(retention.totalBytes)}`;
  const rule = `the WAL PostgreSQL may keep on the data volume (${sum}) must stay within half of the ${volume} volume, ${formatPgMemory(limit)}: the other half holds the data and the WAL that waits while the archive is unreachable`;
  const problems: ConfigProblem[] = [];
  for (const name of WAL_RETENTION) {
    const override = input.overrideKeys[name];
    if (!override) continue;
    const rest = retention.totalBytes - retention.terms[name];
    const most = Math.floor((limit - rest) / MiB) * MiB;
    problems.push({
      key: override.key,
      value: displayValue(override.entry),
      message: rule,
      fix:
        most >= MiB && Number.isFinite(rest)
          ? `use at most "${name}=${formatPgMemory(most)}", or raise pgstack:storageSize`
          : `remove ${override.key} from pgstack:parameters, or raise pgstack:storageSize`,
    });
  }
  const smallest = smallestVolume(input);
  problems.push({
    key: "pgstack:storageSize",
    value: displayValue(volume),
    message: problems.length > 0 ? `is too small for the WAL the overrides keep: ${rule}` : rule,
    fix:
      smallest !== undefined
        ? `pulumi config set pgstack:storageSize ${formatQuantity(smallest)} (the smallest whole-Gi volume that holds it)`
        : "lower the WAL overrides in pgstack:parameters: no volume up to 64Ti holds them",
  });
  return problems;
}

/** The smallest whole-GiB volume (up to 64Ti) whose half holds the retained WAL. */
function smallestVolume(input: WalVolumeInput): number | undefined {
  const fits = (gib: number) => input.retentionAt(gib * GiB) <= allowed(gib * GiB);
  const most = 64 * 1024;
  let high = Math.max(1, Math.ceil(input.storageBytes / GiB));
  while (high <= most && !fits(high)) high *= 2;
  if (high > most) {
    if (!fits(most)) return undefined;
    high = most;
  }
  let low = Math.max(0, Math.ceil(input.storageBytes / GiB) - 1);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fits(middle)) high = middle;
    else low = middle;
  }
  return high * GiB;
}
