import { stringify } from "yaml";
import { type CapturedResource, plainProps } from "./capture-program";

/** A registered resource as the plan writes it: secrets replaced by "[secret]". */
export interface PlannedResource {
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
  readonly protect: boolean;
  /** Custom resources: their inputs. */
  readonly inputs?: unknown;
  /** Components: the outputs they registered (the cluster's spec among them). */
  readonly outputs?: unknown;
}

export function plannedResources(resources: readonly CapturedResource[]): PlannedResource[] {
  const nameOf = new Map(resources.map((r) => [r.urn, `${r.type}::${r.name}`]));
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent ? (nameOf.get(r.parent) ?? r.parent) : undefined,
    protect: r.protect,
    ...(r.custom
      ? { inputs: plainProps(r.inputs, "redact") }
      : { outputs: plainProps(r.outputs ?? {}, "redact") }),
  }));
}

/** `kubernetes:apps/v1:StatefulSet` → apiVersion apps/v1, kind StatefulSet (core/v1 → v1). */
function kubernetesKind(type: string): { apiVersion: string; kind: string } | undefined {
  const match = /^kubernetes:([^:]+):([A-Za-z]+)$/.exec(type);
  if (!match || match[1].startsWith("helm") || match[1].startsWith("yaml")) return undefined;
  return { apiVersion: match[1].replace(/^core\//, ""), kind: match[2] };
}

/** The Kubernetes objects the program declares, as one multi-document YAML (secrets redacted). */
export function kubernetesManifests(resources: readonly CapturedResource[]): string | undefined {
  const documents = resources.flatMap((r) => {
    const kind = kubernetesKind(r.type);
    if (!kind) return [];
    const props = plainProps(r.inputs, "redact") as Record<string, unknown>;
    return [stringify({ ...kind, ...props }, { lineWidth: 0 })];
  });
  return documents.length > 0 ? documents.join("---\n") : undefined;
}

const DOCKER_KINDS: Record<string, string> = {
  "docker:index/container:Container": "containers",
  "docker:index/volume:Volume": "volumes",
  "docker:index/network:Network": "networks",
  "docker:index/remoteImage:RemoteImage": "images",
  "docker:index/image:Image": "images",
};

/** The Docker containers, volumes, networks and images the program declares (secrets redacted). */
export function dockerSpecs(resources: readonly CapturedResource[]): string | undefined {
  const grouped: Record<string, unknown[]> = {};
  for (const r of resources) {
    const group = DOCKER_KINDS[r.type];
    if (!group) continue;
    grouped[group] ??= [];
    grouped[group].push({
      resource: r.name,
      protect: r.protect || undefined,
      ...(plainProps(r.inputs, "redact") as object),
    });
  }
  return Object.keys(grouped).length > 0 ? stringify(grouped, { lineWidth: 0 }) : undefined;
}

/** The resource tree, one line per resource, children indented under their parent. */
export function resourceTree(resources: readonly CapturedResource[]): string[] {
  const children = new Map<string | undefined, CapturedResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}${r.type} ${r.name}${r.protect ? " [protected]" : ""}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}
