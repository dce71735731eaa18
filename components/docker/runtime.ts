import type { ClusterSpec } from "../spec/cluster-spec";
import { MiB } from "../spec/units";
import { dockerCpus, goDuration } from "./provider-forms";

/** Memory (MB, as the Docker provider takes it) and CPUs of a container. */
export interface ContainerLimits {
  readonly memoryMb: number;
  /** In the provider's read-back form (provider-forms.ts), e.g. "1.0". */
  readonly cpus: string;
}

/** json-file logs, rotated: a chatty container cannot fill the Docker host's disk. */
export const LOG_MAX_SIZE = "10m";
export const LOG_MAX_FILES = "5";

export function logOptions(): { logDriver: string; logOpts: Record<string, string> } {
  return { logDriver: "json-file", logOpts: { "max-size": LOG_MAX_SIZE, "max-file": LOG_MAX_FILES } };
}

/** Bytes → whole MB (the provider's unit), rounded down so the limit is never above the spec's. */
export function bytesToMb(bytes: number): number {
  return Math.floor(bytes / MiB);
}

/**
 * A database member's resources, straight from `spec.resources`. Swap equals the limit (no swap):
 * the memory budget is computed to fit the limit, and a swapping database is slower than one
 * that fails loudly.
 */
export function memberResources(spec: ClusterSpec) {
  const memory = bytesToMb(spec.resources.memoryLimitBytes);
  return {
    memory,
    memorySwap: memory,
    memoryReservation: bytesToMb(spec.resources.memoryRequestBytes),
    cpus: dockerCpus(spec.resources.cpus),
    // /dev/shm for parallel query (dynamic_shared_memory_type=posix); rounded up, never below the spec.
    shmSize: Math.ceil(spec.resources.shmBytes / MiB),
  };
}

/**
 * Hardening of every pgstack container: no capability at all and no way to gain
 * one (setuid binaries included), so root-owned files stay read-only for everything inside.
 */
export function unprivileged() {
  return { capabilities: { drops: ["ALL"] }, securityOpts: ["no-new-privileges:true"] };
}

/**
 * Healthcheck timing. The test itself is the spec's (`commands.healthcheck`). A replica's start
 * period covers its first clone of the primary (pg_basebackup), which is as long as the database
 * is large; the primary's covers initdb and the init scripts.
 */
export const HEALTHCHECK_TIMING = {
  interval: goDuration(10),
  timeout: goDuration(5),
  retries: 6,
  startPeriod: { primary: goDuration(120), replica: goDuration(30 * 60) },
} as const;

/** Seconds `pulumi up` waits for the primary to turn healthy before it creates what depends on it. */
export const PRIMARY_WAIT_TIMEOUT_SECONDS = 300;

/** Seconds `pulumi up` waits for a replica: its start period, which covers the first clone. */
export const REPLICA_WAIT_TIMEOUT_SECONDS = 30 * 60;

/**
 * Seconds Docker waits after the stop signal before killing a member. The official image stops
 * PostgreSQL with SIGINT (fast shutdown), which still writes a shutdown checkpoint: give it time
 * rather than have it recover from a crash on the next start.
 */
export const MEMBER_STOP_TIMEOUT_SECONDS = 120;
