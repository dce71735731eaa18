import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, prodConfig, unwrap } from "./prod-stack";

// A reload-level override (log_min_duration_statement) and what it does to the members: the settings ConfigMap
// changes, the pod templates do not (no restart); the restart-level hash is the base stack's.
let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd({ parameters: ["log_min_duration_statement=2500ms"] });
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("settings changes", () => {
  it("a reload-level change reaches the settings ConfigMap and leaves the pod templates as they were", async () => {
    const { parseStackConfig } = await import("../../components/config/parse-stack-config.js");
    const { buildClusterSpec } = await import("../../components/spec/build-cluster-spec.js");
    const { restartLevelSettings } = await import("../../components/spec/restart-parameters.js");
    const base = buildClusterSpec(parseStackConfig(prodConfig(), new Set()), { stack: "prod" });

    const settings = unwrap(
      stack.named("kubernetes:core/v1:ConfigMap", "pgstack-prod-settings").inputs,
    ) as Json;
    expect(settings.data["postgresql.conf"]).toMatch(/^log_min_duration_statement = .?2500ms.?/m);
    expect(settings.data["postgresql.conf"]).not.toBe(base.files["postgresql.conf"]);
    for (const member of ["primary", "replica-1"]) {
      const template = (
        unwrap(stack.named("kubernetes:apps/v1:StatefulSet", `pgstack-prod-${member}`).inputs) as Json
      ).spec.template;
      expect(template.metadata.annotations["pgstack.io/restart-settings-sha256"]).toBe(
        sha256(restartLevelSettings(base)),
      );
      expect(restartLevelSettings(stack.spec)).toBe(restartLevelSettings(base));
      // Nothing else of the template names the settings' content: the ConfigMap's name is fixed.
      expect(JSON.stringify(template)).not.toMatch(/2500ms/);
    }
  });

  it("every member runs the settings reloader on the mounted settings and the shared socket", () => {
    for (const member of ["primary", "replica-1"]) {
      const pod = (
        unwrap(stack.named("kubernetes:apps/v1:StatefulSet", `pgstack-prod-${member}`).inputs) as Json
      ).spec.template.spec;
      const reloader = pod.containers.find((c: Json) => c.name === "settings-reloader");
      expect(reloader.command.slice(0, 4)).toEqual(["tini", "--", "sh", "-c"]);
      const mounted = new Set(reloader.volumeMounts.map((m: Json) => m.mountPath));
      expect(mounted).toContain(stack.spec.layout.socketDir);
      const settingsVolume = pod.volumes.find(
        (v: Json) =>
          v.projected?.sources.some((s: Json) => s.configMap?.name === "pgstack-prod-settings") &&
          reloader.volumeMounts.some((m: Json) => m.name === v.name),
      );
      expect(settingsVolume.projected.sources.map((s: Json) => s.configMap.items[0].key).sort()).toEqual([
        "pg_hba.conf",
        "postgresql.conf",
      ]);
      expect(reloader.resources.requests).toEqual(reloader.resources.limits);
    }
  });
});
