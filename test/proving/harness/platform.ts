import { join, relative } from "node:path";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import type { CapturedStack } from "./captured-stack";
import type { Container, ProbeResult } from "./container";
import type { ProcessSupervisor, RunResult } from "./processes";
import type { ApplyReport } from "./program-change";
import type { S3Endpoint } from "./s3-endpoint";
import type { NetworkHost } from "./test-network";

/**
 * What the proofs drive, the same for both platforms: the members as their platform runs them
 * (Docker containers, or StatefulSet pods), the backup runner's scheduled jobs, and the S3
 * stand-in. Each platform builds these from the resources its program declared.
 */
export interface MemberRuntime {
  /** Member name (primary, replica-1) or a scratch copy's name. */
  readonly name: string;
  /** The container that runs PostgreSQL (its current incarnation). */
  readonly container: Container;
  /** This machine's path of the member's data volume and of PGDATA in it. */
  readonly volumeDir: string;
  readonly dataDir: string;
  /** Creates or starts the member as the platform does, and waits until it reports ready. */
  start(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Stops it as the platform does (Docker: stop signal, grace, kill; Kubernetes: preStop, SIGTERM, grace). */
  stop(): Promise<void>;
  /**
   * The member is lost: SIGKILL of everything in it, and its volume unavailable (its node or zone
   * is gone), so the platform does not start it again. Kubernetes: a pod of its StatefulSet stays
   * Pending until `start` (the volume returned). Docker: the container is not restarted.
   */
  lose(): Promise<void>;
  /** One run of the platform's readiness check (Docker healthcheck, Kubernetes readiness probe). */
  ready(): Promise<ProbeResult>;
  /** Waits until the platform has restarted the member after its container exited, and it is ready. */
  recovered(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** The member's output (container log), all incarnations. */
  log(): string;
}

export interface SqlClient {
  readonly container: Container;
  readonly host: string;
  readonly sslmode: "verify-full" | "require";
  /** Environment of the client's commands (its passfile). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The stack's monitoring as its platform runs it, for the alert proofs: the exporter beside each
 * member (Docker: its container, started here; Kubernetes: the member pod's sidecar) and the
 * Pushgateway the runner's jobs push to; plus a host of the run for the test's own Prometheus.
 */
export interface MonitoringRuntime {
  /** ip:port of each member's exporter, by member name. */
  readonly exporters: Readonly<Record<string, string>>;
  /** ip:port of the Pushgateway. */
  readonly pushgateway: string;
  /** A command where the runner's jobs run (Docker: the runner's container; Kubernetes: a pod of the backup CronJob's template). */
  runnerCommand(argv: readonly string[]): Promise<RunResult>;
  /** A network host of the run, its supervisor and a directory: where the test runs its own Prometheus. */
  readonly testHost: NetworkHost;
  readonly supervisor: ProcessSupervisor;
  readonly directory: string;
}

export interface PlatformRuntime {
  readonly platform: "docker" | "kubernetes";
  readonly spec: ClusterSpec;
  readonly s3: S3Endpoint;
  readonly members: Readonly<Record<string, MemberRuntime>>;
  /** Secrets as the stack holds them (to prove they are in no process environment). */
  readonly secretValues: readonly string[];
  /** The S3 stand-in, then the primary, then what sets archiving up (Docker: the runner; Kubernetes: the stanza Job). */
  deployPrimary(): Promise<void>;
  deployReplica(name: string): Promise<void>;
  /**
   * What a `pulumi up` changing only rendered settings (`postgresql.conf`, keyed by rendered file
   * name) hands every member, restarting none: the proof restarts them in the order it tests.
   * Docker: the files a replaced container is created with (its uploads); Kubernetes: the
   * ConfigMaps holding them, which the kubelet rewrites in running pods.
   */
  deliverSettings(files: Readonly<Record<string, string>>): Promise<void>;
  /** A scheduled backup (and its verify) as the platform runs it; output of every step. */
  scheduledBackup(kind: "full" | "diff"): Promise<RunResult>;
  /** The scheduled restore drill as the platform runs it (Docker: its crontab line; Kubernetes: its CronJob's pod). */
  restoreDrill(): Promise<DrillRun>;
  /**
   * `argv` with the restore drill's identity, files and credentials: Docker, in the runner's
   * container (the drill runs there); Kubernetes, in a pod of the drill CronJob's template whose
   * container runs `argv` (after the init) instead of restore-drill.sh.
   */
  inDrillContainer(argv: readonly string[]): Promise<RunResult>;
  /** A container like the primary's with a fresh volume, its own host name, running `argv` (after the init). */
  scratchMember(name: string, argv: readonly string[]): Promise<MemberRuntime>;
  /**
   * Where a client the stack admits connects to `member` from, as the application role: another
   * host of the network when pg_hba.conf admits one (verify-full against the member's name), or
   * the member's own loopback, the only way a dev stack without allowedCidrs admits clients.
   */
  sqlClient(member: MemberRuntime): Promise<SqlClient>;
  /** Starts (once) the exporters of running members and the Pushgateway, as the platform declares them. */
  monitoring(): Promise<MonitoringRuntime>;
  /** The program as last applied (as captured under mocks). */
  readonly captured: CapturedStack;
  /**
   * `pulumi up` of `next`, the program captured again with changed config: every changed resource
   * applied as the platform applies it (Kubernetes: a Job run to completion, a StatefulSet's pod
   * replaced and awaited ready, Service names following the pods' labels; Docker: a container
   * replaced and awaited healthy, or run to its exit), in Pulumi's order (program-change.ts).
   */
  apply(next: CapturedStack): Promise<ApplyReport>;
  /**
   * Where an application that writes connects: the read-write Service from a client pod
   * (Kubernetes), or the loopback of the container holding the read-write alias (Docker: a dev
   * stack admits the application role on a member's own loopback only).
   */
  writerClient(): Promise<SqlClient>;
  /** The network address of a member's container or pod. */
  addressOf(member: MemberRuntime): string;
  /** Every container of the stack that runs now. */
  runningContainers(): Container[];
  dispose(options?: { readonly keepFiles?: boolean }): Promise<void>;
}

/** One run of the restore drill, and what it left behind. */
export interface DrillRun extends RunResult {
  /** This machine's path of the drill's scratch directory (Kubernetes: its emptyDir). */
  readonly scratchDir: string;
  /** Command names of the processes still running in the drill's container when it ended. */
  readonly processesLeft: readonly string[];
}

/** PGDATA's path on this machine, from the volume's and the layout's paths. */
export function dataDirOnHost(spec: ClusterSpec, volumeDir: string): string {
  return join(volumeDir, relative(spec.layout.volumeDir, spec.layout.dataDir));
}

/** The S3 keys a rendered pgBackRest include file carries (the stand-in must know them). */
export function includeFileKeys(text: string): { accessKeyId: string; secretAccessKey: string }[] {
  const key = /^repo1-s3-key=(.*)$/m.exec(text)?.[1];
  const secret = /^repo1-s3-key-secret=(.*)$/m.exec(text)?.[1];
  return key && secret ? [{ accessKeyId: key, secretAccessKey: secret }] : [];
}
