import type { ArchiveSpec } from "../../components/spec/cluster-spec";
import { defaultLayout } from "../../components/spec/layout";
import type { TuningInput } from "../../components/spec/tuning";
import { GiB } from "../../components/spec/units";

export const archive: ArchiveSpec = {
  stanza: "pgstack-test",
  store: "local",
  bucket: "pgstack-test",
  region: "us-east-1",
  path: "/pgstack/test",
  uriStyle: "path",
  retentionFull: { type: "count", fulls: 2 },
  retentionDiff: 6,
  archiveTimeoutSeconds: 60,
  schedules: { full: "0 1 * * 0", diff: "0 1 * * 1-6" },
  drillSchedule: "0 4 * * *",
  encrypted: true,
  keyType: "shared",
};

export const layout = defaultLayout(
  "docker",
  "pgstack-test",
  "pgstack-test",
  [
    { name: "primary", role: "primary" },
    { name: "replica-1", role: "replica", slot: "replica_1" },
  ],
  { endpoint: "pgstack-test-s3", port: 9000 },
);

/** A production-like input (the prod stack: 8Gi, 4 CPUs, oltp, 200 connections), changed by `changes`. */
export function tuningInput(changes: Partial<TuningInput> = {}): TuningInput {
  return {
    version: 16,
    workload: "oltp",
    memoryLimitBytes: 8 * GiB,
    cpus: 4,
    storageMedium: "ssd",
    storageBytes: 200 * GiB,
    maxConnections: 200,
    replicas: 1,
    archive,
    tls: true,
    layout,
    overrides: [],
    ...changes,
  };
}
