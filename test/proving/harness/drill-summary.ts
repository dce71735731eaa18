import assert from "node:assert/strict";
import type { DrillRun } from "./platform";

/** The drill's summary line, parsed (restore-drill.sh prints `restore-drill: passed key=value ...`). */
export interface DrillSummary {
  readonly backup: string;
  readonly restoreSeconds: number;
  readonly recoverySeconds: number;
  readonly databaseBytes: number;
  readonly rtoSecondsPerGb: number;
  readonly dataAgeSeconds: number;
}

export function drillSummary(run: Pick<DrillRun, "stdout" | "stderr">): DrillSummary {
  const output = `${run.stdout}${run.stderr}`;
  const line = output.split("\n").find((candidate) => candidate.startsWith("restore-drill: passed "));
  assert.ok(line, `the drill printed no summary line:\n${output.slice(-4000)}`);
  const field = (key: string) => {
    const value = new RegExp(`\\b${key}=(\\S+)`).exec(line)?.[1];
    assert.ok(value !== undefined, `summary lacks ${key}: ${line}`);
    return value;
  };
  return {
    backup: field("backup"),
    restoreSeconds: Number(field("restore_seconds")),
    recoverySeconds: Number(field("recovery_seconds")),
    databaseBytes: Number(field("database_bytes")),
    rtoSecondsPerGb: Number(field("rto_seconds_per_gb")),
    dataAgeSeconds: Number(field("data_age_seconds")),
  };
}
