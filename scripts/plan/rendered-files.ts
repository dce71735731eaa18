import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../../components/spec/cluster-spec";

/**
 * Part one of the plan: what the spec renders, as files a reviewer can read and diff. Scripts
 * keep their executable bit so they can be tried by hand.
 */
export function writeRenderedFiles(outDir: string, spec: ClusterSpec): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  // The monitoring files too: alerts.yaml shows up in the PR diff with every threshold.
  for (const [name, content] of Object.entries({ ...spec.files, ...spec.monitoringFiles })) {
    writeFileSync(join(outDir, name), content, { mode: name.endsWith(".sh") ? 0o755 : 0o644 });
    written.push(name);
  }
  writeFileSync(join(outDir, "commands.json"), `${JSON.stringify(spec.commands, null, 2)}\n`);
  written.push("commands.json");
  writeFileSync(join(outDir, "spec.json"), `${JSON.stringify(spec, null, 2)}\n`);
  written.push("spec.json");
  return written;
}
