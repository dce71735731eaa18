import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";

/** The backup runner's report script (spec.monitoringFiles), a key of the scripts' ConfigMap. */
export const REPORT_JOB_SCRIPT = "report-job.sh";
/** The runner's certificate report (spec.monitoringFiles, with pgstack:tls), a key of the same ConfigMap. */
export const REPORT_CERTIFICATES_SCRIPT = "report-certificates.sh";

/** The files PostgreSQL re-reads on a reload: they live in the settings ConfigMap. */
export const SETTINGS_FILES = ["postgresql.conf", "pg_hba.conf"] as const;
type SettingsFile = (typeof SETTINGS_FILES)[number];
const isSettingsFile = (name: string): name is SettingsFile =>
  (SETTINGS_FILES as readonly string[]).includes(name);

/**
 * The scripts' ConfigMap's data: spec.files except the settings, and with pgstack:monitoring the
 * runner's report-job.sh (spec.monitoringFiles).
 */
export function renderedScripts(spec: ClusterSpec): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(spec.files).filter(([name]) => !isSettingsFile(name))),
    ...(spec.monitoring.enabled ? { [REPORT_JOB_SCRIPT]: spec.monitoringFiles[REPORT_JOB_SCRIPT] } : {}),
    ...(spec.monitoring.enabled && spec.tls
      ? { [REPORT_CERTIFICATES_SCRIPT]: spec.monitoringFiles[REPORT_CERTIFICATES_SCRIPT] }
      : {}),
  };
}

/**
 * renderedScripts as one immutable ConfigMap, byte for byte. Its name carries a
 * hash of the contents: a changed script is a new ConfigMap, and the pods referencing it roll in
 * the same update (visible in the preview).
 */
export function renderedFilesConfigMap(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
  const scripts = renderedScripts(spec);
  return new k8s.core.v1.ConfigMap(
    `${spec.name}-files`,
    {
      metadata: {
        name: `${spec.name}-files-${contentHash(scripts)}`,
        namespace,
        labels: recommendedLabels(spec),
      },
      immutable: true,
      data: scripts,
    },
    // Replace by creating the new ConfigMap first: running pods keep the old one until they roll.
    { ...opts, deleteBeforeReplace: false },
  );
}

/**
 * postgresql.conf and pg_hba.conf in a ConfigMap of a fixed name, updated in place: the kubelet
 * rewrites the mounted files (within about a minute) and each member's reloader sidecar has
 * PostgreSQL reload them. A setting that needs a restart changes the members' pod template
 * instead (restartLevelSettings), so only such a change restarts anything.
 */
export function settingsConfigMap(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
  const name = `${spec.name}-settings`;
  return new k8s.core.v1.ConfigMap(
    name,
    {
      metadata: { name, namespace, labels: recommendedLabels(spec) },
      data: Object.fromEntries(SETTINGS_FILES.map((file) => [file, spec.files[file]])),
    },
    opts,
  );
}

function contentHash(files: Readonly<Record<string, string>>): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(files).sort()) {
    hash.update(name).update("\0").update(files[name]).update("\0");
  }
  return hash.digest("hex").slice(0, 10);
}
