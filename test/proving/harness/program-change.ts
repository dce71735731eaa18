import { isDeepStrictEqual } from "node:util";
import type { CapturedStack, DeclaredResource } from "./captured-stack";

/**
 * What `pulumi up` of a changed program does, in the order Pulumi does it: the resources whose
 * inputs changed (or that are new), each stepped once every resource it depends on, directly or
 * through unchanged resources, has finished its own step (a resource is registered only once its
 * dependencies' outputs resolved, so an unchanged one in between still waits for the changed ones
 * before it). Independent steps run at once. After a failed step no new step starts, as Pulumi
 * stops an update at its first error; steps already running finish.
 */
export interface ResourceChange {
  readonly urn: string;
  readonly op: "create" | "update";
  readonly before?: DeclaredResource;
  readonly after: DeclaredResource;
}

export interface AppliedStep {
  readonly change: ResourceChange;
  readonly startedMs: number;
  readonly endedMs: number;
  readonly error?: string;
}

export interface ApplyReport {
  readonly steps: readonly AppliedStep[];
  /** The first failed step's resource and error; undefined when every step passed. */
  readonly failure?: { readonly name: string; readonly error: string };
  /** Resources that never got a step: they depend on a failed one, or came after the failure. */
  readonly skipped: readonly string[];
}

/** Resources of `after` that are new or whose inputs differ from `before`. */
export function changedResources(before: CapturedStack, after: CapturedStack): ResourceChange[] {
  const previous = new Map(before.resources.map((resource) => [resource.urn, resource]));
  return after.resources.flatMap((resource): ResourceChange[] => {
    const old = previous.get(resource.urn);
    if (!old) return [{ urn: resource.urn, op: "create", after: resource }];
    return isDeepStrictEqual(old.props, resource.props)
      ? []
      : [{ urn: resource.urn, op: "update", before: old, after: resource }];
  });
}

/** Runs `step` for each change in Pulumi's order (see above). */
export async function applyInPulumiOrder(
  after: CapturedStack,
  changes: readonly ResourceChange[],
  step: (change: ResourceChange) => Promise<void>,
): Promise<ApplyReport> {
  const byUrn = new Map(after.resources.map((resource) => [resource.urn, resource]));
  const changed = new Map(changes.map((change) => [change.urn, change]));
  // The changed resources each change waits for: its dependencies, through unchanged ones too.
  const waitsFor = (urn: string): string[] => {
    const seen = new Set<string>();
    const found = new Set<string>();
    const visit = (current: string) => {
      for (const dependency of byUrn.get(current)?.dependencies ?? []) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        if (changed.has(dependency)) found.add(dependency);
        else visit(dependency);
      }
    };
    visit(urn);
    return [...found];
  };
  const steps: AppliedStep[] = [];
  const skipped: string[] = [];
  let failure: ApplyReport["failure"];
  const done = new Map<string, Promise<boolean>>();
  const schedule = (change: ResourceChange): Promise<boolean> => {
    let promise = done.get(change.urn);
    if (promise) return promise;
    promise = (async () => {
      const dependencies = await Promise.all(
        waitsFor(change.urn).map((urn) => schedule(changed.get(urn) as ResourceChange)),
      );
      if (failure || dependencies.some((ok) => !ok)) {
        skipped.push(change.after.name);
        return false;
      }
      const startedMs = Date.now();
      try {
        await step(change);
        steps.push({ change, startedMs, endedMs: Date.now() });
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        steps.push({ change, startedMs, endedMs: Date.now(), error: message });
        failure ??= { name: change.after.name, error: message };
        return false;
      }
    })();
    done.set(change.urn, promise);
    return promise;
  };
  await Promise.all(changes.map((change) => schedule(change)));
  return { steps, failure, skipped };
}
