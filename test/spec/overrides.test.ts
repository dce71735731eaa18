import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigProblem } from "../../components/config/config-error";
import type { PostgresVersion } from "../../components/config/stack-config";
import { parseOverrides } from "../../components/spec/overrides";
import { type TuningInput, tune } from "../../components/spec/tuning";
import { GiB } from "../../components/spec/units";
import { tuningInput } from "./tuning-input";

function problems(overrides: string[], changes: Partial<TuningInput> = {}): readonly ConfigProblem[] {
  try {
    tune(tuningInput({ ...changes, overrides }));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

/** The one problem of a single override entry, checked for its key and value. */
function refusal(entry: string, changes: Partial<TuningInput> = {}): ConfigProblem {
  const found = problems([entry], changes);
  expect(found).toHaveLength(1);
  expect(found[0].key).toBe("pgstack:parameters[0]");
  expect(found[0].value).toBe(JSON.stringify(entry));
  return found[0];
}

function accepted(entries: string[], version: PostgresVersion = 16, changes: Partial<TuningInput> = {}) {
  return tune(tuningInput({ version, ...changes, overrides: entries })).parameters;
}

describe("overrides win over computed values", () => {
  it("replaces the computed value and says what pgstack had computed", () => {
    const workMem = accepted(["work_mem=8MB"]).find((p) => p.name === "work_mem");
    expect(workMem).toMatchObject({ value: "8MB", source: "override", section: "Memory" });
    expect(workMem?.reason).toMatch(
      /^set by pgstack:parameters\[0\]; pgstack computed 7455kB \(largest that keeps/,
    );
  });

  it("adds parameters pgstack does not write, under their section", () => {
    const geqo = accepted(["statement_timeout=30s", "geqo_threshold=14"]).find(
      (p) => p.name === "geqo_threshold",
    );
    expect(geqo).toMatchObject({
      value: "14",
      source: "override",
      section: "Planner",
      reason: "set by pgstack:parameters[1]",
    });
  });

  it("strips one pair of single quotes from string values", () => {
    const prefix = accepted(["log_line_prefix='%m [%p] '"]).find((p) => p.name === "log_line_prefix");
    expect(prefix?.value).toBe("%m [%p] ");
  });

  it("recomputes work_mem around overrides of the other budget terms", () => {
    const values = Object.fromEntries(accepted(["shared_buffers=1GB"]).map((p) => [p.name, p.value]));
    expect(values.shared_buffers).toBe("1GB");
    expect(values.work_mem).toBe("10280kB");
  });
});

describe("refused overrides name the key, the value and the fix", () => {
  it("unknown parameter: suggests the closest name of that version", () => {
    const problem = refusal("work_mme=64MB");
    expect(problem.message).toBe("work_mme is not a parameter of PostgreSQL 16");
    expect(problem.fix).toBe('did you mean work_mem? write "work_mem=64MB"');
  });

  it("unknown parameter with nothing close: asks to remove it", () => {
    expect(refusal("enable_warp_drive=on").fix).toBe("remove pgstack:parameters[0] from pgstack:parameters");
  });

  it("parameter of another major version", () => {
    const problem = refusal("vacuum_buffer_usage_limit=4MB", { version: 15 });
    expect(problem.message).toBe(
      "vacuum_buffer_usage_limit is not a parameter of PostgreSQL 15; it exists in PostgreSQL 16, 17",
    );
    expect(problem.fix).toBe("remove it, or choose a pgstack:postgresVersion it exists in (16, 17)");
    expect(refusal("old_snapshot_threshold=1h", { version: 17 }).message).toContain(
      "it exists in PostgreSQL 15, 16",
    );
  });

  it("renamed parameter: gives the new name", () => {
    expect(refusal("force_parallel_mode=on").fix).toBe(
      "use debug_parallel_query (its name since PostgreSQL 16)",
    );
  });

  it.each([
    ["port=5433", 'port is owned by pgstack and is always "5432"'],
    ["listen_addresses=localhost", "listen_addresses is owned by pgstack"],
    ["archive_command=/bin/true", "archive_command is owned by pgstack"],
    ["restore_command=cp /x %p", "restore_command is owned by pgstack"],
    ["hba_file=/tmp/hba", "hba_file is owned by pgstack"],
    ["unix_socket_directories=/tmp", "unix_socket_directories is owned by pgstack"],
    ["logging_collector=on", "logging_collector is owned by pgstack"],
    ["ssl_key_file=/tmp/k", "ssl_key_file is owned by pgstack"],
    ["archive_library=basic_archive", "archive_library is owned by pgstack"],
    ["primary_conninfo=host=x", "primary_conninfo is owned by pgstack"],
    ["recovery_target_time=2024-01-01", "recovery_target_time is owned by pgstack"],
    ["data_directory=/tmp", "data_directory is owned by pgstack"],
  ])("owned parameter %s", (entry, message) => {
    const problem = refusal(entry);
    expect(problem.message.startsWith(message)).toBe(true);
    expect(problem.fix).toBe("remove pgstack:parameters[0] from pgstack:parameters");
  });

  it.each([
    ["max_connections=500", "pgstack:maxConnections"],
    ["archive_timeout=5min", "pgstack:archiveTimeout"],
    ["ssl=off", "pgstack:tls"],
  ])("parameter computed from another key: %s", (entry, key) => {
    const problem = refusal(entry);
    expect(problem.message).toContain(`computed from ${key}`);
    expect(problem.fix).toBe(
      `set ${key} instead (pulumi config set ${key} ...) and remove pgstack:parameters[0] from pgstack:parameters`,
    );
  });

  it.each([
    ["fsync=off", "fsync=off is refused"],
    ["full_page_writes=false", "full_page_writes=off is refused"],
    ["autovacuum=no", "autovacuum=off is refused"],
    ["zero_damaged_pages=on", "zero_damaged_pages=on is refused server-wide"],
    ["ignore_checksum_failure=true", "ignore_checksum_failure=on is refused server-wide"],
  ])("durability breaker %s", (entry, message) => {
    const problem = refusal(entry);
    expect(problem.message.startsWith(message)).toBe(true);
    expect(problem.fix).toMatch(/^remove pgstack:parameters\[0\]/);
  });

  it("synchronous_commit=off server-wide, pointing at per-role use; local and remote_apply are accepted", () => {
    const problem = refusal("synchronous_commit=off");
    expect(problem.message).toContain("loses acknowledged commits");
    expect(problem.fix).toContain("ALTER ROLE ... SET synchronous_commit = off");
    expect(() => accepted(["synchronous_commit=local"])).not.toThrow();
    expect(() => accepted(["synchronous_commit=remote_apply"])).not.toThrow();
  });

  it("topology contradictions", () => {
    expect(refusal("wal_level=minimal").fix).toBe(
      "remove pgstack:parameters[0] from pgstack:parameters (replica is required; logical is also accepted)",
    );
    expect(() => accepted(["wal_level=logical"])).not.toThrow();
    expect(refusal("archive_mode=off").message).toContain("point-in-time recovery impossible");
    expect(() => accepted(["archive_mode=always"])).not.toThrow();

    const senders = refusal("max_wal_senders=3", { replicas: 2 });
    expect(senders.message).toBe(
      "max_wal_senders=3 is below the 4 that 2 replica(s) and a pg_basebackup (2 senders) need",
    );
    expect(senders.fix).toBe('use "max_wal_senders=5" or more, or remove the entry');
    expect(() => accepted(["max_wal_senders=10"], 16, { replicas: 2 })).not.toThrow();

    const slots = refusal("max_replication_slots=1", { replicas: 1 });
    expect(slots.fix).toBe('use "max_replication_slots=3" or more, or remove the entry');

    expect(refusal("hot_standby=off", { replicas: 1 }).fix).toBe(
      "remove pgstack:parameters[0] from pgstack:parameters, or set pgstack:replicas to 0",
    );
    expect(() => accepted(["hot_standby=off"], 16, { replicas: 0 })).not.toThrow();

    expect(refusal("max_slot_wal_keep_size=-1").message).toContain("a dead replica fills the data volume");
    expect(refusal("max_slot_wal_keep_size=300GB", { storageBytes: 200 * GiB }).fix).toContain(
      "200GiB volume",
    );
    expect(() => accepted(["max_slot_wal_keep_size=10GB"])).not.toThrow();
  });

  it("memory and time values without a unit, or with the wrong kind of unit", () => {
    const workMem = refusal("work_mem=64");
    expect(workMem.message).toBe("work_mem has no unit: PostgreSQL would read 64 as kilobytes");
    expect(workMem.fix).toBe('write the unit, e.g. "work_mem=64MB" (B, kB, MB, GB, TB; powers of 1024)');
    expect(refusal("shared_buffers=1024").message).toContain("as a number of 8kB pages");
    expect(refusal("statement_timeout=60").fix).toBe(
      'write the unit, e.g. "statement_timeout=60s" (us, ms, s, min, h, d)',
    );
    expect(refusal("work_mem=5s").message).toBe("work_mem expects a memory size such as 64MB");
    expect(refusal("lock_timeout=5MB").message).toBe("lock_timeout expects a duration such as 30s");
    expect(() => accepted(["log_temp_files=-1", "statement_timeout=0", "work_mem=1.5MB"])).not.toThrow();
  });

  it("values of the wrong type", () => {
    expect(refusal("log_connections=maybe").fix).toBe('write "log_connections=on" or "log_connections=off"');
    expect(refusal("max_wal_senders=ten").message).toBe("max_wal_senders expects a whole number");
    expect(refusal("random_page_cost=cheap").message).toBe("random_page_cost expects a number");
  });

  it("a parameter set twice", () => {
    const found = problems(["work_mem=8MB", "work_mem=16MB"]);
    expect(found).toEqual([
      {
        key: "pgstack:parameters[1]",
        value: '"work_mem=16MB"',
        message: "sets work_mem again (pgstack:parameters[0] sets it first)",
        fix: "keep one entry for work_mem",
      },
    ]);
  });

  it("library parameters need the library preloaded, and pg_stat_statements stays preloaded", () => {
    expect(refusal("auto_explain.log_min_duration=1s").fix).toBe(
      'also set "shared_preload_libraries=pg_stat_statements,auto_explain" (the image must ship auto_explain)',
    );
    expect(() =>
      accepted([
        "shared_preload_libraries=pg_stat_statements,auto_explain",
        "auto_explain.log_min_duration=1s",
      ]),
    ).not.toThrow();
    expect(refusal("shared_preload_libraries=auto_explain").fix).toBe(
      'write "shared_preload_libraries=pg_stat_statements,auto_explain"',
    );
    expect(refusal("pg_stat_statements.trak=all").message).toBe("pg_stat_statements has no parameter trak");
  });

  it("overrides that push the worst case over the limit, with the largest value that fits", () => {
    const problem = refusal("work_mem=512MB");
    expect(problem.message).toMatch(
      /^with this override the worst case under full load is \d+\w+B, over the 8GiB container limit/,
    );
    const largest = /^use at most "work_mem=(\w+)"/.exec(problem.fix)?.[1];
    expect(largest).toBeDefined();
    expect(() => accepted([`work_mem=${largest}`])).not.toThrow();

    const buffers = refusal("shared_buffers=6GB");
    expect(buffers.fix).toMatch(
      /^use at most "shared_buffers=\w+", raise pgstack:memoryLimit, or remove the entry$/,
    );
  });

  it("reports every refused entry at once", () => {
    const found = problems(["fsync=off", "work_mem=8MB", "port=1", "wal_levl=replica"]);
    expect(found.map((p) => p.key)).toEqual([
      "pgstack:parameters[0]",
      "pgstack:parameters[2]",
      "pgstack:parameters[3]",
    ]);
  });

  it("refuses an entry that is not one assignment", () => {
    const { problems: found } = parseOverrides(["work_mem="]);
    expect(found).toEqual([
      {
        key: "pgstack:parameters[0]",
        value: '"work_mem="',
        message: 'expected one "name=value" assignment on one line',
        fix: 'write it as "name=value", e.g. "work_mem=64MB"',
      },
    ]);
  });
});
