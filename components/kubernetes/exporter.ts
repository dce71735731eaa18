import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  EXPORTER_QUERIES_DIR,
  EXPORTER_QUERIES_FILE,
  exporterArgs,
  exporterDataSource,
} from "../render/exporter-command";
import type { ClusterSpec } from "../spec/cluster-spec";
import { recommendedLabels } from "./labels";
import { containerSecurityContext } from "./pod-security";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

/** Name of the exporter's port; the PodMonitor and the NetworkPolicy refer to it. */
export const METRICS_PORT_NAME = "metrics";

/** The exporter's own budget: a few queries every scrape. Requests = limits (Guaranteed QoS). */
const EXPORTER_RESOURCES = { cpu: "100m", memory: "128Mi" };

/** The container and volumes a member pod adds for its exporter. */
export interface ExporterSidecar {
  readonly container: Container;
  readonly volumes: Volume[];
}

/**
 * The exporter's custom queries as an immutable ConfigMap named by a hash of its content (a
 * changed query is a new ConfigMap and rolls the pods in the same update, as the member config).
 */
export function exporterQueriesConfigMap(
  spec: ClusterSpec,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
  const queries = spec.monitoringFiles["exporter-queries.yaml"];
  const hash = createHash("sha256").update(queries).digest("hex").slice(0, 10);
  return new k8s.core.v1.ConfigMap(
    `${spec.name}-exporter-queries`,
    {
      metadata: {
        name: `${spec.name}-exporter-queries-${hash}`,
        namespace,
        labels: recommendedLabels(spec, "database"),
      },
      immutable: true,
      data: { [EXPORTER_QUERIES_FILE]: queries },
    },
    { ...opts, deleteBeforeReplace: false },
  );
}

/**
 * postgres_exporter beside PostgreSQL in the member's pod. It reaches PostgreSQL on the pod's
 * shared socket volume (read-only) as the OS user the spec names, which peer authentication and
 * pg_ident turn into the pg_monitor role: its environment holds a socket path and a role name,
 * no password. Restricted security context like every container of the stack.
 */
export function exporterSidecar(
  spec: ClusterSpec,
  queriesConfigMap: pulumi.Input<string>,
  socketVolume: string,
): ExporterSidecar {
  const { monitoring, layout } = spec;
  const probe = {
    httpGet: { path: "/", port: METRICS_PORT_NAME },
    periodSeconds: 30,
    timeoutSeconds: 5,
    failureThreshold: 3,
  };
  return {
    container: {
      name: "exporter",
      image: monitoring.images.exporter,
      imagePullPolicy: "IfNotPresent",
      args: exporterArgs(spec),
      env: [{ name: "DATA_SOURCE_NAME", value: exporterDataSource(spec) }],
      ports: [{ name: METRICS_PORT_NAME, containerPort: monitoring.exporterPort, protocol: "TCP" }],
      resources: { requests: EXPORTER_RESOURCES, limits: EXPORTER_RESOURCES },
      startupProbe: { ...probe, periodSeconds: 5, failureThreshold: 12 },
      readinessProbe: probe,
      livenessProbe: probe,
      securityContext: {
        ...containerSecurityContext,
        runAsUser: monitoring.osUid,
        runAsGroup: monitoring.osUid,
      },
      volumeMounts: [
        { name: socketVolume, mountPath: layout.socketDir, readOnly: true },
        { name: "exporter-queries", mountPath: EXPORTER_QUERIES_DIR, readOnly: true },
      ],
    },
    volumes: [{ name: "exporter-queries", configMap: { name: queriesConfigMap } }],
  };
}
