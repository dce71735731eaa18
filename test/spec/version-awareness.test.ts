import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { POSTGRES_VERSIONS, type PostgresVersion } from "../../components/config/stack-config";
import { parameterHistory, parameterInfo, parameterNames } from "../../components/spec/postgres-parameters";
import { tune } from "../../components/spec/tuning";
import { GiB } from "../../components/spec/units";
import { tuningInput } from "./tuning-input";

const written = (version: PostgresVersion, changes = {}) =>
  tune(tuningInput({ version, ...changes })).parameters.map((parameter) => parameter.name);

describe("the parameter catalogue (from the real 15, 16 and 17 GUC tables)", () => {
  it.each([
    ["vacuum_buffer_usage_limit", [16, 17]],
    ["debug_parallel_query", [16, 17]],
    ["createrole_self_grant", [16, 17]],
    ["summarize_wal", [17]],
    ["io_combine_limit", [17]],
    ["transaction_timeout", [17]],
    ["allow_alter_system", [17]],
    ["force_parallel_mode", [15]],
    ["promote_trigger_file", [15]],
    ["vacuum_defer_cleanup_age", [15]],
    ["old_snapshot_threshold", [15, 16]],
    ["db_user_namespace", [15, 16]],
    ["restrict_nonsystem_relation_kind", [15, 16, 17]],
    ["wal_compression", [15, 16, 17]],
    ["pg_stat_statements.track", [15, 16, 17]],
  ])("%s is valid in %j", (name, versions) => {
    expect(parameterHistory(name as string).validIn).toEqual(versions);
  });

  it("leaves out what postgresql.conf cannot set: read-only and session-only parameters, debug-build options", () => {
    for (const version of POSTGRES_VERSIONS) {
      for (const name of [
        "block_size",
        "server_version",
        "config_file",
        "transaction_isolation",
        "wal_debug",
        "is_superuser",
      ]) {
        expect(parameterInfo(name, version), `${name} in ${version}`).toBeUndefined();
      }
    }
  });

  it("knows which values carry units", () => {
    expect(parameterInfo("work_mem", 15)?.kind).toBe("memory");
    expect(parameterInfo("statement_timeout", 16)?.kind).toBe("time");
    expect(parameterInfo("io_combine_limit", 17)?.kind).toBe("memory");
    expect(parameterInfo("transaction_timeout", 17)?.kind).toBe("time");
    expect(parameterInfo("wal_compression", 15)?.kind).toBe("enum");
  });

  it("holds the size of each major's real list", () => {
    // 329, 339 and 354 settable GUCs, plus the five pg_stat_statements parameters.
    expect(POSTGRES_VERSIONS.map((version) => parameterNames(version).length)).toEqual([334, 344, 359]);
  });
});

describe("tune() writes only parameters of the chosen major", () => {
  it.each(POSTGRES_VERSIONS)("every parameter written for %i exists in %i", (version) => {
    for (const changes of [{}, { tls: false, cpus: 1, workload: "dw" }]) {
      for (const name of written(version, changes)) expect(parameterInfo(name, version), name).toBeDefined();
    }
  });

  it("writes vacuum_buffer_usage_limit from 16 on, and not for 15", () => {
    expect(written(15)).not.toContain("vacuum_buffer_usage_limit");
    expect(written(16)).toContain("vacuum_buffer_usage_limit");
    expect(written(17)).toContain("vacuum_buffer_usage_limit");
  });

  it("turns ALTER SYSTEM off on 17, the first major that can", () => {
    expect(written(15)).not.toContain("allow_alter_system");
    expect(written(16)).not.toContain("allow_alter_system");
    expect(written(17)).toContain("allow_alter_system");
  });

  it("caps autovacuum_work_mem at 1GB before 17, where VACUUM cannot use more", () => {
    const value = (version: PostgresVersion) =>
      tune(
        tuningInput({ version, memoryLimitBytes: 256 * GiB, cpus: 32, maxConnections: 200 }),
      ).parameters.find((parameter) => parameter.name === "autovacuum_work_mem")?.value;
    expect([value(15), value(16), value(17)]).toEqual(["1GB", "1GB", "2GB"]);
  });

  it("accepts an override valid in the chosen major and refuses it in the others", () => {
    const attempt = (version: PostgresVersion, entry: string) => () =>
      tune(tuningInput({ version, overrides: [entry] }));
    expect(attempt(17, "summarize_wal=on")).not.toThrow();
    expect(attempt(16, "summarize_wal=on")).toThrow(ConfigError);
    expect(attempt(16, "old_snapshot_threshold=1h")).not.toThrow();
    expect(attempt(17, "old_snapshot_threshold=1h")).toThrow(/not a parameter of PostgreSQL 17/);
    expect(attempt(15, "force_parallel_mode=off")).not.toThrow();
    expect(attempt(16, "debug_parallel_query=off")).not.toThrow();
  });
});
