import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parameterNames } from "../../components/spec/postgres-parameters";
import { requiresRestart, restartLevelSettings } from "../../components/spec/restart-parameters";
import { fixtureModel, withParameters } from "../render/fixtures";
import { asPostgres, PG_BIN } from "../render/local-postgres";

describe("parameters that need a restart", () => {
  it("are exactly PostgreSQL 15's postmaster-context parameters (postgres --describe-config)", () => {
    const described = asPostgres([join(PG_BIN, "postgres"), "--describe-config"]);
    expect(described.status, described.stderr).toBe(0);
    const postmaster = new Set(
      described.stdout
        .split("\n")
        .map((line) => line.split("\t"))
        .filter((fields) => fields[1] === "postmaster")
        .map((fields) => fields[0]),
    );
    for (const name of parameterNames(15)) {
      if (name.startsWith("pg_stat_statements.")) continue;
      expect(requiresRestart(name, 15), name).toBe(postmaster.has(name));
    }
    expect(requiresRestart("pg_stat_statements.max", 15)).toBe(true);
  });

  it("include parameters PostgreSQL 15 lacks (unknown context: restarting is the safe side)", () => {
    const newer = parameterNames(17).filter((name) => !parameterNames(15).includes(name));
    expect(newer.length).toBeGreaterThan(0);
    for (const name of newer) expect(requiresRestart(name, 17), name).toBe(true);
  });

  it("change the restart-level settings only when such a parameter changes", () => {
    const base = fixtureModel();
    const settings = (model: ReturnType<typeof fixtureModel>) => restartLevelSettings(model);
    expect(settings(base)).toMatch(/^max_connections=\d+$/m);
    expect(settings(base)).not.toMatch(/^work_mem=/m);
    expect(settings(withParameters(base, { work_mem: "64MB", log_min_duration_statement: "1s" }))).toBe(
      settings(base),
    );
    expect(settings(withParameters(base, { max_connections: "120" }))).not.toBe(settings(base));
  });
});
