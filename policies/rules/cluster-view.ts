import type { PolicyResource } from "@pulumi/policy";
import { list, record, text } from "./policy-kit";
import { parseIni } from "./postgres-conf";

/**
 * What the PostgreSQL policies read, and from where.
 *
 * - Settings (postgresql.conf, pg_hba.conf, pgbackrest.conf) come from the resources that deliver
 *   them to the containers: a Kubernetes ConfigMap's `data`, a Docker container's `uploads`. That
 *   is exactly what PostgreSQL will read, and it is a plain input, known at preview.
 * - Intent that no file states (how many replicas, backup schedules, the memory budget's overhead,
 *   the stack's bucket and prefix) comes from the ClusterSpec the cluster component registers as
 *   its `spec` output. The engine hands every resource's outputs to stack policies, components'
 *   registered outputs included, and the spec is plain data, so it is known at preview too.
 * - Protection comes from each volume's and bucket's own resource options.
 *
 * The pack reads this subset of the spec (components/spec/cluster-spec.ts); a type test keeps
 * the two in step. Only types are shared: the pack loads without the program's code.
 */
export interface PolicedSpec {
  readonly project: string;
  readonly stack: string;
  readonly name: string;
  readonly platform: string;
  readonly protect: boolean;
  readonly postgres: { readonly image: string; readonly maxConnections: number };
  readonly resources: { readonly memoryLimitBytes: number; readonly storageBytes: number };
  readonly members: readonly { readonly name: string; readonly role: string; readonly slot?: string }[];
  readonly network: { readonly namespace: string };
  readonly tuning: {
    readonly memoryBudget: { readonly overheadBytes: number; readonly limitBytes: number };
  };
  readonly archive: {
    readonly bucket: string;
    readonly path: string;
    readonly schedules: { readonly full: string; readonly diff: string };
  };
  readonly files: { readonly "postgresql.conf": string; readonly "pg_hba.conf": string };
  readonly commands: { readonly postgres: readonly string[] };
}

/** The files the policies read, by the name PostgreSQL and pgBackRest give them. */
export const POLICED_FILES = ["postgresql.conf", "pg_hba.conf", "pgbackrest.conf"] as const;
export type PolicedFile = (typeof POLICED_FILES)[number];

export interface DeliveredFile {
  readonly name: PolicedFile;
  readonly content: string;
  /** The resource that delivers it (ConfigMap, container). */
  readonly carrier: PolicyResource;
}

export interface ClusterView {
  readonly spec?: PolicedSpec;
  /** The resource whose `spec` output it is (the cluster component). */
  readonly specCarrier?: PolicyResource;
  readonly files: readonly DeliveredFile[];
}

function isClusterSpec(value: unknown): value is PolicedSpec {
  const spec = record(value);
  return (
    spec !== undefined &&
    typeof spec.stack === "string" &&
    record(spec.tuning) !== undefined &&
    Array.isArray(spec.members) &&
    record(spec.archive) !== undefined
  );
}

/** Files found in one resource's props: map entries named like the file, or {file, content} uploads. */
function filesIn(value: unknown, found: { name: PolicedFile; content: string }[], depth = 0): void {
  if (depth > 12) return;
  if (Array.isArray(value)) {
    for (const item of value) filesIn(item, found, depth + 1);
    return;
  }
  const object = record(value);
  if (!object || isClusterSpec(object)) return;
  const file = text(object.file);
  const content = text(object.content);
  if (file !== undefined && content !== undefined) {
    const name = POLICED_FILES.find((f) => file === f || file.endsWith(`/${f}`));
    if (name) found.push({ name, content });
  }
  for (const [key, child] of Object.entries(object)) {
    const name = POLICED_FILES.find((f) => f === key);
    if (name && typeof child === "string") found.push({ name, content: child });
    else filesIn(child, found, depth + 1);
  }
}

export function clusterView(resources: readonly PolicyResource[]): ClusterView {
  const specCarrier = resources.find((r) => isClusterSpec(r.props.spec));
  const files: DeliveredFile[] = [];
  for (const carrier of resources) {
    const found: { name: PolicedFile; content: string }[] = [];
    filesIn(carrier.props, found);
    for (const f of found) files.push({ ...f, carrier });
  }
  return { spec: specCarrier?.props.spec as PolicedSpec | undefined, specCarrier, files };
}

/** The stack's pgBackRest repository: bucket and path, from the spec or else the delivered pgbackrest.conf. */
export function archiveLocation(
  resources: readonly PolicyResource[],
): { bucket: string; prefix: string } | undefined {
  const view = clusterView(resources);
  if (view.spec) return { bucket: view.spec.archive.bucket, prefix: view.spec.archive.path };
  for (const file of view.files.filter((f) => f.name === "pgbackrest.conf")) {
    const global = parseIni(file.content).get("global");
    const bucket = global?.get("repo1-s3-bucket");
    const prefix = global?.get("repo1-path");
    if (bucket && prefix) return { bucket, prefix };
  }
  return undefined;
}

/** Every container definition in a resource, Docker or Kubernetes, with its argv and memory limit. */
export function containerCommands(resource: PolicyResource): { argv: string[]; limitBytes?: number }[] {
  if (resource.type === "docker:index/container:Container") {
    const memory = resource.props.memory;
    return [
      {
        argv: [...list(resource.props.entrypoints), ...list(resource.props.command)].map(String),
        limitBytes: typeof memory === "number" ? memory * 1024 * 1024 : undefined,
      },
    ];
  }
  const found: { argv: string[]; limitBytes?: number }[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 10) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v, depth + 1);
      return;
    }
    const object = record(value);
    if (!object) return;
    if (Array.isArray(object.containers)) {
      for (const c of object.containers.map((x) => record(x) ?? {})) {
        found.push({
          argv: [...list(c.command), ...list(c.args)].map(String),
          limitBytes: kubernetesQuantityBytes(record(record(c.resources)?.limits)?.memory),
        });
      }
    }
    for (const child of Object.values(object)) visit(child, depth + 1);
  };
  visit(resource.props, 0);
  return found;
}

const K8S_UNITS: Record<string, number> = {
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  "": 1,
};

/** Bytes of a Kubernetes memory quantity (`8Gi`, `512M`, `1073741824`). */
export function kubernetesQuantityBytes(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(value ?? ""));
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * K8S_UNITS[match[2] ?? ""]);
}
