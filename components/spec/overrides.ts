import { closest, distance } from "fastest-levenshtein";
import { type ConfigProblem, displayValue } from "../config/config-error";
import type { PostgresVersion } from "../config/stack-config";
import { CONF_SECTIONS, type ConfParameter } from "./cluster-spec";
import { isSentinel, parseBoolValue, parseMemoryValue, parseTimeValue } from "./parameter-values";
import { type ParameterInfo, parameterHistory, parameterInfo, parameterNames } from "./postgres-parameters";
import { formatQuantity } from "./units";

/**
 * User overrides (`pgstack:parameters`, "name=value") are validated up front and then win over
 * the computed values. Layered as CloudNativePG does: computed defaults, then user parameters,
 * then the parameters pgstack owns, which no override may touch.
 */

export interface ParameterOverride {
  /** Position in pgstack:parameters. */
  readonly index: number;
  /** `pgstack:parameters[i]`, as errors name it. */
  readonly key: string;
  /** The entry as the user wrote it. */
  readonly entry: string;
  readonly name: string;
  /** The value without surrounding quotes. */
  readonly value: string;
}

/** Parameters pgstack owns without writing them to postgresql.conf, and why. */
const OWNED_UNWRITTEN: Readonly<Record<string, string>> = {
  data_directory: "PGDATA is a directory of the data volume, given to postgres with -D",
  external_pid_file: "the container runtime supervises the postmaster; no pid file outside PGDATA",
  archive_library:
    "WAL is archived by archive_command (pgBackRest archive-push); PostgreSQL 16+ refuses both",
  archive_cleanup_command:
    "pgBackRest expires archived WAL by backup retention; a cleanup command would delete WAL backups need",
  recovery_end_command: "recovery is driven by pgBackRest restore and the replica bootstrap",
  primary_conninfo: "each replica's bootstrap writes it (primary host, replication role, passfile)",
  primary_slot_name: "each replica streams from its own slot, written by its bootstrap",
  recovery_target: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_lsn: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_name: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_time: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_xid: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_inclusive: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_timeline: "a point-in-time restore sets the recovery target for that restore only",
  recovery_target_action: "a point-in-time restore sets the recovery target for that restore only",
};

/** Parameters set from another stack key: the override belongs there. */
export const CONFIGURED_BY_STACK_KEY: Readonly<Record<string, string>> = {
  max_connections: "pgstack:maxConnections",
  archive_timeout: "pgstack:archiveTimeout",
  ssl: "pgstack:tls",
};

/** What the topology requires of the overridable replication settings. */
export interface OverrideRules {
  readonly version: PostgresVersion;
  readonly replicas: number;
  readonly storageBytes: number;
  /** Parameters written with source "fixed": owned by pgstack, with the reason each has its value. */
  readonly fixed: readonly ConfParameter[];
  readonly requiredWalSenders: number;
  readonly requiredReplicationSlots: number;
}

/** Splits "name=value" entries; values lose one pair of surrounding single quotes. */
export function parseOverrides(entries: readonly string[]): {
  readonly overrides: readonly ParameterOverride[];
  readonly problems: readonly ConfigProblem[];
} {
  const overrides: ParameterOverride[] = [];
  const problems: ConfigProblem[] = [];
  entries.forEach((entry, index) => {
    const key = `pgstack:parameters[${index}]`;
    const match = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/.exec(entry);
    const raw = match?.[2] ?? "";
    const value = raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
    if (!match || value === "" || /[\n\r]/.test(entry)) {
      problems.push({
        key,
        value: displayValue(entry),
        message: 'expected one "name=value" assignment on one line',
        fix: `write it as "name=value", e.g. "work_mem=64MB"`,
      });
      return;
    }
    overrides.push({ index, key, entry, name: match[1].toLowerCase(), value });
  });
  return { overrides, problems };
}

