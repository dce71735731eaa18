import { describe, expect, it } from "vitest";
import { keySettings } from "../../scripts/plan/summary";
import { devSpecWith } from "../observability/stack-specs";

describe("the plan's key settings", () => {
  it("warn, naming the fix, when the limit forces work_mem below 4MB", () => {
    const rows = keySettings(devSpecWith({ maxConnections: 100 }));
    const warnings = rows.filter(([key]) => key === "WARNING").map(([, text]) => text);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /below PostgreSQL's 4MB default: the 2GiB memory limit cannot give 100 connections/,
    );
    expect(warnings[0]).toContain("pooler");
  });

  it("show the headroom kept, and no warning for the dev stack as committed", () => {
    const rows = Object.fromEntries(keySettings(devSpecWith({})));
    expect(rows["memory budget"]).toMatch(/of 2048MiB \(fits, 205MiB headroom kept\)/);
    expect(rows.WARNING).toBeUndefined();
  });

  it("derive max_connections from the limit when pgstack:maxConnections is unset", () => {
    const spec = devSpecWith({ maxConnections: undefined });
    expect(spec.postgres.maxConnections).toBe(83);
    expect(Object.fromEntries(keySettings(spec)).max_connections).toBe("83");
  });
});
