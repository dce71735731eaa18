import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import { devStackConfig } from "../docker/mock-deployment";

const specOf = (changes: Record<string, string>) => {
  const config = { ...devStackConfig(), ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === "") delete config[key];
  return buildClusterSpec(parseStackConfig(config), { stack: "dev" });
};

describe("backup retention", () => {
  it("defaults to a 14-day recovery window: time-based, so extra backups never shorten it", () => {
    const spec = specOf({ "pgstack:archiveRecoveryWindowDays": "" });
    expect(spec.archive.retentionFull).toEqual({ type: "time", days: 14 });
  });

  it("takes the recovery window from pgstack:archiveRecoveryWindowDays", () => {
    expect(specOf({}).archive.retentionFull).toEqual({ type: "time", days: 7 });
  });

  it("keeps a count of full backups only when pgstack:archiveRetentionFull is set (0 is Pulumi.yaml's unset)", () => {
    expect(specOf({ "pgstack:archiveRetentionFull": "3" }).archive.retentionFull).toEqual({
      type: "count",
      fulls: 3,
    });
    expect(specOf({ "pgstack:archiveRetentionFull": "0" }).archive.retentionFull).toEqual({
      type: "time",
      days: 7,
    });
  });
});