/** Every problem of every override; empty when all may be applied. */
export function validateOverrides(
  overrides: readonly ParameterOverride[],
  rules: OverrideRules,
): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const firstIndex = new Map<string, number>();
  const preloaded = preloadedLibraries(overrides);
  for (const override of overrides) {
    const problem =
      duplicateProblem(override, firstIndex) ??
      ownershipProblem(override, rules) ??
      existenceProblem(override, rules.version, preloaded) ??
      valueProblem(override, rules) ??
      safetyProblem(override, rules);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** The computed parameters with the overrides applied, in section order. */
export function applyOverrides(
  computed: readonly ConfParameter[],
  overrides: readonly ParameterOverride[],
  version: PostgresVersion,
): readonly ConfParameter[] {
  const parameters = [...computed];
  for (const override of overrides) {
    const at = parameters.findIndex((parameter) => parameter.name === override.name);
    if (at >= 0) {
      const computedValue = parameters[at];
      parameters[at] = {
        ...computedValue,
        value: override.value,
        reason: `set by ${override.key}; pgstack computed ${computedValue.value} (${computedValue.reason})`,
        source: "override",
      };
    } else {
      parameters.push({
        name: override.name,
        value: override.value,
        reason: `set by ${override.key}`,
        section: parameterInfo(override.name, version)?.section ?? "Statistics and extensions",
        source: "override",
      });
    }
  }
  // A stable sort keeps pgstack's order within each section.
  return parameters.sort((a, b) => CONF_SECTIONS.indexOf(a.section) - CONF_SECTIONS.indexOf(b.section));
}

/** Libraries in shared_preload_libraries as it will be (the override's, or pgstack's). */
export function preloadedLibraries(overrides: readonly ParameterOverride[]): readonly string[] {
  const override = overrides.find((candidate) => candidate.name === "shared_preload_libraries");
  if (!override) return ["pg_stat_statements"];
  return override.value
    .split(",")
    .map((library) => library.trim().replace(/^"(.*)"$/, "$1"))
    .filter((library) => library !== "");
}

function problem(override: ParameterOverride, message: string, fix: string): ConfigProblem {
  return { key: override.key, value: displayValue(override.entry), message, fix };
}

const remove = (override: ParameterOverride) => `remove ${override.key} from pgstack:parameters`;

function duplicateProblem(
  override: ParameterOverride,
  firstIndex: Map<string, number>,
): ConfigProblem | undefined {
  const first = firstIndex.get(override.name);
  if (first === undefined) {
    firstIndex.set(override.name, override.index);
    return undefined;
  }
  return problem(
    override,
    `sets ${override.name} again (pgstack:parameters[${first}] sets it first)`,
    `keep one entry for ${override.name}`,
  );
}

function ownershipProblem(override: ParameterOverride, rules: OverrideRules): ConfigProblem | undefined {
  const fixed = rules.fixed.find((parameter) => parameter.name === override.name);
  if (fixed) {
    return problem(
      override,
      `${override.name} is owned by pgstack and is always ${JSON.stringify(fixed.value)}: ${fixed.reason}`,
      remove(override),
    );
  }
  const unwritten = OWNED_UNWRITTEN[override.name];
  if (unwritten)
    return problem(override, `${override.name} is owned by pgstack: ${unwritten}`, remove(override));
  const stackKey = CONFIGURED_BY_STACK_KEY[override.name];
  if (stackKey) {
    return problem(
      override,
      `${override.name} is computed from ${stackKey}, which the other layers read too`,
      `set ${stackKey} instead (pulumi config set ${stackKey} ...) and ${remove(override)}`,
    );
  }
  return undefined;
}

function existenceProblem(
  override: ParameterOverride,
  version: PostgresVersion,
  preloaded: readonly string[],
): ConfigProblem | undefined {
  const { name } = override;
  if (parameterInfo(name, version)) return undefined;
  const dot = name.indexOf(".");
  if (dot > 0) {
    const library = name.slice(0, dot);
    if (library !== "pg_stat_statements" && preloaded.includes(library)) return undefined;
    if (library === "pg_stat_statements") {
      return problem(
        override,
        `pg_stat_statements has no parameter ${name.slice(dot + 1)}`,
        "use one of pg_stat_statements.max, .track, .track_utility, .track_planning, .save",
      );
    }
    return problem(
      override,
      `${name} belongs to the library ${library}, which is not in shared_preload_libraries`,
      `also set "shared_preload_libraries=pg_stat_statements,${library}" (the image must ship ${library})`,
    );
  }
  const history = parameterHistory(name);
  if (history.validIn.length > 0) {
    const where = `it exists in PostgreSQL ${history.validIn.join(", ")}`;
    const fix = history.renamedTo
      ? `use ${history.renamedTo} (its name since PostgreSQL 16)`
      : `remove it, or choose a pgstack:postgresVersion it exists in (${history.validIn.join(", ")})`;
    return problem(override, `${name} is not a parameter of PostgreSQL ${version}; ${where}`, fix);
  }
  const names = parameterNames(version);
  const suggestion = closest(name, names as string[]);
  const near = distance(name, suggestion) <= Math.max(2, Math.floor(name.length / 3));
  return problem(
    override,
    `${name} is not a parameter of PostgreSQL ${version}`,
    near ? `did you mean ${suggestion}? write "${suggestion}=${override.value}"` : remove(override),
  );
}

function valueProblem(override: ParameterOverride, rules: OverrideRules): ConfigProblem | undefined {
  const info = parameterInfo(override.name, rules.version);
  if (!info) return undefined;
  const { value } = override;
  switch (info.kind) {
    case "memory":
      if (isSentinel(value) || parseMemoryValue(value) !== undefined) return undefined;
      return /^\d+(\.\d+)?$/.test(value)
        ? problem(
            override,
            `${info.name} has no unit: PostgreSQL would read ${value} as ${unitlessMemoryMeaning(info)}`,
            `write the unit, e.g. "${info.name}=${value}MB" (B, kB, MB, GB, TB; powers of 1024)`,
          )
        : problem(
            override,
            `${info.name} expects a memory size such as 64MB`,
            `use a number with B, kB, MB, GB or TB, e.g. "${info.name}=64MB"`,
          );
    case "time":
      if (isSentinel(value) || parseTimeValue(value) !== undefined) return undefined;
      return /^\d+(\.\d+)?$/.test(value)
        ? problem(
            override,
            `${info.name} has no unit: PostgreSQL reads a bare number in the parameter's own unit (ms for some, s or min for others)`,
            `write the unit, e.g. "${info.name}=${value}s" (us, ms, s, min, h, d)`,
          )
        : problem(
            override,
            `${info.name} expects a duration such as 30s`,
            `use a number with us, ms, s, min, h or d, e.g. "${info.name}=30s"`,
          );
    case "bool":
      if (parseBoolValue(value) !== undefined) return undefined;
      return problem(
        override,
        `${info.name} expects on or off`,
        `write "${info.name}=on" or "${info.name}=off"`,
      );
    case "integer":
      if (/^-?\d+$/.test(value)) return undefined;
      return problem(override, `${info.name} expects a whole number`, `e.g. "${info.name}=10"`);
    case "real":
      if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return undefined;
      return problem(override, `${info.name} expects a number`, `e.g. "${info.name}=1.5"`);
    default:
      return undefined;
  }
}

/** Memory parameters counted in 8kB pages when unit-less; the rest in kB (or MB for WAL sizes). */
function unitlessMemoryMeaning(info: ParameterInfo): string {
  const pages = ["shared_buffers", "wal_buffers", "effective_cache_size", "temp_buffers", "io_combine_limit"];
  if (pages.includes(info.name)) return "a number of 8kB pages";
  if (["min_wal_size", "max_wal_size", "wal_keep_size", "max_slot_wal_keep_size"].includes(info.name)) {
    return "megabytes";
  }
  return "kilobytes";
}

/** Parameters that must stay on: turning one off trades data or availability for speed. */
const MUST_STAY_ON: Readonly<Record<string, string>> = {
  fsync:
    "with fsync off, a power loss or kernel crash can corrupt the cluster, and the archive then holds the corruption too",
  full_page_writes:
    "with full_page_writes off, a torn page after a crash cannot be repaired from WAL and corrupts the cluster",
  autovacuum: "without autovacuum, tables bloat and transaction IDs wrap around, which stops all writes",
};

/** Parameters that must stay off: each hides corruption instead of reporting it. */
const MUST_STAY_OFF: Readonly<Record<string, string>> = {
  zero_damaged_pages: "it silently zeroes damaged pages, destroying their rows",
  ignore_checksum_failure: "it reads pages whose checksum failed, spreading corruption",
  ignore_invalid_pages: "it lets recovery continue past references to invalid pages, hiding corruption",
};

function safetyProblem(override: ParameterOverride, rules: OverrideRules): ConfigProblem | undefined {
  const { name, value } = override;
  const lower = value.toLowerCase();
  if (name in MUST_STAY_ON && parseBoolValue(value) === false) {
    return problem(override, `${name}=off is refused: ${MUST_STAY_ON[name]}`, remove(override));
  }
  if (name in MUST_STAY_OFF && parseBoolValue(value) === true) {
    return problem(
      override,
      `${name}=on is refused server-wide: ${MUST_STAY_OFF[name]}`,
      `${remove(override)}; for a one-off salvage, SET it in that session only`,
    );
  }
  if (name === "synchronous_commit" && parseBoolValue(value) === false) {
    return problem(
      override,
      "synchronous_commit=off server-wide loses acknowledged commits of the last ~0.6s on every crash, for every application",
      `${remove(override)}; where losing recent commits is acceptable, set it per role or transaction (ALTER ROLE ... SET synchronous_commit = off)`,
    );
  }
  if (name === "wal_level" && lower === "minimal") {
    return problem(
      override,
      "wal_level=minimal cannot feed the WAL archive or streaming replicas; PostgreSQL refuses to start with archive_mode on",
      `${remove(override)} (replica is required; logical is also accepted)`,
    );
  }
  if (name === "archive_mode" && parseBoolValue(value) === false) {
    return problem(
      override,
      "archive_mode=off stops WAL archiving: backups become unrestorable and point-in-time recovery impossible",
      `${remove(override)} (on, or always to archive from replicas too)`,
    );
  }
  if (name === "max_wal_senders" && Number(value) < rules.requiredWalSenders) {
    return problem(
      override,
      `max_wal_senders=${value} is below the ${rules.requiredWalSenders} that ${rules.replicas} replica(s) and a pg_basebackup (2 senders) need`,
      `use "max_wal_senders=${rules.requiredWalSenders + 1}" or more, or remove the entry`,
    );
  }
  if (name === "max_replication_slots" && Number(value) < rules.requiredReplicationSlots) {
    return problem(
      override,
      `max_replication_slots=${value} is below the ${rules.requiredReplicationSlots} that ${rules.replicas} replica slot(s) and a pg_basebackup's temporary slot need`,
      `use "max_replication_slots=${rules.requiredReplicationSlots + 1}" or more, or remove the entry`,
    );
  }
  if (name === "hot_standby" && rules.replicas > 0 && parseBoolValue(value) === false) {
    return problem(
      override,
      `hot_standby=off makes the ${rules.replicas} replica(s) refuse connections, so their healthchecks and read queries fail`,
      `${remove(override)}, or set pgstack:replicas to 0`,
    );
  }
  if (name === "max_slot_wal_keep_size") {
    const bytes = parseMemoryValue(value);
    if (value === "-1" || (bytes !== undefined && bytes >= rules.storageBytes)) {
      return problem(
        override,
        "max_slot_wal_keep_size must bound the WAL a lagging replica's slot retains; unbounded, a dead replica fills the data volume and stops the primary",
        `use a size well below the ${formatQuantity(rules.storageBytes)}B volume, or remove the entry (pgstack keeps 20% of it)`,
      );
    }
  }
  if (name === "shared_preload_libraries" && !preloadedLibraries([override]).includes("pg_stat_statements")) {
    return problem(
      override,
      "shared_preload_libraries must keep pg_stat_statements: pgstack configures it and its views are how slow queries are found",
      `write "shared_preload_libraries=pg_stat_statements,${value}"`,
    );
  }
  return undefined;
}
