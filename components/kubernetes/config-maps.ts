import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";

/**
 * spec.files as one immutable ConfigMap, byte for byte. Its name carries a hash of the
 * contents: a changed file is a new ConfigMap, and the pods referencing it roll in the same
 * update (visible in the preview), instead of PostgreSQL silently running a config that
 * differs from the file on disk.
 */
export function renderedFilesConfigMap(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(
    `${spec.name}-files`,
    {
      metadata: {
        name: `${spec.name}-files-${contentHash(spec.files)}`,
        namespace,
        labels: recommendedLabels(spec),
      },
      immutable: true,
      data: { ...spec.files },
    },
    // Replace by creating the new ConfigMap first: running pods keep the old one until they roll.
    { ...opts, deleteBeforeReplace: false },
  );
}

function contentHash(files: ClusterSpec["files"]): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(files).sort()) {
    hash
      .update(name)
      .update("\0")
      .update(files[name as keyof typeof files])
      .update("\0");
  }
  return hash.digest("hex").slice(0, 10);
}
